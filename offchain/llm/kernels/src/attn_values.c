/* Op 8, attention values (SPEC §3.2.8): o[h·hd + i] = sat8(requant(Σ_t prob[h, t]·v[t, g(h), i], m, s))
 * for t < T = pos + 1. Inputs: probs i32[H, T], v_cache i8[S, G, hd], rq i32[2].
 * Params: H, G (H % G == 0), hd, S; pos < S and T < 2^16. Output: i8[H·hd].
 * Probabilities are Q15 and a row sums to at most 2^15 + T/2, so every partial sum is below
 * 2^23 in magnitude: int32 accumulation is exact (SPEC §3.2.8). */
#include "rt.h"

int main(void) {
    if (!header_ok(OP_ATTN_VALUES)) return EXIT_BAD_HEADER;
    u32 H = param(0), G = param(1), hd = param(2), S = param(3), p = pos();
    if (H == 0 || G == 0 || H % G || hd == 0 || hd > STAGE_BYTES / 4 || S == 0 || p >= S || p + 1 >= (1u << 16)) return EXIT_BAD_PARAM;
    u32 T = p + 1, row = mul_len(G, hd);
    u32 lens[3] = {mul_len(mul_len(H, T), 4), mul_len(S, row), 8};
    int e = check_inputs(3, lens);
    if (e) return e;
    if ((e = check_output(mul_len(H, hd)))) return e;
    const i32 *rq = in_i32(2);
    i32 m = rq[0], s = rq[1];
    if (!rq_ok(m, s)) return EXIT_BAD_PARAM;

    u32 per = H / G;
    const i32 *pr = in_i32(0);
    const i8 *vc = in_i8(1);
    i32 *acc = STAGE;
    i8 *out = OUTPUT;
    for (u32 h = 0; h < H; h++, pr += T, out += hd) {
        for (u32 i = 0; i < hd; i++) acc[i] = 0;
        const i8 *v = vc + (h / per) * hd;
        for (u32 t = 0; t < T; t++, v += row) {
            i32 pt = pr[t];
            for (u32 i = 0; i < hd; i++) acc[i] = (i32)((u32)acc[i] + (u32)pt * (u32)(i32)v[i]); /* wraps, never UB */
        }
        for (u32 i = 0; i < hd; i++) out[i] = (i8)sat8(requant32(acc[i], m, (u32)s));
    }
    return EXIT_OK;
}
