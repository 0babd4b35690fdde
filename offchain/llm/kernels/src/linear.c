/* Op 3, linear (SPEC §3.2.3, .9, .11 and the MLP layers of §3.3): acc = W·x, then per mode
 *   0 int8:       y = sat8(requant(acc, m_n, s_n))                      i8[nr]
 *   1 residual:   y = clamp24(h_n + requant(acc, m_n, s_n))             i32[nr]
 *   2 logits:     y = clamp32(requant(acc, m_n, s_n))                   i32[nr]
 *   3 mlp_relu:   y = sat8(max(0, requant(acc + b_n, m_n, s_n)))        i8[nr]
 *   4 mlp_logits: y = clamp32(requant(acc + b_n, m_n, s_n))             i32[nr]
 * for output rows n = r0 .. r0+nr-1 (a row tile; r0 = 0, nr = N for the whole product).
 * Inputs: W i8[N, K], x i8[K], rq i32[N, 2], then h i32[N] (mode 1) or b i32[N] (modes 3, 4).
 * Params: mode, N, K (1 <= K < 2^17), r0, nr (1 <= nr <= 2^25 - the staged accumulators -, r0 + nr <= N),
 * and optionally `full` (word 5, default 0). With full = 1 the output is all N rows: rows outside
 * the tile are copied from an optional last input, the previous tile's full output (a chain of
 * tiles builds a big product one bounded node at a time), or are zero without it. */
#include "matvec.h"

enum { M_INT8, M_RESIDUAL, M_LOGITS, M_MLP_RELU, M_MLP_LOGITS, M_COUNT };

int main(void) {
    if (!header_ok(OP_LINEAR)) return EXIT_BAD_HEADER;
    u32 mode = param(0), N = param(1), K = param(2), r0 = param(3), nr = param(4), full = param(5);
    if (mode >= M_COUNT || N == 0 || K == 0 || K >= (1u << 17) || nr == 0 || nr > STAGE_BYTES / 4 || r0 >= N ||
        nr > N - r0 || full > 1)
        return EXIT_BAD_PARAM;
    int out8 = mode == M_INT8 || mode == M_MLP_RELU;
    u32 esz = out8 ? 1 : 4;
    u32 base = mode == M_INT8 || mode == M_LOGITS ? 3 : 4;
    /* With `full`, one more input may follow: the previous tile's whole output. */
    u32 n_in = full && hdr(H_NIN) == base + 1 ? base + 1 : base;
    u32 lens[5] = {mul_len(N, K), K, mul_len(N, 8), mul_len(N, 4), 0};
    lens[base] = mul_len(N, esz);
    int e = check_inputs(n_in, lens);
    if (e) return e;
    if ((e = check_output(mul_len(full ? N : nr, esz)))) return e;

    const i32 *rq = in_i32(2) + 2 * r0;
    for (u32 j = 0; j < nr; j++)
        if (!rq_ok(rq[2 * j], rq[2 * j + 1])) return EXIT_BAD_PARAM;

    /* Accumulators go to scratch (region 9), then one pass applies the mode. */
    i32 *acc = STAGE;
    matvec_i8(in_i8(0) + r0 * K, K, in_i8(1), K, nr, acc);

    const i32 *extra = in_i32(3) + r0; /* h or b, when the mode has it */
    i8 *o8 = OUTPUT;
    i32 *o32 = OUTPUT;
    if (full) {
        /* Rows before and after the tile come from the previous tile (region 8 starts zero, so
         * without one there is nothing to write); the tile's rows are written below. */
        if (n_in > base) {
            const u32 *prev = (const u32 *)INPUT(base);
            u32 *dst = OUTPUT;
            for (u32 w = 0, words = (N * esz + 3) / 4; w < words; w++) dst[w] = prev[w];
        }
        o8 += r0;
        o32 += r0;
    }
    for (u32 j = 0; j < nr; j++) {
        i32 m = rq[2 * j];
        u32 s = (u32)rq[2 * j + 1];
        switch (mode) {
        case M_INT8: o8[j] = (i8)sat8(requant32(acc[j], m, s)); break;
        case M_RESIDUAL: o32[j] = clamp24((i64)extra[j] + requant32(acc[j], m, s)); break;
        case M_LOGITS: o32[j] = clamp32(requant32(acc[j], m, s)); break;
        case M_MLP_RELU: {
            i64 y = requant((i64)acc[j] + extra[j], m, s);
            o8[j] = (i8)sat8(y < 0 ? 0 : y);
            break;
        }
        default: o32[j] = clamp32(requant((i64)acc[j] + extra[j], m, s)); break;
        }
    }
    return EXIT_OK;
}
