/* Op 1, embed (SPEC §3.2.1): h[i] = clamp24(requant(E[tok, i], m_tok, s_tok)).
 * Inputs: token i32[1], E i8[V, d], rq i32[V, 2]. Params: V, d. Output: i32[d]. */
#include "rt.h"

int main(void) {
    if (!header_ok(OP_EMBED)) return EXIT_BAD_HEADER;
    u32 V = param(0), d = param(1);
    if (V == 0 || d == 0) return EXIT_BAD_PARAM;
    u32 lens[3] = {4, mul_len(V, d), mul_len(V, 8)};
    int e = check_inputs(3, lens);
    if (e) return e;
    if ((e = check_output(mul_len(d, 4)))) return e;

    u32 tok = (u32)in_i32(0)[0];
    if (tok >= V) return EXIT_BAD_PARAM;
    const i32 *rq = in_i32(2) + 2 * tok;
    i32 m = rq[0], s = rq[1];
    if (!rq_ok(m, s)) return EXIT_BAD_PARAM;

    const i8 *row = in_i8(1) + tok * d;
    i32 *out = OUTPUT;
    for (u32 i = 0; i < d; i++) out[i] = clamp24(requant32(row[i], m, (u32)s));
    return EXIT_OK;
}
