/* Op 6, attention scores (SPEC §3.2.6): sc[h, t] = Σ_i q[h, i]·k[t, g(h), i] for t < T = pos + 1,
 * g(h) = h / (H/G). Inputs: q i8[H, hd], k_cache i8[S, G, hd]. Params: H, G (H % G == 0),
 * hd < 2^17, S; pos < S, H·T <= 2^25 (the staged scores), then optionally a head tile h0, nh,
 * full (rt.h head_tile). Output: i32[H, T] (or i32[nh, T] for a tile without `full`).
 * Each head is a matrix-vector product over the cache rows of its KV head (stride G·hd);
 * |q·k| <= 2^14, so the sums are exact in int32. */
#include "matvec.h"

int main(void) {
    if (!header_ok(OP_SCORES)) return EXIT_BAD_HEADER;
    u32 H = param(0), G = param(1), hd = param(2), S = param(3), p = pos();
    if (H == 0 || G == 0 || H % G || hd == 0 || hd >= (1u << 17) || S == 0 || p >= S) return EXIT_BAD_PARAM;
    u32 h0, nh, full;
    if (!head_tile(4, H, &h0, &nh, &full)) return EXIT_BAD_PARAM;
    u32 T = p + 1, row = mul_len(G, hd), n = mul_len(H, T);
    if (n > STAGE_BYTES / 4) return EXIT_BAD_PARAM;
    u32 n_in = full && hdr(H_NIN) == 3 ? 3 : 2;
    u32 lens[3] = {mul_len(H, hd), mul_len(S, row), mul_len(n, 4)};
    int e = check_inputs(n_in, lens);
    if (e) return e;
    if ((e = check_output(mul_len(full ? n : mul_len(nh, T), 4)))) return e;

    u32 per = H / G;
    const i8 *q = in_i8(0), *kc = in_i8(1);
    i32 *sc = STAGE;
    for (u32 h = h0; h < h0 + nh; h++) matvec_i8(kc + (h / per) * hd, row, q + h * hd, hd, T, sc + (h - h0) * T);
    u8 *out = OUTPUT;
    if (full) {
        if (n_in == 3) copy_bytes(out, INPUT(2), 4 * n); /* the heads before and after this tile */
        out += 4 * h0 * T;
    }
    copy_bytes(out, sc, 4 * nh * T);
    return EXIT_OK;
}
