/* Op 20, v2_embed (SPEC §3v2.3 item 3; §4.7): the residual (int64 [d] at 2^-24) of one token,
 * its row of the file's embedding blocks dequantized exactly: shift_round(dm·q_j, de + 24)
 * (+ shift_round(mm, me + 24) for Q4_1). Every fp16 is a multiple of 2^-24, so de + 24 >= 0
 * and nothing rounds. Inputs: token i32[1], E (the file's bytes, V rows of d/32 blocks).
 * Params: type (ggml id: 8 Q8_0, 2 Q4_0, 3 Q4_1), V, d (d % 32 = 0, 32 <= d < 2^17). */
#include "v2.h"

int main(void) {
    if (!header_ok(OP_V2_EMBED)) return EXIT_BAD_HEADER;
    u32 type = param(0), V = param(1), d = param(2), bb = block_bytes(type);
    if (bb == 0 || V == 0 || d == 0 || d % QK || d >= (1u << 17)) return EXIT_BAD_PARAM;
    u32 stride = d / QK * bb;
    u32 lens[2] = {4, mul_len(V, stride)};
    int e = check_inputs(2, lens);
    if (e) return e;
    if ((e = check_output(8 * d))) return e;
    u32 tok = *(const u32 *)INPUT(0);
    if (tok >= V) return EXIT_BAD_PARAM;

    i64 *y = STAGE;
    u32 bad = 0;
    const u8 *blk = in_u8(1) + tok * stride;
    for (u32 b = 0; b < d / QK; b++, blk += bb) {
        i32 dm, de, mm = 0, me = 0;
        fp16_me(blk, &dm, &de, &bad);
        i64 *yb = y + b * QK;
        if (type == GGML_Q8_0) {
            const i8 *w = (const i8 *)(blk + 2);
            for (u32 i = 0; i < QK; i++) yb[i] = shift_round((i64)(dm * w[i]), de + 24);
        } else {
            i32 off = type == GGML_Q4_0 ? 8 : 0;
            const u8 *nb = blk + (type == GGML_Q4_1 ? 4 : 2);
            i64 base = 0;
            if (type == GGML_Q4_1) {
                fp16_me(blk + 2, &mm, &me, &bad);
                base = shift_round(mm, me + 24);
            }
            for (u32 i = 0; i < 16; i++) {
                yb[i] = shift_round((i64)(dm * ((i32)(nb[i] & 15) - off)), de + 24) + base;
                yb[i + 16] = shift_round((i64)(dm * ((i32)(nb[i] >> 4) - off)), de + 24) + base;
            }
        }
    }
    if (bad) return EXIT_BAD_PARAM; /* an infinite or NaN block scale */
    copy_bytes(OUTPUT, y, 8 * d);
    return EXIT_OK;
}
