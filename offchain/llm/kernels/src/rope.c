/* Op 4, rope (SPEC §3.2.4): per head, pair i of (a, b) = (x[2i], x[2i+1]) with c, s = the
 * tables' row pos: a' = sat8((a·c − b·s + 2^14) >> 15), b' = sat8((a·s + b·c + 2^14) >> 15).
 * Inputs: x i8[heads, hd], cos i32[S, hd/2], sin i32[S, hd/2]. Params: heads, hd (even), S.
 * The header's pos selects the table row (pos < S). Output: i8[heads, hd].
 * Products are int64 (a table entry is any int32), the shift is arithmetic (floor). */
#include "rt.h"

int main(void) {
    if (!header_ok(OP_ROPE)) return EXIT_BAD_HEADER;
    u32 H = param(0), hd = param(1), S = param(2), p = pos();
    if (H == 0 || hd == 0 || (hd & 1) || S == 0 || p >= S) return EXIT_BAD_PARAM;
    u32 n = mul_len(H, hd), table = mul_len(S, mul_len(hd / 2, 4));
    u32 lens[3] = {n, table, table};
    int e = check_inputs(3, lens);
    if (e) return e;
    if ((e = check_output(n))) return e;

    u32 half = hd / 2;
    const i32 *cs = in_i32(1) + p * half, *sn = in_i32(2) + p * half;
    const i8 *x = in_i8(0);
    i8 *out = OUTPUT;
    for (u32 h = 0; h < H; h++) {
        for (u32 i = 0; i < half; i++) {
            i64 a = x[2 * i], b = x[2 * i + 1], c = cs[i], s = sn[i];
            out[2 * i] = (i8)sat8((a * c - b * s + (1 << 14)) >> 15);
            out[2 * i + 1] = (i8)sat8((a * s + b * c + (1 << 14)) >> 15);
        }
        x += hd;
        out += hd;
    }
    return EXIT_OK;
}
