/* Op 13, MLP input quantization (SPEC §3.3): x_i = sat8(requant(p_i, m, s)) for bytes p_i in 0..255.
 * Inputs: p u8[K], rq i32[2]. Params: K. Output: i8[K]. */
#include "rt.h"

int main(void) {
    if (!header_ok(OP_MLP_INPUT)) return EXIT_BAD_HEADER;
    u32 K = param(0);
    if (K == 0) return EXIT_BAD_PARAM;
    u32 lens[2] = {K, 8};
    int e = check_inputs(2, lens);
    if (e) return e;
    if ((e = check_output(K))) return e;
    const i32 *rq = in_i32(1);
    i32 m = rq[0], s = rq[1];
    if (!rq_ok(m, s)) return EXIT_BAD_PARAM;
    const u8 *p = in_u8(0);
    i8 *out = OUTPUT;
    for (u32 i = 0; i < K; i++) out[i] = (i8)sat8(requant32(p[i], m, (u32)s));
    return EXIT_OK;
}
