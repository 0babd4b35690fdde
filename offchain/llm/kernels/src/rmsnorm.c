/* Op 2, rmsnorm (SPEC §3.2.2): r = isqrt(floor(Σx²/d) + eps); y_i = sat8(rdiv(x_i·g_i, r·2^16)).
 * Inputs: x i32[d], g i32[d]. Params: d (1 <= d < 2^14), eps (>= 1). Output: i8[d].
 * Bounds (spec): |x|, |g| < 2^24, so Σx² < 2^62 and x·g < 2^48 fit in int64. */
#include "rt.h"

int main(void) {
    if (!header_ok(OP_RMSNORM)) return EXIT_BAD_HEADER;
    u32 d = param(0), eps = param(1);
    if (d == 0 || d >= (1u << 14) || eps == 0) return EXIT_BAD_PARAM;
    u32 lens[2] = {4 * d, 4 * d};
    int e = check_inputs(2, lens);
    if (e) return e;
    if ((e = check_output(d))) return e;

    const i32 *x = in_i32(0), *g = in_i32(1);
    u64 ss = 0; /* mod 2^64 like numpy's int64 dot; exact within the bounds */
    for (u32 i = 0; i < d; i++) ss += (u64)((i64)x[i] * x[i]);
    /* eps >= 1 makes r >= 1, so the divisor below is never zero. */
    u32 r = isqrt64(ss / d + eps);
    /* rdiv(n, D) = floor((2n + D) / (2D)) with D = r·2^16, i.e. floor(a / (r·2^17)) for
     * a = 2n + D. Floors nest for positive divisors, floor(a / (b·c)) = floor(floor(a / b) / c),
     * so a is first shifted right by 17 (arithmetic: floor), then divided by r, in 32 bits when
     * the shifted value fits (always, for real residuals and gains) else with libgcc. */
    i64 D = (i64)r << 16;
    i8 *out = OUTPUT;
    for (u32 i = 0; i < d; i++) {
        i64 a = (2 * ((i64)x[i] * g[i]) + D) >> 17;
        i64 q;
        if (a >= -0x80000000LL && a <= 0x7fffffffLL && r <= 0x7fffffffu) {
            i32 a32 = (i32)a, r32 = (i32)r, q32 = a32 / r32;
            q = q32 - (a32 - q32 * r32 < 0); /* truncation -> floor for a negative remainder */
        } else {
            q = floor_div(a, (i64)r);
        }
        out[i] = (i8)sat8(q);
    }
    return EXIT_OK;
}
