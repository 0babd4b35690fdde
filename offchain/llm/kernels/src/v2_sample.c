/* Op 26, v2_sample (SPEC §3v2.7; §4.7): the token at position pos from the logits z (int32 [V] at
 * 2^-16). Greedy (temp_milli = 0): the smallest id of the largest logit. Otherwise
 *   y_i = rdiv((max z - z_i)·1000, temp_milli), w_i = exp_neg(y_i) (2^-30);
 *   ids by weight descending, ties by id ascending; the shortest prefix with
 *   1000·W_k >= top_p_milli·Σw is kept; u = keccak256(seed u64 ‖ pos u32, big-endian) mod W_k;
 *   the token is the first kept id whose running sum exceeds u.
 * Inputs: z i32[V], exp2 i32[4096]. Params: V (1 <= V <= 2^17), temp_milli (< 2^20), top_p_milli (1..1000),
 * seed_hi, seed_lo. Data: exp2 >= 0 and exp2[0] >= 1 (the largest logit's weight, so Σw >= 1).
 * Output: the token, i32[1].
 *
 * Zero weights sort last and are never kept (the prefix ends once W_k = Σw), so only the
 * positive ones are ordered: a stable LSD radix sort on 2^30 - w (3 passes of 10 bits) over
 * ids taken in ascending order gives weight descending, then id ascending. */
#include "v2.h"

/* -- keccak256 (the Keccak-f[1600] permutation, rate 136 bytes, padding 0x01 .. 0x80) ---------- */

static const u64 RC[24] = {
    0x0000000000000001ull, 0x0000000000008082ull, 0x800000000000808Aull, 0x8000000080008000ull,
    0x000000000000808Bull, 0x0000000080000001ull, 0x8000000080008081ull, 0x8000000000008009ull,
    0x000000000000008Aull, 0x0000000000000088ull, 0x0000000080008009ull, 0x000000008000000Aull,
    0x000000008000808Bull, 0x800000000000008Bull, 0x8000000000008089ull, 0x8000000000008003ull,
    0x8000000000008002ull, 0x8000000000000080ull, 0x000000000000800Aull, 0x800000008000000Aull,
    0x8000000080008081ull, 0x8000000000008080ull, 0x0000000080000001ull, 0x8000000080008008ull};
/* rotation of lane x + 5y */
static const u8 ROT[25] = {0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14};

static u64 rotl(u64 v, u32 r) { return r ? shl64(v, r) | (v >> (64 - r)) : v; }

static void keccak_f(u64 *a) {
    u64 c[5], b[25];
    for (u32 round = 0; round < 24; round++) {
        for (u32 x = 0; x < 5; x++) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        for (u32 x = 0; x < 5; x++) {
            u64 d = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
            for (u32 y = 0; y < 25; y += 5) a[x + y] ^= d;
        }
        for (u32 x = 0; x < 5; x++)
            for (u32 y = 0; y < 5; y++) b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(a[x + 5 * y], ROT[x + 5 * y]);
        for (u32 y = 0; y < 25; y += 5)
            for (u32 x = 0; x < 5; x++) a[x + y] = b[x + y] ^ (~b[(x + 1) % 5 + y] & b[(x + 2) % 5 + y]);
        a[0] ^= RC[round];
    }
}

/* keccak256 of a message shorter than one block (136 bytes); lanes are little-endian. */
static void keccak256(const u8 *msg, u32 n, u8 *out) {
    u64 a[25];
    u8 blk[136];
    for (u32 i = 0; i < 25; i++) a[i] = 0;
    for (u32 i = 0; i < 136; i++) blk[i] = i < n ? msg[i] : 0;
    blk[n] ^= 0x01;
    blk[135] ^= 0x80;
    for (u32 i = 0; i < 17; i++) {
        u64 lane = 0;
        for (u32 k = 0; k < 8; k++) lane |= shl64(blk[8 * i + k], 8 * k);
        a[i] ^= lane;
    }
    keccak_f(a);
    for (u32 i = 0; i < 32; i++) out[i] = (u8)(a[i / 8] >> (8 * (i % 8)));
}

/* The 256-bit big-endian r mod m, 1 <= m < 2^47 (V <= 2^17 weights of at most 2^30), 16 bits at a
 * time so that rem·2^16 stays below 2^63. */
