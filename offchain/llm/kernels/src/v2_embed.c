/* Op 20, v2_embed (SPEC §3v2.3 item 3; §4.7): the residual (int64 [d] at 2^-24) of one token,
 * its row of the file's embedding blocks dequantized exactly: shift_round(dm·q_j, de + 24)
 * (+ shift_round(mm, me + 24) for Q4_1). Every fp16 is a multiple of 2^-24, so de + 24 >= 0
 * and nothing rounds. k-quants: shift_round(dm·sc_j·q, de + 24) (− shift_round(mm·mn_j, me + 24) for
 * Q4_K/Q5_K), exact as well; F32/F16: shift_round(m, e + 24), rounded half up below 2^-24.
 * Inputs: token i32[1], E (the file's bytes, V rows of d/32 blocks, d/256 for k-quants, d values
 * for F32/F16). Params: type (ggml id: 8 Q8_0, 2 Q4_0, 3 Q4_1, 12 Q4_K, 13 Q5_K, 14 Q6_K, 1 F16,
 * 0 F32), V, d (d % 32 = 0, d % 256 = 0 for k-quants, 32 <= d < 2^17). */
#include "v2.h"

/* A k-quant super-block's 256 integers q (Q6_K: q − 32) and its sub-block scales sc (Q6_K: 16
 * int8s) and mins mn (Q4_K/Q5_K: 8), as blocks.unpack_k (SPEC §3v2.2's packing). */
