/* Op 7, softmax (SPEC §3.2.7), per row h of T = pos + 1 scores:
 *   x_t = max_u sc[u] − sc[t] >= 0;  j_t = min(requant(x_t, m, s), L − 1);  p_t = E[j_t];
 *   P = Σ_t p_t;  prob[t] = floor((p_t·2^15 + floor(P/2)) / P)   (i32, Q15).
 * Inputs: scores i32[H, T], rq i32[2], E i32[L]. Params: H, L, then optionally a head tile h0, nh,
 * full (rt.h head_tile). Output: i32[H, T] (or i32[nh, T] for a tile without `full`).
 * Checked before writing: the pair, and E >= 0 with E[0] >= 1. A row's maximum has x = 0, j = 0,
 * so P >= E[0] > 0: the division is by a positive number of a non-negative numerator, where C's
 * truncation is the floor. Rows whose scores spread by 2^31 or more exit 4 (requant's domain);
 * then x < 2^31 and m < 2^31 keep x·m + 2^(s-1) inside int64. */
#include "rt.h"

int main(void) {
    if (!header_ok(OP_SOFTMAX)) return EXIT_BAD_HEADER;
    u32 H = param(0), L = param(1), T = pos() + 1, h0, nh, full;
    if (H == 0 || L == 0 || T == 0 || T > STAGE_BYTES / 4) return EXIT_BAD_PARAM;
    if (!head_tile(2, H, &h0, &nh, &full)) return EXIT_BAD_PARAM;
    u32 n = mul_len(mul_len(H, T), 4);
    u32 n_in = full && hdr(H_NIN) == 4 ? 4 : 3;
    u32 lens[4] = {n, 8, mul_len(L, 4), n};
    int e = check_inputs(n_in, lens);
    if (e) return e;
    if ((e = check_output(full ? n : mul_len(mul_len(nh, T), 4)))) return e;

    const i32 *rq = in_i32(1), *E = in_i32(2);
    i32 m = rq[0], s = rq[1];
    if (!rq_ok(m, s)) return EXIT_BAD_PARAM;
    if (E[0] < 1) return EXIT_BAD_PARAM;
    for (u32 i = 1; i < L; i++)
        if (E[i] < 0) return EXIT_BAD_PARAM;

    /* requant's precondition |x| < 2^31 (SPEC §3.1): a row whose scores spread by 2^31 or more
     * is outside the op's domain (real scores are below hd·2^14), so it is refused up front. */
    const i32 *sc = in_i32(0) + h0 * T;
    for (u32 h = 0; h < nh; h++) {
        i32 mx = sc[h * T], mn = mx;
        for (u32 t = 1; t < T; t++) {
            i32 v = sc[h * T + t];
            if (v > mx) mx = v;
            if (v < mn) mn = v;
        }
        if ((i64)mx - mn >= (1LL << 31)) return EXIT_BAD_PARAM;
    }
    i32 *out = OUTPUT;
    if (full) {
        if (n_in == 4) copy_bytes(out, INPUT(3), n); /* the heads before and after this tile */
        out += h0 * T;
    }
    u32 *idx = STAGE; /* j_t of the current row */
    for (u32 h = 0; h < nh; h++, sc += T, out += T) {
        i32 mx = sc[0];
        for (u32 t = 1; t < T; t++)
            if (sc[t] > mx) mx = sc[t];
        u64 P = 0;
        for (u32 t = 0; t < T; t++) {
            i64 x = (i64)mx - sc[t];
            i64 j = requant(x, m, (u32)s);
            u32 ji = j > (i64)(L - 1) ? L - 1 : (u32)j; /* j >= 0 since x >= 0 and m >= 0 */
            idx[t] = ji;
            P += (u32)E[ji];
        }
        for (u32 t = 0; t < T; t++) {
            u64 num = ((u64)(u32)E[idx[t]] << 15) + P / 2;
            /* both fit in 32 bits for any real table (entries <= 2^15, T < 2^16): one divu
             * instead of libgcc's 64-bit division, same quotient */
            out[t] = (i32)((num >> 32) == 0 && (P >> 32) == 0 ? (u32)num / (u32)P : num / P);
        }
    }
    return EXIT_OK;
}
