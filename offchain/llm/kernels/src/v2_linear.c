/* Op 22, v2_linear (SPEC §3v2.3 items 1, 2, 8, 10; §4.7): the input x (int32 [K] at 2^-16) is
 * quantized per 32 values (quantize_act), multiplied with the file's own weight blocks, and
 *   mode 0: y_n = to_act(acc_n) = sat32(shift_round(acc_n, -8))      i32[nr] at 2^-16
 *   mode 1: y_n = h_n + acc_n (wrapping)                                i64[nr] at 2^-24
 * for rows n = r0 .. r0+nr-1, acc_n = Σ_b shift_round(xm_b·dm_nb·isum_nb, xe_b + de_nb + 24)
 * (+ Σ_b shift_round(xm_b·mm_nb·qsum_b, xe_b + me_nb + 24) for Q4_1).
 * Inputs: W (the file's bytes, N rows of K/32 blocks), x i32[K], then h i64[N] (mode 1).
 * k-quant (Q4_K, Q5_K, Q6_K) and F32/F16 weights take v2_kq.h's terms (K/256 super-blocks a row;
 * one value each).
 * Params: mode, type (ggml id: 8 Q8_0, 2 Q4_0, 3 Q4_1, 12 Q4_K, 13 Q5_K, 14 Q6_K, 1 F16, 0 F32),
 * N, K (32 <= K < 2^17, K % 32 = 0; K % 256 = 0 for k-quants),
 * r0, nr (1 <= nr <= 2^24, r0 + nr <= N), and optionally full (word 6, default 0): with full = 1
 * the output is all N rows, those outside the tile copied from one more (last) input, the
 * previous tile's whole output, or zero without it (a chain of tiles builds a big product in
 * bounded nodes, as v1's linear, SPEC §4.6). */
#include "v2_kq.h"

/* Exact block dot products: |isum| < 2^19 fits int32. Four rows share each load of x (the
 * matvec.h shape: one temporary live at a time), k unrolled by four with immediate offsets. */
static inline __attribute__((always_inline)) void isum4_q8(const i8 *w0, u32 stride, const i8 *x, i32 *out) {
    const i8 *w1 = w0 + stride, *w2 = w1 + stride, *w3 = w2 + stride, *xe = x + QK;
    i32 a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    while (x != xe) {
        i32 x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
        a0 += w0[0] * x0;
        a1 += w1[0] * x0;
        a2 += w2[0] * x0;
        a3 += w3[0] * x0;
        a0 += w0[1] * x1;
        a1 += w1[1] * x1;
        a2 += w2[1] * x1;
        a3 += w3[1] * x1;
        a0 += w0[2] * x2;
        a1 += w1[2] * x2;
        a2 += w2[2] * x2;
        a3 += w3[2] * x2;
        a0 += w0[3] * x3;
        a1 += w1[3] * x3;
        a2 += w2[3] * x3;
        a3 += w3[3] * x3;
        x += 4, w0 += 4, w1 += 4, w2 += 4, w3 += 4;
    }
    out[0] = a0, out[1] = a1, out[2] = a2, out[3] = a3;
}

/* Σ n_j·x_j over 32 nibbles for four rows: byte i holds value i (low) and value i + 16 (high). */
static inline __attribute__((always_inline)) void isum4_q4(const u8 *n0, u32 stride, const i8 *x, i32 *out) {
    const u8 *n1 = n0 + stride, *n2 = n1 + stride, *n3 = n2 + stride;
    const i8 *xe = x + 16;
    i32 a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    while (x != xe) {
        i32 lo0 = x[0], hi0 = x[16], lo1 = x[1], hi1 = x[17];
        u32 b;
        b = n0[0], a0 += (i32)(b & 15) * lo0, a0 += (i32)(b >> 4) * hi0;
        b = n1[0], a1 += (i32)(b & 15) * lo0, a1 += (i32)(b >> 4) * hi0;
        b = n2[0], a2 += (i32)(b & 15) * lo0, a2 += (i32)(b >> 4) * hi0;
        b = n3[0], a3 += (i32)(b & 15) * lo0, a3 += (i32)(b >> 4) * hi0;
        b = n0[1], a0 += (i32)(b & 15) * lo1, a0 += (i32)(b >> 4) * hi1;
        b = n1[1], a1 += (i32)(b & 15) * lo1, a1 += (i32)(b >> 4) * hi1;
        b = n2[1], a2 += (i32)(b & 15) * lo1, a2 += (i32)(b >> 4) * hi1;
        b = n3[1], a3 += (i32)(b & 15) * lo1, a3 += (i32)(b >> 4) * hi1;
        x += 2, n0 += 2, n1 += 2, n2 += 2, n3 += 2;
    }
    out[0] = a0, out[1] = a1, out[2] = a2, out[3] = a3;
}

