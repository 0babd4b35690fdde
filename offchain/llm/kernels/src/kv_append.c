/* Op 5, KV cache append (SPEC §3.2.5): the output is the whole cache i8[S, G, hd] with row pos
 * replaced by the new row. Inputs: cache i8[S, G, hd] (the zero tensor at pos 0), row i8[G·hd].
 * Params: S, G, hd; pos < S; optionally in_place (word 3): 1 writes the row into the input cache's
 * own region (2) and nothing into region 8, so the node's output is region 2 (SPEC §4.3): a
 * 7B-sized cache is then updated in ~G·hd steps instead of copied in ~1.3 steps per byte. */
#include "rt.h"

int main(void) {
    if (!header_ok(OP_KV_APPEND)) return EXIT_BAD_HEADER;
    u32 S = param(0), G = param(1), hd = param(2), in_place = param(3), p = pos();
    if (S == 0 || G == 0 || hd == 0 || p >= S || in_place > 1) return EXIT_BAD_PARAM;
    u32 row = mul_len(G, hd), total = mul_len(S, row);
    u32 lens[2] = {total, row};
    int e = check_inputs(2, lens);
    if (e) return e;
    if ((e = check_output(total))) return e;

    const u8 *cache = in_u8(0), *r = in_u8(1);
    u32 at = p * row;
    if (in_place) {
        u8 *own = (u8 *)INPUT(0);
        for (u32 i = 0; i < row; i++) own[at + i] = r[i];
        return EXIT_OK;
    }
    u8 *out = OUTPUT;
    copy_bytes(out, cache, at);
    for (u32 i = 0; i < row; i++) out[at + i] = r[i];
    u32 after = at + row;
    for (u32 i = after; i < total && (i & 3); i++) out[i] = cache[i]; /* realign, then words */
    u32 start = (after + 3) & ~3u;
    if (start < total) copy_bytes(out + start, cache + start, total - start);
    return EXIT_OK;
}
