/* Op 14, a whole MLP in one run (single-phase mode, SPEC §3.3): x = sat8(requant(p, input.rq));
 * for each layer j: acc = W_j·x; hidden layers x = sat8(max(0, requant(acc + b, rq_n))), the last
 * z = clamp32(requant(acc + b, rq_n)); output argmax z (ties to the lowest index).
 * Inputs: p u8[w_0]; the packed weights: input.rq i32[2], then per layer W i8[w_{j+1}, w_j]
 * zero-padded to a multiple of 4 bytes, b i32[w_{j+1}], rq i32[w_{j+1}, 2].
 * Params: n (2 <= n <= 47), widths w_0 .. w_{n-1} (each >= 1, inputs w_j < 2^17). Output: i32[1]. */
#include "matvec.h"

#define ACTS ((i8 *)STAGE + (1u << 20)) /* two activation buffers of up to 2^17 bytes, after acc */

static u32 pad4(u32 n) { return n > LEN_CAP - 3 ? LEN_CAP : (n + 3) & ~3u; }

int main(void) {
    if (!header_ok(OP_MLP_FULL)) return EXIT_BAD_HEADER;
    u32 n = param(0);
    if (n < 2 || n > 47) return EXIT_BAD_PARAM;
    u32 packed = 8;
    for (u32 j = 0; j < n; j++) {
        u32 w = param(1 + j);
        if (w == 0 || w >= (1u << 17)) return EXIT_BAD_PARAM;
        if (j) {
            u32 layer = pad4(mul_len(w, param(j))) + mul_len(w, 12);
            packed = packed + layer > LEN_CAP ? LEN_CAP : packed + layer;
        }
    }
    u32 lens[2] = {param(1), packed};
    int e = check_inputs(2, lens);
    if (e) return e;
    if ((e = check_output(4))) return e;

    /* Every requant pair, before anything is written. */
    const u8 *blob = in_u8(1);
    const i32 *in_rq = (const i32 *)blob;
    if (!rq_ok(in_rq[0], in_rq[1])) return EXIT_BAD_PARAM;
    u32 off = 8;
    for (u32 j = 1; j < n; j++) {
        u32 w = param(1 + j);
        const i32 *rq = (const i32 *)(blob + off + pad4(w * param(j)) + 4 * w);
        for (u32 r = 0; r < w; r++)
            if (!rq_ok(rq[2 * r], rq[2 * r + 1])) return EXIT_BAD_PARAM;
        off += pad4(w * param(j)) + 12 * w;
    }

    i8 *x = ACTS, *y = ACTS + (1u << 17);
    const u8 *p = in_u8(0);
    for (u32 i = 0; i < param(1); i++) x[i] = (i8)sat8(requant32(p[i], in_rq[0], (u32)in_rq[1]));

    i32 *acc = STAGE;
    off = 8;
    u32 best = 0;
    for (u32 j = 1; j < n; j++) {
        u32 k = param(j), w = param(1 + j);
        const i8 *W = (const i8 *)(blob + off);
        const i32 *b = (const i32 *)(blob + off + pad4(w * k));
        const i32 *rq = b + w;
        off += pad4(w * k) + 12 * w;
        matvec_i8(W, k, x, k, w, acc);
        if (j + 1 < n) {
            for (u32 r = 0; r < w; r++) {
                i64 v = requant((i64)acc[r] + b[r], rq[2 * r], (u32)rq[2 * r + 1]);
                y[r] = (i8)sat8(v < 0 ? 0 : v);
            }
            i8 *t = x;
            x = y;
            y = t;
        } else {
            i32 top = 0;
            for (u32 r = 0; r < w; r++) {
                i32 z = clamp32(requant((i64)acc[r] + b[r], rq[2 * r], (u32)rq[2 * r + 1]));
                if (r == 0 || z > top) top = z, best = r;
            }
        }
    }
    *(i32 *)OUTPUT = (i32)best;
    return EXIT_OK;
}