/* One row's block dot product (the last N % 4 rows). */
static inline i32 isum1(u32 type, const u8 *blk, const i8 *x) {
    i32 s = 0;
    if (type == GGML_Q8_0) {
        const i8 *w = (const i8 *)(blk + 2);
        for (u32 i = 0; i < QK; i++) s += w[i] * x[i];
    } else {
        const u8 *nb = blk + (type == GGML_Q4_1 ? 4 : 2);
        for (u32 i = 0; i < 16; i++) s += (i32)(nb[i] & 15) * x[i] + (i32)(nb[i] >> 4) * x[i + 16];
    }
    return s;
}

/* The block terms of row `blk` for input block b with its dot product: Q4_0's isum is
 * Σ n·x - 8·qsum (= Σ (n - 8)·x); Q4_1 adds its minimum's term. |xm·dm| < 2^22 fits int32. */
static inline __attribute__((always_inline)) u64 block_terms(u32 type, const u8 *blk, i32 isum, i32 xm, i32 xs, i32 qs, u32 *bad) {
    i32 dm, de;
    fp16_me(blk, &dm, &de, bad);
    if (type == GGML_Q4_0) return term(xm * dm, isum - 8 * qs, xs + de);
    u64 t = term(xm * dm, isum, xs + de);
    if (type == GGML_Q4_1) {
        i32 mm, me;
        fp16_me(blk + 2, &mm, &me, bad);
        t += term(xm * mm, qs, xs + me);
    }
    return t;
}

/* The accumulators of nr rows from `row` on; inlined once per type (a constant), so the loops
 * carry no type tests. Returns nonzero if a block scale is infinite or NaN. */
static inline __attribute__((always_inline)) u32 rows(u32 type, u32 nr, u32 nb, u32 stride, const u8 *row, const i8 *q,
                                                      const i32 *xm, const i32 *xs, const i32 *qs, i64 *acc) {
    u32 bad = 0, bb = block_bytes(type), skip = type == GGML_Q4_1 ? 4 : 2; /* bytes before a block's integers */
    u32 j = 0;
    for (; j + 4 <= nr; j += 4, row += 4 * stride) {
        u64 t0 = 0, t1 = 0, t2 = 0, t3 = 0;
        const u8 *blk = row;
        for (u32 b = 0; b < nb; b++, blk += bb) {
            i32 m = xm[b], s = xs[b], qb = qs[b], is[4];
            if (m == 0) continue; /* an all-zero input block: every term is shift_round(0, ·) = 0 */
            if (type == GGML_Q8_0) isum4_q8((const i8 *)(blk + 2), stride, q + b * QK, is);
            else isum4_q4(blk + skip, stride, q + b * QK, is);
            t0 += block_terms(type, blk, is[0], m, s, qb, &bad);
            t1 += block_terms(type, blk + stride, is[1], m, s, qb, &bad);
            t2 += block_terms(type, blk + 2 * stride, is[2], m, s, qb, &bad);
            t3 += block_terms(type, blk + 3 * stride, is[3], m, s, qb, &bad);
        }
        acc[j] = (i64)t0, acc[j + 1] = (i64)t1, acc[j + 2] = (i64)t2, acc[j + 3] = (i64)t3;
    }
    for (; j < nr; j++, row += stride) {
        u64 t = 0;
        const u8 *blk = row;
        for (u32 b = 0; b < nb; b++, blk += bb)
            if (xm[b]) t += block_terms(type, blk, isum1(type, blk, q + b * QK), xm[b], xs[b], qs[b], &bad);
        acc[j] = (i64)t;
    }
    return bad;
}

