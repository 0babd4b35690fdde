/* Op 25, v2_swiglu (SPEC §3v2.3 item 9; §4.7): e = exp_neg(|g|); σ = rdiv(2^60, 2^30 + e) for
 * g >= 0, else rdiv(e·2^30, 2^30 + e); silu = shift_round(g·σ, -30);
 * y = sat32(shift_round(silu·u, -16)). Inputs: gate, up i32[f] at 2^-16, exp2 i32[4096] at 2^-30.
 * Params: f. Data: exp2 >= 0 (so every divisor is at least 2^30). Output i32[f]. */
#include "v2.h"

int main(void) {
    if (!header_ok(OP_V2_SWIGLU)) return EXIT_BAD_HEADER;
    u32 f = param(0);
    if (f == 0) return EXIT_BAD_PARAM;
    u32 lens[3] = {mul_len(f, 4), mul_len(f, 4), 4 * EXP2_N};
    int e = check_inputs(3, lens);
    if (e) return e;
    if ((e = check_output(mul_len(f, 4)))) return e;
    const i32 *table = in_i32(2);
    if (!exp2_ok(table, 0)) return EXIT_BAD_PARAM;

    const i32 *gate = in_i32(0), *up = in_i32(1);
    const i64 one = (i64)1 << 30;
    i32 *y = STAGE;
    for (u32 i = 0; i < f; i++) {
        i64 g = gate[i];
        i64 ex = exp_neg(g < 0 ? -g : g, table);
        i64 sig = g >= 0 ? rdiv64(one << 30, one + ex) : rdiv64(ex << 30, one + ex);
        i64 silu = shift_round(g * sig, -30); /* |g·σ| <= 2^31·2^30 */
        y[i] = sat32(shift_round(silu * (i64)up[i], -16)); /* |silu| <= 2^31: below 2^62 */
    }
    copy_bytes(OUTPUT, y, 4 * f);
    return EXIT_OK;
}
