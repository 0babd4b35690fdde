/* Op 24, v2_attention (SPEC §3v2.3 item 7; §4.7): one query position over the T = pos + 1 cached
 * rows, per query head h with KV head g = h / (H/G):
 *   s_t = shift_round(shift_round(Σ_i q_i·k_{t,i}, -16)·c, -30), c = isqrt(floor(2^60 / hd));
 *   p_t = exp_neg(max_u s_u - s_t); prob_t = rdiv(p_t·2^30, Σ_t p_t);
 *   o_i = sat32(shift_round(Σ_t prob_t·v_{t,i}, -30)).
 * Inputs: q i32[H, hd], k_cache i32[T, G, hd], v_cache i32[T, G, hd] (at 2^-16: the caches as
 * the trace commits them, rows 0 .. pos; SPEC §3v2.3), exp2 i32[4096]. Params: H, G, hd, S (H % G = 0, pos < S), then optionally a head
 * tile h0, nh, full (words 4-6, as v1's attention ops, SPEC §4.6): the output holds heads
 * h0 .. h0+nh-1, or with full = 1 all H heads, the others copied from one more (last) input,
 * the previous tile's whole output, or zero without it. Output i32[nh·hd] or i32[H·hd].
 * Data: exp2 >= 0 and exp2[0] >= 1 (the largest score's weight, so Σ p >= 1).
 * Sums are formed modulo 2^64 like numpy's int64 einsum. */
#include "v2.h"

/* Σ_i a_i·b_{i·stride} for n terms, modulo 2^64, on 32-bit halves: each product is one
 * 32x32->64 multiply whose low word is added with its carry (gcc's u64 += spills here);
 * unrolled by four with immediate offsets into a. */
#define MAC(ai, bi)                                                                                \
    do {                                                                                           \
        i64 p_ = (i64)(ai) * (bi);                                                                 \
        u32 pl_ = (u32)p_;                                                                         \
        lo += pl_;                                                                                 \
        hi += (u32)((u64)p_ >> 32) + (lo < pl_);                                                   \
    } while (0)

static inline u64 dot64(const i32 *a, const i32 *b, u32 stride, u32 n) {
    u32 lo = 0, hi = 0, i = 0;
    if (stride == 1) {
        for (; i + 4 <= n; i += 4, a += 4, b += 4) {
            MAC(a[0], b[0]);
            MAC(a[1], b[1]);
            MAC(a[2], b[2]);
            MAC(a[3], b[3]);
        }
    } else {
        for (; i + 4 <= n; i += 4, a += 4) {
            MAC(a[0], *b);
            b += stride;
            MAC(a[1], *b);
            b += stride;
            MAC(a[2], *b);
            b += stride;
            MAC(a[3], *b);
            b += stride;
        }
    }
    for (; i < n; i++, a++, b += stride) MAC(*a, *b);
    return ((u64)hi << 32) | lo;
}

int main(void) {
    if (!header_ok(OP_V2_ATTENTION)) return EXIT_BAD_HEADER;
    u32 H = param(0), G = param(1), hd = param(2), S = param(3), p = pos();
    u32 h0, nh, full;
    if (H == 0 || G == 0 || H % G || hd == 0 || S == 0 || p >= S || !head_tile(4, H, &h0, &nh, &full))
        return EXIT_BAD_PARAM;
    u32 row = mul_len(G, hd), cache = mul_len(mul_len(p + 1, row), 4), n = mul_len(H, hd);
    u32 n_in = full && hdr(H_NIN) == 5 ? 5 : 4;
    u32 lens[5] = {mul_len(n, 4), cache, cache, 4 * EXP2_N, mul_len(n, 4)};
    int e = check_inputs(n_in, lens);
    if (e) return e;
    if ((e = check_output(mul_len(full ? H : nh, 4 * hd)))) return e;
    const i32 *table = in_i32(3);
    if (!exp2_ok(table, 1)) return EXIT_BAD_PARAM;

    u32 T = p + 1, rep = H / G;
    u64 c = isqrt64(((u64)1 << 60) / hd);
    const i32 *q = in_i32(0), *kc = in_i32(1), *vc = in_i32(2);
    i32 *out = STAGE;
    i64 *sc = (i64 *)(out + n + (n & 1)); /* 8-aligned scratch of T */
    i32 *prob = (i32 *)(sc + T);
    for (u32 h = h0; h < h0 + nh; h++) {
        u32 g = h / rep;
        const i32 *qh = q + h * hd;
        i64 mx = 0;
        for (u32 t = 0; t < T; t++) {
            const i32 *kr = kc + t * row + g * hd;
            u64 dot = dot64(qh, kr, 1, hd);
            i64 s = shift_round((i64)((u64)shift_round((i64)dot, -16) * c), -30);
            sc[t] = s;
            if (t == 0 || s > mx) mx = s;
        }
        u64 psum = 0;
        for (u32 t = 0; t < T; t++) {
            sc[t] = exp_neg(mx - sc[t], table);
            psum += (u64)sc[t];
        }
        /* 0 <= p_t <= Σp, so prob_t = rdiv(p_t·2^30, Σp) <= 2^30 fits int32, and prob·v is one
         * 32x32->64 multiply. */
        for (u32 t = 0; t < T; t++) prob[t] = (i32)rdiv64(sc[t] << 30, (i64)psum);
        for (u32 i = 0; i < hd; i++) {
            u64 o = dot64(prob, vc + g * hd + i, row, T);
            out[h * hd + i] = sat32(shift_round((i64)o, -30));
        }
    }
    u8 *dst = OUTPUT;
    if (full) {
        if (n_in == 5) copy_bytes(OUTPUT, INPUT(4), 4 * n);
        dst += 4 * h0 * hd;
    }
    copy_bytes(dst, out + h0 * hd, 4 * nh * hd);
    return EXIT_OK;
}
