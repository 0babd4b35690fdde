/* Shared runtime of the spec v2 kernels (SPEC §4.7): op ids, the §3v2.1 primitives on 64-bit
 * integers, fp16 block scales, exp_neg and the per-block activation quantization. Every function
 * is its offchain/llm/v2 numpy definition term for term; products that could exceed int64 are
 * formed in uint64 so that they wrap like numpy's int64 (defined behaviour, identical bytes). */
#ifndef KERNEL_V2_H
#define KERNEL_V2_H
#include "rt.h"

/* Op ids of the v2 kernels (SPEC §4.7); registry_v2.py holds the same numbers. */
#define OP_V2_EMBED 20
#define OP_V2_RMSNORM 21
#define OP_V2_LINEAR 22
#define OP_V2_ROPE 23
#define OP_V2_ATTENTION 24
#define OP_V2_SWIGLU 25
#define OP_V2_SAMPLE 26
#define OP_V2_KV_APPEND 27

/* Weight formats by their ggml type ids (the ids of the config leaf, SPEC §3v2.6). */
#define GGML_F32 0
#define GGML_F16 1
#define GGML_Q4_0 2
#define GGML_Q4_1 3
#define GGML_Q8_0 8
#define GGML_Q4_K 12
#define GGML_Q5_K 13
#define GGML_Q6_K 14
#define QK 32
#define QKK 256 /* a k-quant super-block */

/* Bytes of one 32-value block of a format, 0 for a format these kernels do not read. */
static inline u32 block_bytes(u32 type) {
    return type == GGML_Q8_0 ? 34 : type == GGML_Q4_0 ? 18 : type == GGML_Q4_1 ? 20 : 0;
}

/* The values a row of the other formats comes in whole multiples of (a k-quant's 256-value
 * super-block; F16/F32 rows, as every activation, in 32s) and their bytes: 0 for a format these
 * kernels do not read. */
static inline u32 other_values(u32 type) {
    return type == GGML_Q4_K || type == GGML_Q5_K || type == GGML_Q6_K ? QKK : type <= GGML_F16 ? QK : 0;
}
static inline u32 other_bytes(u32 type) {
    return type == GGML_Q4_K ? 144 : type == GGML_Q5_K ? 176 : type == GGML_Q6_K ? 210 : type == GGML_F16 ? 64 : 128;
}

/* An F32's exact value m·2^e (SPEC §3v2.1, |m| < 2^24), from its four little-endian file bytes.
 * Exponent field 255 (infinite or NaN) is reported through *bad: the loader refuses such files. */
static inline __attribute__((always_inline)) void f32_me(const u8 *p, i32 *m, i32 *e, u32 *bad) {
    u32 hi = p[3], ex = ((hi & 0x7F) << 1) | (p[2] >> 7), nz = ex != 0;
    i32 mm = (i32)(((((u32)p[2] & 0x7F) | (nz << 7)) << 16) | ((u32)p[1] << 8) | p[0]), sg = -(i32)(hi >> 7);
    *m = (mm ^ sg) - sg;
    *e = (i32)ex - 150 + (i32)(1 - nz);
    *bad |= ex == 0xFF;
}

static inline const i64 *in_i64(u32 i) { return (const i64 *)INPUT(i); }

static inline i32 sat32(i64 x) { return clamp32(x); }

/* v << s for 0 <= s <= 63, modulo 2^64, on 32-bit halves (no libgcc call). */
static inline u64 shl64(u64 v, u32 s) {
    u32 lo = (u32)v, hi = (u32)(v >> 32);
    if (s >= 32) return (u64)(lo << (s - 32)) << 32;
    if (s == 0) return v;
    return ((u64)((hi << s) | (lo >> (32 - s))) << 32) | (u64)(lo << s);
}

/* shift_round(v, s) (SPEC §3v2.1): v·2^s (wrapping, s capped at 63 as numpy's clip) for s >= 0,
 * v / 2^-s rounded half up for -62 <= s < 0, 0 below. */
static inline __attribute__((always_inline)) i64 shift_round(i64 v, i32 s) {
    if (s >= 0) return (i64)shl64((u64)v, s > 63 ? 63 : (u32)s);
    if (s < -62) return 0;
    u32 k = (u32)-s;
    return sar64((u64)v + pow2_64(k - 1), k);
}

/* shift_round(a·b, s) for |a·b| < 2^63, as u64 to be summed modulo 2^64. The usual shifts
 * (-31 <= s <= -1) take the short path on 32-bit halves: (a·b + 2^(k-1)) >> k. */
