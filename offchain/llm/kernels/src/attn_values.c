/* Op 8, attention values (SPEC §3.2.8): o[h·hd + i] = sat8(requant(Σ_t prob[h, t]·v[t, g(h), i], m, s))
 * for t < T = pos + 1. Inputs: probs i32[H, T], v_cache i8[S, G, hd], rq i32[2].
 * Params: H, G (H % G == 0), hd, S; pos < S and T < 2^16, then optionally a head tile h0, nh,
 * full (rt.h head_tile). Output: i8[H·hd] (or i8[nh·hd] for a tile without `full`).
 * Probabilities are Q15 and a row sums to at most 2^15 + T/2, so every partial sum is below
 * 2^23 in magnitude: int32 accumulation is exact (SPEC §3.2.8). Outside those bounds the sums
 * wrap modulo 2^32 (unsigned arithmetic), never undefined. */
#include "rt.h"

/* Four output columns at a time, accumulated in registers while walking down the cache. */
static void columns4(const i32 *pr, const i8 *v, u32 row, u32 T, u32 *acc) {
    u32 a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (u32 t = 0; t < T; t++, v += row) {
        u32 p = (u32)pr[t];
        a0 += p * (u32)(i32)v[0];
        a1 += p * (u32)(i32)v[1];
        a2 += p * (u32)(i32)v[2];
        a3 += p * (u32)(i32)v[3];
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

int main(void) {
    if (!header_ok(OP_ATTN_VALUES)) return EXIT_BAD_HEADER;
    u32 H = param(0), G = param(1), hd = param(2), S = param(3), p = pos();
    if (H == 0 || G == 0 || H % G || hd == 0 || S == 0 || p >= S || p + 1 >= (1u << 16)) return EXIT_BAD_PARAM;
    u32 h0, nh, full;
    if (!head_tile(4, H, &h0, &nh, &full)) return EXIT_BAD_PARAM;
    u32 T = p + 1, row = mul_len(G, hd), n = mul_len(H, hd);
    if (n > STAGE_BYTES / 8) return EXIT_BAD_PARAM;
    u32 n_in = full && hdr(H_NIN) == 4 ? 4 : 3;
    u32 lens[4] = {mul_len(mul_len(H, T), 4), mul_len(S, row), 8, n};
    int e = check_inputs(n_in, lens);
    if (e) return e;
    if ((e = check_output(full ? n : mul_len(nh, hd)))) return e;
    const i32 *rq = in_i32(2);
    i32 m = rq[0], s = rq[1];
    if (!rq_ok(m, s)) return EXIT_BAD_PARAM;

    u32 per = H / G;
    const i32 *pr = in_i32(0) + h0 * T;
    const i8 *vc = in_i8(1);
    u32 *acc = STAGE;               /* the sums of one head */
    i8 *y = (i8 *)STAGE + 4 * hd;   /* the tile's output, copied to region 8 at the end */
    for (u32 h = h0; h < h0 + nh; h++, pr += T) {
        const i8 *v = vc + (h / per) * hd;
        u32 i = 0;
        for (; i + 4 <= hd; i += 4) columns4(pr, v + i, row, T, acc + i);
        for (; i < hd; i++) { /* the last hd % 4 columns */
            u32 a = 0;
            const i8 *vi = v + i;
            for (u32 t = 0; t < T; t++, vi += row) a += (u32)pr[t] * (u32)(i32)*vi;
            acc[i] = a;
        }
        for (i = 0; i < hd; i++) y[(h - h0) * hd + i] = (i8)sat8(requant32((i32)acc[i], m, (u32)s));
    }
    u8 *out = OUTPUT;
    if (full) {
        if (n_in == 4) copy_bytes(out, INPUT(3), n); /* the heads before and after this tile */
        out += h0 * hd;
    }
    copy_bytes(out, y, nh * hd);
    return EXIT_OK;
}