static void kq_unpack(u32 type, const u8 *b, i32 *q, i32 *sc, i32 *mn) {
    if (type == GGML_Q6_K) { /* ql[128], qh[64], int8 scales[16], d */
        for (u32 t = 0; t < 2; t++) {
            const u8 *ql = b + 64 * t, *qh = b + 128 + 32 * t;
            i32 *o = q + 128 * t;
            for (u32 l = 0; l < 32; l++) {
                o[l] = (i32)((ql[l] & 15) | ((qh[l] & 3) << 4)) - 32;
                o[l + 32] = (i32)((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
                o[l + 64] = (i32)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                o[l + 96] = (i32)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            }
        }
        for (u32 j = 0; j < 16; j++) sc[j] = (i8)b[192 + j];
        return;
    }
    const u8 *s = b + 4, *qh = b + 16, *qs = b + (type == GGML_Q5_K ? 48 : 16);
    for (u32 j = 0; j < 4; j++) {
        sc[j] = s[j] & 63;
        mn[j] = s[j + 4] & 63;
        sc[j + 4] = (s[j + 8] & 15) | ((s[j] >> 6) << 4);
        mn[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4);
    }
    for (u32 c = 0; c < 4; c++)
        for (u32 l = 0; l < 32; l++) {
            i32 lo = qs[32 * c + l] & 15, hi = qs[32 * c + l] >> 4;
            if (type == GGML_Q5_K) lo += 16 * ((qh[l] >> (2 * c)) & 1), hi += 16 * ((qh[l] >> (2 * c + 1)) & 1);
            q[64 * c + l] = lo, q[64 * c + 32 + l] = hi;
        }
}

/* The row of a k-quant or F32/F16 embedding into y; sets *bad for an infinite or NaN d, dmin or
 * value. */
static void other_row(u32 type, const u8 *row, u32 d, i64 *y, u32 *bad) {
    if (type == GGML_F32 || type == GGML_F16) {
        for (u32 i = 0; i < d; i++) {
            i32 m, e;
            if (type == GGML_F32) f32_me(row + 4 * i, &m, &e, bad);
            else fp16_me(row + 2 * i, &m, &e, bad);
            y[i] = shift_round_i(m, e + 24);
        }
        return;
    }
    u32 sb = other_bytes(type), sub = type == GGML_Q6_K ? 16 : 32;
    i32 q[QKK], sc[16], mn[8];
    for (u32 b = 0; b < d / QKK; b++, row += sb, y += QKK) {
        i32 dm, de, mm = 0, me = 0;
        kq_unpack(type, row, q, sc, mn);
        fp16_me(row + (type == GGML_Q6_K ? 208 : 0), &dm, &de, bad);
        if (type != GGML_Q6_K) fp16_me(row + 2, &mm, &me, bad);
        for (u32 i = 0; i < QKK; i++) {
            /* |dm·sc·q| < 2^23 and de + 24 >= 0: a left shift, exact */
            i64 v = shift_round_i((i64)(dm * sc[i / sub] * q[i]), de + 24);
            if (type != GGML_Q6_K) v -= shift_round_i((i64)(mm * mn[i / 32]), me + 24);
            y[i] = v;
        }
    }
}

/* k-quants and F32/F16: the same checks with their row sizes, then other_row. */
static __attribute__((noinline)) int other_formats(void) {
    /* header_ok, written out (a second call would change how gcc compiles block_formats) */
    if (hdr(H_VERSION) != ABI_VERSION || hdr(H_OP) != OP_V2_EMBED) return EXIT_BAD_HEADER;
    for (u32 w = 11; w < 16; w++)
        if (hdr(w)) return EXIT_BAD_HEADER;
    u32 type = param(0), V = param(1), d = param(2), vals = other_values(type);
    if (vals == 0 || V == 0 || d == 0 || d % vals || d >= (1u << 17)) return EXIT_BAD_PARAM;
    u32 stride = d / vals * other_bytes(type);
    if (hdr(H_NIN) != 2) return EXIT_BAD_HEADER; /* check_inputs, written out for the same reason */
    for (u32 i = 0; i < MAX_INPUTS; i++)
        if (hdr(H_INLEN(i)) != (i == 0 ? 4 : i == 1 ? mul_len(V, stride) : 0)) return EXIT_BAD_INPUT_LENGTH;
    if (check_output(8 * d)) return EXIT_BAD_OUTPUT_LENGTH;
    u32 tok = *(const u32 *)INPUT(0);
    if (tok >= V) return EXIT_BAD_PARAM;
    i64 *y = STAGE;
    u32 bad = 0;
    other_row(type, in_u8(1) + tok * stride, d, y, &bad);
    if (bad) return EXIT_BAD_PARAM; /* an infinite or NaN scale or value */
    i64 *o = OUTPUT; /* not copy_bytes: a second call would change how gcc compiles block_formats */
    for (u32 i = 0; i < d; i++) o[i] = y[i];
    return EXIT_OK;
}

/* The 32-value formats: main as it was before the other formats came (its own function, so that
 * their code does not change its register allocation: the same loops, the same steps). */
static __attribute__((noinline)) int block_formats(void) {
    if (!header_ok(OP_V2_EMBED)) return EXIT_BAD_HEADER;
    u32 type = param(0), V = param(1), d = param(2), bb = block_bytes(type);
    if (bb == 0 || V == 0 || d == 0 || d % QK || d >= (1u << 17)) return EXIT_BAD_PARAM;
    u32 stride = d / QK * bb;
    u32 lens[2] = {4, mul_len(V, stride)};
    int e = check_inputs(2, lens);
    if (e) return e;
    if ((e = check_output(8 * d))) return e;
    u32 tok = *(const u32 *)INPUT(0);
    if (tok >= V) return EXIT_BAD_PARAM;

    i64 *y = STAGE;
    u32 bad = 0;
    const u8 *blk = in_u8(1) + tok * stride;
    for (u32 b = 0; b < d / QK; b++, blk += bb) {
        i32 dm, de, mm = 0, me = 0;
        fp16_me(blk, &dm, &de, &bad);
        i64 *yb = y + b * QK;
        if (type == GGML_Q8_0) {
            const i8 *w = (const i8 *)(blk + 2);
            for (u32 i = 0; i < QK; i++) yb[i] = shift_round((i64)(dm * w[i]), de + 24);
        } else {
            i32 off = type == GGML_Q4_0 ? 8 : 0;
            const u8 *nb = blk + (type == GGML_Q4_1 ? 4 : 2);
            i64 base = 0;
            if (type == GGML_Q4_1) {
                fp16_me(blk + 2, &mm, &me, &bad);
                base = shift_round(mm, me + 24);
            }
            for (u32 i = 0; i < 16; i++) {
                yb[i] = shift_round((i64)(dm * ((i32)(nb[i] & 15) - off)), de + 24) + base;
                yb[i + 16] = shift_round((i64)(dm * ((i32)(nb[i] >> 4) - off)), de + 24) + base;
            }
        }
    }
    if (bad) return EXIT_BAD_PARAM; /* an infinite or NaN block scale */
    copy_bytes(OUTPUT, y, 8 * d);
    return EXIT_OK;
}

/* Both paths check the header first (SPEC §4.6's order); the type word only picks the path. */
int main(void) { return block_bytes(param(0)) ? block_formats() : other_formats(); }