static inline __attribute__((always_inline)) u64 term(i32 a, i32 b, i32 s) {
    i64 p = (i64)a * b;
    if (s < 0 && s >= -31) {
        u32 k = (u32)-s;
        u64 v = (u64)p + (1u << (k - 1));
        u32 lo = (u32)v, hi = (u32)(v >> 32);
        return ((u64)(u32)((i32)hi >> k) << 32) | ((lo >> k) | (hi << (32 - k)));
    }
    return (u64)shift_round(p, s);
}

/* shl64, shift_round and term again, always inlined, for the k-quant and F32/F16 paths (v2_kq.h,
 * v2_embed.c): were those paths to call shl64 too, gcc would inline it differently in the 32-value
 * formats' code and change their steps. */
static inline __attribute__((always_inline)) u64 shl64_i(u64 v, u32 s) {
    u32 lo = (u32)v, hi = (u32)(v >> 32);
    if (s >= 32) return (u64)(lo << (s - 32)) << 32;
    if (s == 0) return v;
    return ((u64)((hi << s) | (lo >> (32 - s))) << 32) | (u64)(lo << s);
}

static inline __attribute__((always_inline)) i64 shift_round_i(i64 v, i32 s) {
    if (s >= 0) return (i64)shl64_i((u64)v, s > 63 ? 63 : (u32)s);
    if (s < -62) return 0;
    u32 k = (u32)-s;
    return sar64((u64)v + pow2_64(k - 1), k);
}

static inline __attribute__((always_inline)) u64 term_i(i32 a, i32 b, i32 s) {
    i64 p = (i64)a * b;
    if (s < 0 && s >= -31) {
        u32 k = (u32)-s;
        u64 v = (u64)p + (1u << (k - 1));
        u32 lo = (u32)v, hi = (u32)(v >> 32);
        return ((u64)(u32)((i32)hi >> k) << 32) | ((lo >> k) | (hi << (32 - k)));
    }
    return (u64)shift_round_i(p, s);
}

/* rdiv(n, d) = floor((2n + d) / (2d)) for d > 0, the numerator wrapping like numpy's int64. */
static inline i64 rdiv64(i64 n, i64 d) {
    i64 a = (i64)(2 * (u64)n + (u64)d), b = 2 * d;
    return floor_div(a, b);
}

/* An fp16's exact value m·2^e (SPEC §3v2.1), from its two little-endian file bytes. Exponent 31
 * (infinite or NaN) is reported through *bad: the loader refuses such files. */
static inline __attribute__((always_inline)) void fp16_me(const u8 *p, i32 *m, i32 *e, u32 *bad) {
    u32 hi = p[1]; /* the high byte holds sign, exponent and two fraction bits */
    u32 ex = (hi >> 2) & 0x1F, nz = ex != 0; /* branch-free: a normal's implicit bit, a subnormal's -24 */
    i32 mm = (i32)((((hi & 3) | (nz << 2)) << 8) | p[0]), sg = -(i32)(hi >> 7);
    *m = (mm ^ sg) - sg;
    *e = (i32)ex - 25 + (i32)(1 - nz);
    *bad |= ex == 0x1F;
}

static inline u32 bitlen64(u64 x) {
    u32 hi = (u32)(x >> 32), lo = (u32)x, n = 0, v = hi ? hi : lo;
    while (v) n++, v >>= 1;
    return hi ? n + 32 : n;
}

/* exp_neg(x) (SPEC §3v2.1) for 0 <= x at 2^-16 (clamped to 2^31 - 1), result at 2^-30:
 * u = x·log2(e)·2^30, n = u >> 46, j = the 46 fraction bits rounded half up to 12, which is
 * ((u >> 33) mod 2^13 + 1) >> 1 (adding 2^33 then flooring by 2^34 only sees bits 33 and up).
 * The table holds non-negative int32s (checked by the callers), so a shift of 31 or more is 0,
 * as numpy's table[j] >> min(n, 62) and 0 for n >= 63 give. */
#define LOG2E_Q30 1549082005u
static inline i64 exp_neg(i64 x, const i32 *table) {
    u32 xc = x > 0x7fffffffLL ? 0x7fffffffu : (u32)x;
    u64 u = (u64)xc * LOG2E_Q30;
    u32 hi = (u32)(u >> 32);
    u32 n = hi >> 14;
    u32 j = (((hi & 0x3FFF) >> 1) + 1) >> 1;
    if (j == 4096) n++, j = 0;
    return n >= 31 ? 0 : (i64)(table[j] >> n);
}

/* A table input of exp2 (int32 [4096]) a kernel may divide by: entries >= 0 and, with nonzero
 * first, a sum of probabilities >= 1. */
#define EXP2_N 4096
static inline int exp2_ok(const i32 *t, int need_first) {
    if (need_first && t[0] < 1) return 0;
    for (u32 j = 0; j < EXP2_N; j++)
        if (t[j] < 0) return 0;
    return 1;
}

