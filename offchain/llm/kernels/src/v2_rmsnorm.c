/* Op 21, v2_rmsnorm (SPEC §3v2.3 item 4; §4.7): h int64 [d] at 2^-24, gain g int64 [d] at 2^-24,
 * the file's ε = em·2^ee. k = max(0, bitlen(max|h|) - 24), x = h >> k (floor),
 * ε' = shift_round(em, ee + 48 - 2k), r = max(1, isqrt(floor(Σx²/d) + ε')),
 * y_i = sat32(rdiv(x_i·g_i, r·2^8)) int32 at 2^-16.
 * Params: d (1 <= d < 2^14), em (1 <= em < 2^24), ee (int32, -149 <= ee <= 0: 0 < ε <= 2^24·2^ee),
 * and optionally gain_f32 (word 3): 0 (default) the gain is int64 [d] at 2^-24; 1 it is the
 * file's F32 tensor bytes [d] (little-endian, the committed leaf), converted as the loader does
 * (SPEC §3v2.2): g = shift_round(m, e + 24), refused (exit 4) if infinite, NaN or |g| >= 2^31
 * (a norm weight of 128 or more).
 * Data: h_i != -2^63 (its magnitude must be an int64). */
#include "v2.h"

int main(void) {
    if (!header_ok(OP_V2_RMSNORM)) return EXIT_BAD_HEADER;
    u32 d = param(0), em = param(1);
    i32 ee = (i32)param(2);
    u32 f32 = param(3);
    if (d == 0 || d >= (1u << 14) || em == 0 || em >= (1u << 24) || ee < -149 || ee > 0 || f32 > 1)
        return EXIT_BAD_PARAM;
    u32 lens[2] = {8 * d, f32 ? 4 * d : 8 * d};
    int e = check_inputs(2, lens);
    if (e) return e;
    if ((e = check_output(4 * d))) return e;

    const i64 *h = in_i64(0), *g = in_i64(1);
    if (f32) { /* the file's F32 gains to int64 at 2^-24, into working memory after y */
        i64 *gc = (i64 *)STAGE + d;
        const u8 *b = in_u8(1);
        for (u32 i = 0; i < d; i++, b += 4) {
            u32 bits = (u32)b[0] | (u32)b[1] << 8 | (u32)b[2] << 16 | (u32)b[3] << 24;
            u32 ex = (bits >> 23) & 0xFF;
            /* 2^7 <= |value| from exponent 134 on: refused before a shift could wrap */
            if (ex >= 134) return EXIT_BAD_PARAM;
            i32 m = (i32)((bits & 0x7FFFFF) | (ex ? 1u << 23 : 0));
            i64 v = shift_round(bits >> 31 ? -m : m, ex ? (i32)ex - 150 + 24 : -149 + 24);
            if (v >= 0x80000000LL || v <= -0x80000000LL) return EXIT_BAD_PARAM;
            gc[i] = v;
        }
        g = gc;
    }
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
