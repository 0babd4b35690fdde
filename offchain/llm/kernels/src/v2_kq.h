/* v2_linear's k-quant and F16/F32 weights (SPEC §3v2.2, §3v2.3 item 2; §4.7): the terms of
 * ops.matmul_k_reference and of the F32/F16 sum, read straight from the file's bytes.
 *
 * k-quants multiply the input quantized per 256 (quantize_act_k: q, one fp16 (xm, xe + 24) per
 * super-block, qs16 the sums of each 16 quantized values). Four rows share every load of the input
 * (rows past the tile repeat its last row, their sums dropped), as v2_linear's 32-value formats;
 * the sub-block dot products are exact int32s read from the packed bytes, each chunk's layout
 * constant so that every bit position is an immediate. */
#ifndef KERNEL_V2_KQ_H
#define KERNEL_V2_KQ_H
#include "v2.h"

#define AI static inline __attribute__((always_inline))
#define R4 _Pragma("GCC unroll 4") /* the four rows unrolled: their sums stay in registers */

/* Sub-block j's 6-bit scale and min of a Q4_K/Q5_K super-block from its bytes s = 4..15 (j a
 * constant where called, so each is two or three instructions). */
AI i32 k_sc(const u8 *s, u32 j) { return j < 4 ? s[j] & 63 : (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4); }
AI i32 k_mn(const u8 *s, u32 j) { return j < 4 ? s[j + 4] & 63 : (s[j + 4] >> 4) | ((s[j] >> 6) << 4); }

/* Chunk c (values 64c … 64c+63) of a Q4_K/Q5_K super-block for four rows: p_r points at the chunk's
 * 32 nibble bytes, whose low nibbles are sub-block 2c and high nibbles 2c + 1. Q5_K's fifth bits are
 * bits 2c and 2c + 1 of qh[l], 32 + 32c bytes before nibble byte l. lo_r, hi_r: the two exact
 * isums. */
AI void chunk4_k(u32 five, u32 c, const u8 *p0, const u8 *p1, const u8 *p2, const u8 *p3, const i8 *x, i32 *lo, i32 *hi) {
    const i8 *xe = x + 32;
    const i32 qh = -32 - 32 * (i32)c;
    i32 l0 = 0, l1 = 0, l2 = 0, l3 = 0, h0 = 0, h1 = 0, h2 = 0, h3 = 0;
#define NIB(p, l, h)                                                                                                   \
    do {                                                                                                               \
        u32 b = (p)[0], vl = b & 15, vh = b >> 4;                                                                      \
        if (five) {                                                                                                    \
            u32 hb = (p)[qh] >> (2 * c);                                                                               \
            vl |= (hb & 1) << 4, vh |= (hb & 2) << 3;                                                                  \
        }                                                                                                              \
        l += (i32)vl * xl, h += (i32)vh * xh;                                                                          \
    } while (0)
    while (x != xe) {
        i32 xl = x[0], xh = x[32];
        NIB(p0, l0, h0);
        NIB(p1, l1, h1);
        NIB(p2, l2, h2);
        NIB(p3, l3, h3);
        x++, p0++, p1++, p2++, p3++;
    }
#undef NIB
    lo[0] = l0, lo[1] = l1, lo[2] = l2, lo[3] = l3;
    hi[0] = h0, hi[1] = h1, hi[2] = h2, hi[3] = h3;
}

/* Q6_K, half t (values 128t …), for four rows: p_r points at ql + 64t + 32·u + 16·g (u = 0: values
 * l and l + 64 from L[l]'s two nibbles; u = 1: l + 32 and l + 96 from L[l + 32]), the two high bits
 * of each in qh[32t + l] at shifts 0/4 (u = 0) or 2/6 (u = 1). a_r, b_r: the raw sums Σ q6·x (q6
 * the unsigned 6 bits; the −32 comes from qs16) over sub-blocks 8t + 2u + g and 8t + 2u + g + 4. */
AI void half4_q6(u32 t, u32 u, const u8 *p0, const u8 *p1, const u8 *p2, const u8 *p3, const i8 *x, i32 *a, i32 *b) {
    const i8 *xe = x + 16;
    const i32 qh = 128 - 32 * (i32)t - 32 * (i32)u; /* qh[32t + l] from ql[64t + 32u + l] */
    i32 a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
#define Q6(p, A, B)                                                                                                    \
    do {                                                                                                               \
        u32 L = (p)[0], H = (p)[qh] >> (2 * u);                                                                        \
        A += (i32)((L & 15) | ((H & 3) << 4)) * xa, B += (i32)((L >> 4) | (H & 0x30)) * xb;                            \
    } while (0)
    while (x != xe) {
        i32 xa = x[0], xb = x[64];
        Q6(p0, a0, b0);
        Q6(p1, a1, b1);
        Q6(p2, a2, b2);
        Q6(p3, a3, b3);
        x++, p0++, p1++, p2++, p3++;
    }
#undef Q6
    a[0] = a0, a[1] = a1, a[2] = a2, a[3] = a3;
    b[0] = b0, b[1] = b1, b[2] = b2, b[3] = b3;
}

/* One super-block of four rows (blk_r its bytes) against input super-block x: adds each row's terms
 * to t[r]. s1_r = Σ_j sc_j·isum_j < 2^27 and s2_r = Σ_j mn_j·bsum_j < 2^21 fit int32, as do
 * xm·dm and xm·mm (< 2^22); term_i() forms the 64-bit products. */
