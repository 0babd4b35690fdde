/* Op 21, v2_rmsnorm (SPEC §3v2.3 item 4; §4.7): h int64 [d] at 2^-24, gain g int64 [d] at 2^-24,
 * the file's ε = em·2^ee. k = max(0, bitlen(max|h|) - 24), x = h >> k (floor),
 * ε' = shift_round(em, ee + 48 - 2k), r = max(1, isqrt(floor(Σx²/d) + ε')),
 * y_i = sat32(rdiv(x_i·g_i, r·2^8)) int32 at 2^-16.
 * Params: d (1 <= d < 2^14), em (1 <= em < 2^24), ee (int32, -149 <= ee <= 0: 0 < ε <= 2^24·2^ee).
 * Data: h_i != -2^63 (its magnitude must be an int64). */
#include "v2.h"

int main(void) {
    if (!header_ok(OP_V2_RMSNORM)) return EXIT_BAD_HEADER;
    u32 d = param(0), em = param(1);
    i32 ee = (i32)param(2);
    if (d == 0 || d >= (1u << 14) || em == 0 || em >= (1u << 24) || ee < -149 || ee > 0) return EXIT_BAD_PARAM;
    u32 lens[2] = {8 * d, 8 * d};
    int e = check_inputs(2, lens);
    if (e) return e;
    if ((e = check_output(4 * d))) return e;

    const i64 *h = in_i64(0), *g = in_i64(1);
    u64 amax = 0;
    for (u32 i = 0; i < d; i++) {
        if ((u64)h[i] == (u64)1 << 63) return EXIT_BAD_PARAM;
        u64 a = h[i] < 0 ? 0 - (u64)h[i] : (u64)h[i];
        if (a > amax) amax = a;
    }
    i32 k = (i32)bitlen64(amax) - 24;
    if (k < 0) k = 0;
    /* |x| < 2^24: x·x is one 32x32 multiply and Σx² < 2^62 for d < 2^14. */
    u64 s = 0;
    for (u32 i = 0; i < d; i++) {
        i32 x = (i32)sar64((u64)h[i], (u32)k);
        s += (u64)((i64)x * x);
    }
    i64 eps = shift_round((i64)em, ee + 48 - 2 * k);
    u64 r = isqrt64(s / d + (u64)eps);
    if (r < 1) r = 1;
    i64 D = (i64)(r << 8);
    i32 *y = STAGE;
    for (u32 i = 0; i < d; i++) {
        i64 x = sar64((u64)h[i], (u32)k);
        y[i] = sat32(rdiv64((i64)((u64)x * (u64)g[i]), D));
    }
    copy_bytes(OUTPUT, y, 4 * d);
    return EXIT_OK;
}