/* The fp16 scale of a 256-value activation block (quantize_act's, for quantize_act_k: with shl64_i,
 * so that quantize_act's code stays as it was), fp16(amax·2^-16 / 127) rounded to nearest, ties
 * to even, as fixed.act_scale: three rounds from below; (0, 0) for amax = 0. */
static inline __attribute__((always_inline)) void act_scale(u32 amax, i32 *xm, i32 *xe) {
    if (amax == 0) {
        *xm = 0, *xe = 0;
        return;
    }
    i32 e = (i32)bitlen64(amax) - 8 - 16 - 10, m = 0;
    if (e < -24) e = -24;
    for (int it = 0; it < 3; it++) {
        i32 sh = -e - 16;
        u64 num = sh >= 0 ? shl64_i(amax, (u32)sh) : amax;
        u64 den = sh >= 0 ? 127 : shl64_i(127, (u32)-sh);
        u64 qq = num / den, r = num - qq * den;
        m = (i32)qq + (2 * r > den || (2 * r == den && (qq & 1)));
        if (m >= 2048) e++;
    }
    *xm = m, *xe = e;
}

/* quantize_act (SPEC §3v2.3 item 1) of K int32 values, per 32: q int8, the fp16 scale (xm, xe)
 * and qsum per block. */
static inline void quantize_act(const i32 *x, u32 K, i8 *q, i32 *xm, i32 *xe, i32 *qsum) {
    for (u32 b = 0; b < K / QK; b++) {
        const i32 *xb = x + b * QK;
        u32 amax = 0;
        for (u32 i = 0; i < QK; i++) {
            u32 a = xb[i] < 0 ? 0u - (u32)xb[i] : (u32)xb[i];
            if (a > amax) amax = a;
        }
        u32 d = amax > 1 ? amax : 1;
        i32 s = 0;
        for (u32 i = 0; i < QK; i++) {
            u32 a = xb[i] < 0 ? 0u - (u32)xb[i] : (u32)xb[i];
            /* rdiv_away(127·x, d) = sign(x)·floor((2·127·|x| + d) / (2d)); below 2^24 every
             * operand fits a 32-bit divu (255·(2^24 - 1) < 2^32). */
            u32 r;
            if (amax < (1u << 24)) r = (254 * a + d) / (2 * d);
            else r = (u32)((254 * (u64)a + d) / (2 * (u64)d));
            i32 v = xb[i] < 0 ? -(i32)r : (i32)r;
            q[b * QK + i] = (i8)v;
            s += v;
        }
        qsum[b] = s;
        if (amax == 0) {
            xm[b] = 0, xe[b] = 0;
            continue;
        }
        /* fp16(amax·2^-16 / 127), ties to even: as fixed.act_scale, three rounds from below. */
        i32 e = (i32)bitlen64(amax) - 8 - 16 - 10, m = 0;
        if (e < -24) e = -24;
        for (int it = 0; it < 3; it++) {
            i32 sh = -e - 16;
            u64 num = sh >= 0 ? shl64(amax, (u32)sh) : amax;
            u64 den = sh >= 0 ? 127 : shl64(127, (u32)-sh);
            u64 qq = num / den, r = num - qq * den;
            m = (i32)qq + (2 * r > den || (2 * r == den && (qq & 1)));
            if (m >= 2048) e++;
        }
        xm[b] = m, xe[b] = e;
    }
}

/* quantize_act(x, 256) (SPEC §3v2.3 item 2, k-quant weights): q int8 [K], the fp16 scale per
 * 256 values and qsum16, the sums of each 16 quantized values. */
static inline void quantize_act_k(const i32 *x, u32 K, i8 *q, i32 *xm, i32 *xe, i32 *qsum16) {
    for (u32 b = 0; b < K / QKK; b++) {
        const i32 *xb = x + b * QKK;
        u32 amax = 0;
        for (u32 i = 0; i < QKK; i++) {
            u32 a = xb[i] < 0 ? 0u - (u32)xb[i] : (u32)xb[i];
            if (a > amax) amax = a;
        }
        u32 d = amax > 1 ? amax : 1;
        for (u32 j = 0; j < QKK / 16; j++) {
            i32 s = 0;
            for (u32 i = j * 16; i < j * 16 + 16; i++) {
                u32 a = xb[i] < 0 ? 0u - (u32)xb[i] : (u32)xb[i], r;
                if (amax < (1u << 24)) r = (254 * a + d) / (2 * d); /* as quantize_act */
                else r = (u32)((254 * (u64)a + d) / (2 * (u64)d));
                i32 v = xb[i] < 0 ? -(i32)r : (i32)r;
                q[b * QKK + i] = (i8)v;
                s += v;
            }
            qsum16[b * (QKK / 16) + j] = s;
        }
        act_scale(amax, xm + b, xe + b);
    }
}

#endif