AI void sblock4(u32 type, const u8 *const *blk, const i8 *x, const i32 *qs16, i32 xm, i32 xs, u64 *t, u32 *bad) {
    i32 s1[4] = {0, 0, 0, 0}, lo[4], hi[4];
    if (type == GGML_Q6_K) {
        /* unrolled: t, u and g are constants in each copy of the loop (immediate offsets and shifts) */
#pragma GCC unroll 2
        for (u32 tt = 0; tt < 2; tt++)
#pragma GCC unroll 2
            for (u32 u = 0; u < 2; u++)
#pragma GCC unroll 2
                for (u32 g = 0; g < 2; g++) {
                    u32 off = 64 * tt + 32 * u + 16 * g, ja = 8 * tt + 2 * u + g;
                    half4_q6(tt, u, blk[0] + off, blk[1] + off, blk[2] + off, blk[3] + off, x + 128 * tt + 32 * u + 16 * g,
                             lo, hi);
                    R4 for (u32 r = 0; r < 4; r++) {
                        const i8 *sc = (const i8 *)blk[r] + 192;
                        s1[r] += sc[ja] * (lo[r] - 32 * qs16[ja]) + sc[ja + 4] * (hi[r] - 32 * qs16[ja + 4]);
                    }
                }
        R4 for (u32 r = 0; r < 4; r++) {
            i32 dm, de;
            fp16_me(blk[r] + 208, &dm, &de, bad);
            t[r] += term_i(xm * dm, s1[r], xs + de);
        }
        return;
    }
    const u32 five = type == GGML_Q5_K, nib = five ? 48 : 16;
#pragma GCC unroll 4 /* c a constant in each copy: Q5_K's bit positions and qh offset immediates */
    for (u32 c = 0; c < 4; c++) {
        u32 off = nib + 32 * c;
        chunk4_k(five, c, blk[0] + off, blk[1] + off, blk[2] + off, blk[3] + off, x + 64 * c, lo, hi);
        R4 for (u32 r = 0; r < 4; r++) s1[r] += k_sc(blk[r] + 4, 2 * c) * lo[r] + k_sc(blk[r] + 4, 2 * c + 1) * hi[r];
    }
    i32 bsum[8]; /* the input's sums over each sub-block of 32, shared by the four rows */
#pragma GCC unroll 8
    for (u32 j = 0; j < 8; j++) bsum[j] = qs16[2 * j] + qs16[2 * j + 1];
    R4 for (u32 r = 0; r < 4; r++) {
        i32 s2 = 0, dm, de, mm, me;
#pragma GCC unroll 8
        for (u32 j = 0; j < 8; j++) s2 += k_mn(blk[r] + 4, j) * bsum[j];
        fp16_me(blk[r], &dm, &de, bad);
        fp16_me(blk[r] + 2, &mm, &me, bad);
        t[r] += term_i(xm * dm, s1[r], xs + de) - term_i(xm * mm, s2, xs + me);
    }
}

/* The accumulators of nr rows of a k-quant from `row` on, four at a time; nonzero if a super-block's
 * d or dmin is infinite or NaN. An all-zero input super-block (xm = 0) adds nothing and is skipped. */
AI u32 rows_k(u32 type, u32 nr, u32 ns, u32 stride, const u8 *row, const i8 *q, const i32 *xm, const i32 *xs,
              const i32 *qs16, i64 *acc) {
    u32 bad = 0, sb = other_bytes(type);
    for (u32 j = 0; j < nr; j += 4) {
        const u8 *blk[4];
        R4 for (u32 r = 0; r < 4; r++) blk[r] = row + (j + r < nr ? j + r : nr - 1) * stride;
        u64 t[4] = {0, 0, 0, 0};
        for (u32 b = 0; b < ns; b++) {
            if (xm[b]) sblock4(type, blk, q + b * QKK, qs16 + b * (QKK / 16), xm[b], xs[b], t, &bad);
            R4 for (u32 r = 0; r < 4; r++) blk[r] += sb;
        }
        for (u32 r = 0; r < 4 && j + r < nr; r++) acc[j + r] = (i64)t[r];
    }
    return bad;
}

/* shift_round(x·m, s) for an F32/F16 value m·2^(s-8): a left shift of m itself where m·2^s stays
 * below 2^31 (F16: |m| < 2^11 and s <= 13 always; F32: |m| < 2^24 and s <= 7), one 32x32 product
 * instead of a 64-bit shift. */
AI u64 term_f(u32 f32, i32 x, i32 m, i32 s) {
    if (s >= 0 && (!f32 || s <= 7)) return (u64)((i64)x * (i32)((u32)m << s));
    return term_i(x, m, s);
}

/* F32/F16 weights: acc_n = Σ_k shift_round(x_k·m_nk, e_nk + 8) over the unquantized input
 * (|x·m| < 2^55); every value of the tile's rows is checked for exponent 255 (F32) or 31 (F16). */
AI u32 rows_float(u32 f32, u32 nr, u32 K, const u8 *row, const i32 *x, i64 *acc) {
    u32 bad = 0;
    for (u32 j = 0; j < nr; j++) {
        u64 t = 0;
        for (u32 k = 0; k < K; k++) {
            i32 m, e;
            if (f32) f32_me(row, &m, &e, &bad), row += 4;
            else fp16_me(row, &m, &e, &bad), row += 2;
            t += term_f(f32, x[k], m, e + 8);
        }
        acc[j] = (i64)t;
    }
    return bad;
}

#undef R4
#undef AI
#endif
