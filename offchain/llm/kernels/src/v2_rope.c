/* Op 23, v2_rope (SPEC §3v2.3 item 5; §4.7): adjacent pairs (2i, 2i+1) of each head rotate by
 * row pos of the tables: a' = sat32(shift_round(a·c_i - b·s_i, -30)),
 * b' = sat32(shift_round(a·s_i + b·c_i, -30)). Inputs: x i32[heads, hd] at 2^-16,
 * rope_cos, rope_sin i32[S, hd/2] at 2^-30. Params: heads, hd (even), S; pos < S.
 * Output i32[heads, hd]. Each product is one 32x32->64 multiply; their sum or difference is
 * below 2^63. */
#include "v2.h"

int main(void) {
    if (!header_ok(OP_V2_ROPE)) return EXIT_BAD_HEADER;
    u32 heads = param(0), hd = param(1), S = param(2), p = pos();
    if (heads == 0 || hd == 0 || hd % 2 || S == 0 || p >= S) return EXIT_BAD_PARAM;
    u32 n = mul_len(heads, hd);
    u32 lens[3] = {mul_len(n, 4), mul_len(S, 2 * hd), mul_len(S, 2 * hd)};
    int e = check_inputs(3, lens);
    if (e) return e;
    if ((e = check_output(mul_len(n, 4)))) return e;

    const i32 *x = in_i32(0), *cs = in_i32(1) + p * (hd / 2), *sn = in_i32(2) + p * (hd / 2);
    i32 *y = STAGE;
    for (u32 h = 0; h < heads; h++)
        for (u32 i = 0; i < hd / 2; i++) {
            i64 a = x[h * hd + 2 * i], b = x[h * hd + 2 * i + 1], c = cs[i], s = sn[i];
            y[h * hd + 2 * i] = sat32(shift_round(a * c - b * s, -30));
            y[h * hd + 2 * i + 1] = sat32(shift_round(a * s + b * c, -30));
        }
    copy_bytes(OUTPUT, y, 4 * n);
    return EXIT_OK;
}