/* v2_linear for a k-quant or F32/F16 weight: main's checks and output pass with these formats' row
 * sizes. Apart from main, and calling neither check_inputs nor copy_bytes (written out here), so
 * that gcc compiles the 32-value formats' code (block_formats) exactly as before they came: the
 * same loops, the same steps. */
static __attribute__((noinline)) int other_types(void) {
    /* header_ok, written out (a second call would change how gcc compiles block_formats) */
    if (hdr(H_VERSION) != ABI_VERSION || hdr(H_OP) != OP_V2_LINEAR) return EXIT_BAD_HEADER;
    for (u32 w = 11; w < 16; w++)
        if (hdr(w)) return EXIT_BAD_HEADER;
    u32 mode = param(0), type = param(1), N = param(2), K = param(3), r0 = param(4), nr = param(5), full = param(6);
    u32 vals = other_values(type); /* a row is whole multiples of vals values */
    if (mode > 1 || vals == 0 || N == 0 || K == 0 || K % vals || K >= (1u << 17) || nr == 0 || nr > (1u << 24) ||
        r0 >= N || nr > N - r0 || full > 1)
        return EXIT_BAD_PARAM;
    u32 stride = K / vals * other_bytes(type), esz = mode == 1 ? 8 : 4;
    u32 base = mode == 1 ? 3 : 2, n_in = full && hdr(H_NIN) == base + 1 ? base + 1 : base;
    if (hdr(H_NIN) != n_in) return EXIT_BAD_HEADER;
    for (u32 i = 0; i < MAX_INPUTS; i++) {
        u32 want = i == 0 ? mul_len(N, stride) : i == 1 ? 4 * K : i == base ? mul_len(N, esz) : i == 2 ? mul_len(N, 8) : 0;
        if (hdr(H_INLEN(i)) != (i < n_in ? want : 0)) return EXIT_BAD_INPUT_LENGTH;
    }
    if (check_output(mul_len(full ? N : nr, esz))) return EXIT_BAD_OUTPUT_LENGTH;

    const u8 *row = in_u8(0) + r0 * stride;
    i64 *acc;
    u32 bad;
    if (type == GGML_F32 || type == GGML_F16) {
        acc = STAGE;
        bad = type == GGML_F32 ? rows_float(1, nr, K, row, in_i32(1), acc) : rows_float(0, nr, K, row, in_i32(1), acc);
    } else {
        /* Working memory: q int8 [K], per super-block xm and xe + 24, the sums of each 16 (qs16),
         * then the accumulators. */
        u32 ns = K / QKK;
        i8 *q = STAGE;
        i32 *xm = (i32 *)(q + K), *xs = xm + ns, *qs16 = xs + ns;
        acc = (i64 *)(((u32)(qs16 + K / 16) + 7) & ~7u);
        quantize_act_k(in_i32(1), K, q, xm, xs, qs16);
        for (u32 b = 0; b < ns; b++) xs[b] += 24;
        bad = type == GGML_Q4_K   ? rows_k(GGML_Q4_K, nr, ns, stride, row, q, xm, xs, qs16, acc)
              : type == GGML_Q5_K ? rows_k(GGML_Q5_K, nr, ns, stride, row, q, xm, xs, qs16, acc)
                                  : rows_k(GGML_Q6_K, nr, ns, stride, row, q, xm, xs, qs16, acc);
    }
    if (bad) return EXIT_BAD_PARAM; /* an infinite or NaN scale or value: nothing written yet */

    u8 *out = OUTPUT;
    if (full) { /* as main: the previous tile's rows (4-aligned regions: word by word), then the tile */
        if (n_in > base)
            for (u32 i = 0; i < N * esz / 4; i++) ((u32 *)OUTPUT)[i] = ((const u32 *)INPUT(base))[i];
        out += r0 * esz;
    }
    if (mode == 0) {
        i32 *o = (i32 *)out;
        for (u32 j = 0; j < nr; j++) o[j] = sat32(shift_round_i(acc[j], -8));
    } else {
        const i64 *h = in_i64(2) + r0;
        i64 *o = (i64 *)out;
        for (u32 j = 0; j < nr; j++) o[j] = (i64)((u64)h[j] + (u64)acc[j]);
    }
    return EXIT_OK;
}

