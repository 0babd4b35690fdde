/* Op 22, v2_linear (SPEC §3v2.3 items 1, 2, 8, 10; §4.7): the input x (int32 [K] at 2^-16) is
 * quantized per 32 values (quantize_act), multiplied with the file's own weight blocks, and
 *   mode 0: y_n = to_act(acc_n) = sat32(shift_round(acc_n, -8))      i32[nr] at 2^-16
 *   mode 1: y_n = h_n + acc_n (wrapping)                                i64[nr] at 2^-24
 * for rows n = r0 .. r0+nr-1, acc_n = Σ_b shift_round(xm_b·dm_nb·isum_nb, xe_b + de_nb + 24)
 * (+ Σ_b shift_round(xm_b·mm_nb·qsum_b, xe_b + me_nb + 24) for Q4_1).
 * Inputs: W (the file's bytes, N rows of K/32 blocks), x i32[K], then h i64[N] (mode 1).
 * Params: mode, type (ggml id: 8 Q8_0, 2 Q4_0, 3 Q4_1), N, K (32 <= K < 2^17, K % 32 = 0),
 * r0, nr (1 <= nr <= 2^24, r0 + nr <= N). */
#include "v2.h"

/* Exact block dot products: |isum| < 2^19 fits int32. Unrolled by eight with immediate offsets,
 * one temporary live at a time (the loop is what the step count is). */
static inline i32 isum_q8(const i8 *w, const i8 *x) {
    i32 s = 0;
    for (u32 i = 0; i < QK; i += 8) {
        s += w[i] * x[i];
        s += w[i + 1] * x[i + 1];
        s += w[i + 2] * x[i + 2];
        s += w[i + 3] * x[i + 3];
        s += w[i + 4] * x[i + 4];
        s += w[i + 5] * x[i + 5];
        s += w[i + 6] * x[i + 6];
        s += w[i + 7] * x[i + 7];
    }
    return s;
}

/* Σ n_j·x_j over the 32 nibbles: byte i holds value i (low) and value i + 16 (high). */
static inline i32 isum_q4(const u8 *nb, const i8 *x) {
    i32 s = 0;
    for (u32 i = 0; i < 16; i += 4) {
        u32 b0 = nb[i], b1 = nb[i + 1], b2 = nb[i + 2], b3 = nb[i + 3];
        s += (i32)(b0 & 15) * x[i] + (i32)(b0 >> 4) * x[i + 16];
        s += (i32)(b1 & 15) * x[i + 1] + (i32)(b1 >> 4) * x[i + 17];
        s += (i32)(b2 & 15) * x[i + 2] + (i32)(b2 >> 4) * x[i + 18];
        s += (i32)(b3 & 15) * x[i + 3] + (i32)(b3 >> 4) * x[i + 19];
    }
    return s;
}

int main(void) {
    if (!header_ok(OP_V2_LINEAR)) return EXIT_BAD_HEADER;
    u32 mode = param(0), type = param(1), N = param(2), K = param(3), r0 = param(4), nr = param(5);
    u32 bb = block_bytes(type);
    if (mode > 1 || bb == 0 || N == 0 || K == 0 || K % QK || K >= (1u << 17) || nr == 0 || nr > (1u << 24) ||
        r0 >= N || nr > N - r0)
        return EXIT_BAD_PARAM;
    u32 nb = K / QK, stride = nb * bb;
    u32 lens[3] = {mul_len(N, stride), 4 * K, mul_len(N, 8)};
    int e = check_inputs(mode == 1 ? 3 : 2, lens);
    if (e) return e;
    if ((e = check_output(mul_len(nr, mode == 1 ? 8 : 4)))) return e;

    /* Working memory (region 0, SPEC §4.6): q int8 [K], then per block xm, xe + 24, qsum, then
     * the accumulators. */
    i8 *q = STAGE;
    i32 *xm = (i32 *)(q + K), *xs = xm + nb, *qs = xs + nb;
    i64 *acc = (i64 *)(((u32)(qs + nb) + 7) & ~7u); /* 8-aligned */
    quantize_act(in_i32(1), K, q, xm, xs, qs);
    for (u32 b = 0; b < nb; b++) xs[b] += 24;

    u32 bad = 0;
    const u8 *row = in_u8(0) + r0 * stride;
    for (u32 j = 0; j < nr; j++, row += stride) {
        u64 total = 0;
        const u8 *blk = row;
        for (u32 b = 0; b < nb; b++, blk += bb) {
            if (xm[b] == 0) continue; /* an all-zero input block: every term is shift_round(0, ·) = 0 */
            i32 dm, de, isum;
            fp16_me(blk, &dm, &de, &bad);
            const i8 *xb = q + b * QK;
            if (type == GGML_Q8_0) {
                isum = isum_q8((const i8 *)(blk + 2), xb);
            } else if (type == GGML_Q4_0) {
                isum = isum_q4(blk + 2, xb) - 8 * qs[b]; /* Σ (n - 8)·x */
            } else {
                isum = isum_q4(blk + 4, xb);
                i32 mm, me;
                fp16_me(blk + 2, &mm, &me, &bad);
                total += (u64)shift_round((i64)(xm[b] * mm) * qs[b], xs[b] + me);
            }
            /* |xm·dm| < 2^22 fits int32; the product with isum is one 32x32->64 multiply. */
            total += (u64)shift_round((i64)(xm[b] * dm) * isum, xs[b] + de);
        }
        acc[j] = (i64)total;
    }
    if (bad) return EXIT_BAD_PARAM; /* an infinite or NaN block scale: nothing written yet */

    if (mode == 0) {
        i32 *o = OUTPUT;
        for (u32 j = 0; j < nr; j++) o[j] = sat32(shift_round(acc[j], -8));
    } else {
        const i64 *h = in_i64(2) + r0;
        i64 *o = OUTPUT;
        for (u32 j = 0; j < nr; j++) o[j] = (i64)((u64)h[j] + (u64)acc[j]);
    }
    return EXIT_OK;
}
