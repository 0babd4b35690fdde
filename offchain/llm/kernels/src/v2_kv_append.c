/* Op 27, v2_kv_append (SPEC §3v2.3 item 6; §4.7): a layer's int32 KV cache gains row pos.
 * The cache a spec v2 trace commits holds rows 0 .. pos only (i32[pos + 1, G, hd]), so the node
 * is in place and growing: input 0 is the cache one position earlier (i32[pos, G, hd]; at
 * pos = 0 the zero tensor of one row, which a PREV_TOKEN reference gives), input 1 the new row
 * i32[G·hd]; the row is written at byte 4·G·hd·pos of input 0's own region (2), which then holds
 * exactly the pos + 1 rows zero-padded: region 2 is the output (SPEC §4.3), region 8 stays empty.
 * Params: S, G, hd (pos < S). Moving bytes only, the kernel never reads the values. */
#include "v2.h"

int main(void) {
    if (!header_ok(OP_V2_KV_APPEND)) return EXIT_BAD_HEADER;
    u32 S = param(0), G = param(1), hd = param(2), p = pos();
    if (S == 0 || G == 0 || hd == 0 || p >= S) return EXIT_BAD_PARAM;
    u32 row = mul_len(mul_len(G, hd), 4);
    u32 lens[2] = {mul_len(row, p ? p : 1), row};
    int e = check_inputs(2, lens);
    if (e) return e;
    if ((e = check_output(mul_len(row, p + 1)))) return e;
    copy_bytes((u8 *)INPUT(0) + p * row, INPUT(1), row);
    return EXIT_OK;
}
