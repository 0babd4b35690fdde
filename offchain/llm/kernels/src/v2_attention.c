/* Op 24, v2_attention (SPEC §3v2.3 item 7; §4.7): one query position over the T = pos + 1 cached
 * rows, per query head h with KV head g = h / (H/G):
 *   s_t = shift_round(shift_round(Σ_i q_i·k_{t,i}, -16)·c, -30), c = isqrt(floor(2^60 / hd));
 *   p_t = exp_neg(max_u s_u - s_t); prob_t = rdiv(p_t·2^30, Σ_t p_t);
 *   o_i = sat32(shift_round(Σ_t prob_t·v_{t,i}, -30)).
 * Inputs: q i32[H, hd], k_cache i32[S, G, hd], v_cache i32[S, G, hd] (at 2^-16; rows past pos
 * are not read), exp2 i32[4096]. Params: H, G, hd, S (H % G = 0, pos < S). Output i32[H·hd].
 * Data: exp2 >= 0 and exp2[0] >= 1 (the largest score's weight, so Σ p >= 1).
 * Sums are formed modulo 2^64 like numpy's int64 einsum. */
#include "v2.h"

int main(void) {
    if (!header_ok(OP_V2_ATTENTION)) return EXIT_BAD_HEADER;
    u32 H = param(0), G = param(1), hd = param(2), S = param(3), p = pos();
    if (H == 0 || G == 0 || H % G || hd == 0 || S == 0 || p >= S) return EXIT_BAD_PARAM;
    u32 row = mul_len(G, hd), cache = mul_len(mul_len(S, row), 4), n = mul_len(H, hd);
    u32 lens[4] = {mul_len(n, 4), cache, cache, 4 * EXP2_N};
    int e = check_inputs(4, lens);
    if (e) return e;
    if ((e = check_output(mul_len(n, 4)))) return e;
    const i32 *table = in_i32(3);
    if (!exp2_ok(table, 1)) return EXIT_BAD_PARAM;

    u32 T = p + 1, rep = H / G;
    u64 c = isqrt64(((u64)1 << 60) / hd);
    const i32 *q = in_i32(0), *kc = in_i32(1), *vc = in_i32(2);
    i32 *out = STAGE;
    i64 *sc = (i64 *)(out + n + (n & 1)); /* 8-aligned scratch of T */
    for (u32 h = 0; h < H; h++) {
        u32 g = h / rep;
        const i32 *qh = q + h * hd;
        i64 mx = 0;
        for (u32 t = 0; t < T; t++) {
            const i32 *kr = kc + t * row + g * hd;
            u64 dot = 0;
            for (u32 i = 0; i < hd; i++) dot += (u64)((i64)qh[i] * kr[i]);
            i64 s = shift_round((i64)((u64)shift_round((i64)dot, -16) * c), -30);
            sc[t] = s;
            if (t == 0 || s > mx) mx = s;
        }
        u64 psum = 0;
        for (u32 t = 0; t < T; t++) {
            sc[t] = exp_neg(mx - sc[t], table);
            psum += (u64)sc[t];
        }
        for (u32 t = 0; t < T; t++) sc[t] = rdiv64(sc[t] << 30, (i64)psum);
        for (u32 i = 0; i < hd; i++) {
            u64 o = 0;
            const i32 *vp = vc + g * hd + i;
            for (u32 t = 0; t < T; t++, vp += row) o += (u64)sc[t] * (u64)(i64)*vp;
            out[h * hd + i] = sat32(shift_round((i64)o, -30));
        }
    }
    copy_bytes(OUTPUT, out, 4 * n);
    return EXIT_OK;
}