/* The 32-value formats: main as it was before the other formats came (its own function, so that
 * their code does not change its register allocation: the same loops, the same steps). */
static __attribute__((noinline)) int block_formats(void) {
    if (!header_ok(OP_V2_LINEAR)) return EXIT_BAD_HEADER;
    u32 mode = param(0), type = param(1), N = param(2), K = param(3), r0 = param(4), nr = param(5), full = param(6);
    u32 bb = block_bytes(type);
    if (mode > 1 || bb == 0 || N == 0 || K == 0 || K % QK || K >= (1u << 17) || nr == 0 || nr > (1u << 24) ||
        r0 >= N || nr > N - r0 || full > 1)
        return EXIT_BAD_PARAM;
    u32 nb = K / QK, stride = nb * bb, esz = mode == 1 ? 8 : 4;
    u32 base = mode == 1 ? 3 : 2, n_in = full && hdr(H_NIN) == base + 1 ? base + 1 : base;
    u32 lens[4] = {mul_len(N, stride), 4 * K, mul_len(N, 8), 0};
    lens[base] = mul_len(N, esz); /* the previous tile's whole output */
    int e = check_inputs(n_in, lens);
    if (e) return e;
    if ((e = check_output(mul_len(full ? N : nr, esz)))) return e;

    /* Working memory (region 0, SPEC §4.6): q int8 [K], then per block xm, xe + 24, qsum, then
     * the accumulators. */
    i8 *q = STAGE;
    i32 *xm = (i32 *)(q + K), *xs = xm + nb, *qs = xs + nb;
    i64 *acc = (i64 *)(((u32)(qs + nb) + 7) & ~7u); /* 8-aligned */
    quantize_act(in_i32(1), K, q, xm, xs, qs);
    for (u32 b = 0; b < nb; b++) xs[b] += 24;

    u32 bad = type == GGML_Q8_0   ? rows(GGML_Q8_0, nr, nb, stride, in_u8(0) + r0 * stride, q, xm, xs, qs, acc)
              : type == GGML_Q4_0 ? rows(GGML_Q4_0, nr, nb, stride, in_u8(0) + r0 * stride, q, xm, xs, qs, acc)
                                  : rows(GGML_Q4_1, nr, nb, stride, in_u8(0) + r0 * stride, q, xm, xs, qs, acc);
    if (bad) return EXIT_BAD_PARAM; /* an infinite or NaN block scale: nothing written yet */

    u8 *out = OUTPUT;
    if (full) {
        /* Rows around the tile come from the previous tile (region 8 starts zero, so without
         * one there is nothing to write); the tile's rows are written below. */
        if (n_in > base) copy_bytes(OUTPUT, INPUT(base), N * esz);
        out += r0 * esz;
    }
    if (mode == 0) {
        i32 *o = (i32 *)out;
        for (u32 j = 0; j < nr; j++) o[j] = sat32(shift_round(acc[j], -8));
    } else {
        const i64 *h = in_i64(2) + r0;
        i64 *o = (i64 *)out;
        for (u32 j = 0; j < nr; j++) o[j] = (i64)((u64)h[j] + (u64)acc[j]);
    }
    return EXIT_OK;
}

/* Both paths check the header first (SPEC §4.6's order); the type word only picks the path. */
int main(void) { return block_bytes(param(1)) ? block_formats() : other_types(); }
