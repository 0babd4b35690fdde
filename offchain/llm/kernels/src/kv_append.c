/* Op 5, KV cache append (SPEC §3.2.5): the output is the whole cache i8[S, G, hd] with row pos
 * replaced by the new row. Inputs: cache i8[S, G, hd] (the zero tensor at pos 0), row i8[G·hd].
 * Params: S, G, hd; pos < S. */
#include "rt.h"

int main(void) {
    if (!header_ok(OP_KV_APPEND)) return EXIT_BAD_HEADER;
    u32 S = param(0), G = param(1), hd = param(2), p = pos();
    if (S == 0 || G == 0 || hd == 0 || p >= S) return EXIT_BAD_PARAM;
    u32 row = mul_len(G, hd), total = mul_len(S, row);
    u32 lens[2] = {total, row};
    int e = check_inputs(2, lens);
    if (e) return e;
    if ((e = check_output(total))) return e;

    u8 *out = OUTPUT;
    const u8 *cache = in_u8(0), *r = in_u8(1);
    u32 at = p * row;
    copy_bytes(out, cache, at);
    for (u32 i = 0; i < row; i++) out[at + i] = r[i];
    u32 after = at + row;
    for (u32 i = after; i < total && (i & 3); i++) out[i] = cache[i]; /* realign, then words */
    u32 start = (after + 3) & ~3u;
    if (start < total) copy_bytes(out + start, cache + start, total - start);
    return EXIT_OK;
}