static u64 mod256(const u8 *r, u64 m) {
    u64 rem = 0;
    for (u32 i = 0; i < 32; i += 2) rem = (shl64(rem, 16) | ((u32)r[i] << 8) | r[i + 1]) % m;
    return rem;
}

int main(void) {
    if (!header_ok(OP_V2_SAMPLE)) return EXIT_BAD_HEADER;
    u32 V = param(0), temp = param(1), top_p = param(2), p = pos();
    if (V == 0 || V > (1u << 17) || temp >= (1u << 20) || top_p == 0 || top_p > 1000) return EXIT_BAD_PARAM;
    u32 lens[2] = {mul_len(V, 4), 4 * EXP2_N};
    int e = check_inputs(2, lens);
    if (e) return e;
    if ((e = check_output(4))) return e;
    const i32 *table = in_i32(1);
    if (!exp2_ok(table, 1)) return EXIT_BAD_PARAM;

    const i32 *z = in_i32(0);
    u32 best = 0;
    for (u32 i = 1; i < V; i++)
        if (z[i] > z[best]) best = i; /* strict: ties keep the lower id */
    if (temp == 0) {
        *(i32 *)OUTPUT = (i32)best;
        return EXIT_OK;
    }

    /* Weights of the ids, in ascending id order, positive ones only: ids a[], keys k[]. */
    u32 *ids = STAGE, *ids2 = ids + V, *key = ids2 + V, *key2 = key + V, *w = key2 + V, cnt[1024];
    i64 mx = z[best];
    u64 total = 0;
    u32 P = 0;
    for (u32 i = 0; i < V; i++) {
        u64 x = (u64)(mx - z[i]); /* 0 .. 2^32 - 1 */
        /* y = floor((2000x + t) / 2t): the numerator is below 2^43 and 2t below 2^21, so two
         * 32-bit divisions (the high 32 bits of 43, then the remainder with the low 11) replace
         * a libgcc 64-bit one. */
        u64 num = 2000 * x + temp;
        u32 den = 2 * temp, hi = (u32)(num >> 11), q1 = hi / den, r1 = hi - q1 * den;
        u32 q0 = ((r1 << 11) | ((u32)num & 2047)) / den;
        u64 y = ((u64)q1 << 11) + q0;
        i64 wi = exp_neg((i64)y, table);
        if (wi > 0) {
            ids[P] = i, key[P] = (1u << 30) - (u32)wi, w[i] = (u32)wi, P++; /* 1 <= w <= 2^30 */
            total += (u64)wi;
        }
    }
    for (u32 shift = 0; shift < 30; shift += 10) { /* stable LSD radix sort of the 30-bit keys */
        for (u32 b = 0; b < 1024; b++) cnt[b] = 0;
        for (u32 i = 0; i < P; i++) cnt[(key[i] >> shift) & 1023]++;
        for (u32 b = 0, s = 0; b < 1024; b++) {
            u32 c = cnt[b];
            cnt[b] = s, s += c;
        }
        for (u32 i = 0; i < P; i++) {
            u32 d = cnt[(key[i] >> shift) & 1023]++;
            ids2[d] = ids[i], key2[d] = key[i];
        }
        u32 *t = ids;
        ids = ids2, ids2 = t;
        t = key, key = key2, key2 = t;
    }
    u64 cum = 0;
    u32 keep = 0;
    while (keep < P) {
        cum += w[ids[keep++]];
        if (cum * 1000 >= (u64)top_p * total) break;
    }
    u8 msg[12], r[32];
    u32 seed_hi = param(3), seed_lo = param(4);
    for (u32 i = 0; i < 4; i++) {
        msg[i] = (u8)(seed_hi >> (24 - 8 * i));
        msg[4 + i] = (u8)(seed_lo >> (24 - 8 * i));
        msg[8 + i] = (u8)(p >> (24 - 8 * i));
    }
    keccak256(msg, 12, r);
    u64 u = mod256(r, cum), run = 0;
    u32 tok = ids[keep - 1];
    for (u32 i = 0; i < keep; i++) {
        run += w[ids[i]];
        if (run > u) {
            tok = ids[i];
            break;
        }
    }
    *(i32 *)OUTPUT = (i32)tok;
    return EXIT_OK;
}
