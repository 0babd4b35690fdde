/* Op 10, swiglu (SPEC §3.2.10): y_i = sat8(requant(silu[gate_i + 128]·up_i, m, s)).
 * Inputs: gate i8[f], up i8[f], silu i32[256], rq i32[2]. Params: f. Output: i8[f].
 * A table entry times an int8 can exceed 2^31, so the product is int64 (requant wraps like numpy). */
#include "rt.h"

int main(void) {
    if (!header_ok(OP_SWIGLU)) return EXIT_BAD_HEADER;
    u32 f = param(0);
    if (f == 0) return EXIT_BAD_PARAM;
    u32 lens[4] = {f, f, 1024, 8};
    int e = check_inputs(4, lens);
    if (e) return e;
    if ((e = check_output(f))) return e;
    const i32 *rq = in_i32(3), *silu = in_i32(2);
    i32 m = rq[0], s = rq[1];
    if (!rq_ok(m, s)) return EXIT_BAD_PARAM;

    const i8 *g = in_i8(0), *u = in_i8(1);
    i8 *out = OUTPUT;
    for (u32 i = 0; i < f; i++) out[i] = (i8)sat8(requant((i64)silu[g[i] + 128] * u[i], m, (u32)s));
    return EXIT_OK;
}
