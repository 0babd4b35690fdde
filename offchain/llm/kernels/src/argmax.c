/* Op 12, argmax (SPEC §3.2.12): the smallest n with z_n = max z. Input: z i32[n]. Params: n.
 * Output: i32[1]. */
#include "rt.h"

int main(void) {
    if (!header_ok(OP_ARGMAX)) return EXIT_BAD_HEADER;
    u32 n = param(0);
    if (n == 0) return EXIT_BAD_PARAM;
    u32 lens[1] = {mul_len(n, 4)};
    int e = check_inputs(1, lens);
    if (e) return e;
    if ((e = check_output(4))) return e;
    const i32 *z = in_i32(0);
    u32 best = 0;
    for (u32 i = 1; i < n; i++)
        if (z[i] > z[best]) best = i; /* strict: ties keep the lower index */
    *(i32 *)OUTPUT = (i32)best;
    return EXIT_OK;
}
