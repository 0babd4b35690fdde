/* Batched Keccak-256 for Merkle trees of 32-byte nodes (SPEC §1).
 *
 * Why: a tree of n leaves needs n-1 keccaks of 64 bytes, and in Python each costs a C call plus
 * interpreter overhead (~1 us) that dwarfs the hash itself. Hashing a whole level, or a whole
 * tree, per call removes that. Written from the Keccak specification (FIPS 202 permutation with
 * the original 0x01 padding that Ethereum uses); tests compare it with pysha3 on random input.
 * Assumes a little-endian host, as the lanes are loaded with memcpy. */
#include <stdint.h>
#include <string.h>

static const uint64_t RC[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808AULL, 0x8000000080008000ULL,
    0x000000000000808BULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008AULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000AULL,
    0x000000008000808BULL, 0x800000000000008BULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800AULL, 0x800000008000000AULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};

/* Rotation offset of lane x + 5y. */
static const unsigned ROT[25] = {0,  1,  62, 28, 27, 36, 44, 6,  55, 20, 3,  10, 43,
                                 25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14};

static inline uint64_t rotl(uint64_t v, unsigned r) { return r ? (v << r) | (v >> (64 - r)) : v; }

/* Destination lane of lane i = x + 5y under pi: (y, 2x + 3y). */
static const unsigned PI[25] = {0, 10, 20, 5, 15, 16, 1, 11, 21, 6, 7, 17, 2,
                                12, 22, 23, 8, 18, 3, 13, 14, 24, 9, 19, 4};

static void keccak_f(uint64_t a[25]) {
    uint64_t b[25], c[5], d[5];
    for (int round = 0; round < 24; round++) {
#pragma GCC unroll 5
        for (int x = 0; x < 5; x++) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        d[0] = c[4] ^ rotl(c[1], 1);
        d[1] = c[0] ^ rotl(c[2], 1);
        d[2] = c[1] ^ rotl(c[3], 1);
        d[3] = c[2] ^ rotl(c[4], 1);
        d[4] = c[3] ^ rotl(c[0], 1);
        /* theta, then rho and pi in one pass */
#pragma GCC unroll 25
        for (int i = 0; i < 25; i++) b[PI[i]] = rotl(a[i] ^ d[i % 5], ROT[i]);
#pragma GCC unroll 5
        for (int y = 0; y < 25; y += 5) {
            a[y + 0] = b[y + 0] ^ (~b[y + 1] & b[y + 2]);
            a[y + 1] = b[y + 1] ^ (~b[y + 2] & b[y + 3]);
            a[y + 2] = b[y + 2] ^ (~b[y + 3] & b[y + 4]);
            a[y + 3] = b[y + 3] ^ (~b[y + 4] & b[y + 0]);
            a[y + 4] = b[y + 4] ^ (~b[y + 0] & b[y + 1]);
        }
        a[0] ^= RC[round];
    }
}

/* keccak256 of exactly 64 bytes: one block of the 136-byte rate. */
static void keccak64(const uint8_t in[64], uint8_t out[32]) {
    uint64_t a[25] = {0};
    memcpy(a, in, 64);
    a[8] ^= 0x01ULL;                /* padding starts right after the message ... */
    a[16] ^= 0x8000000000000000ULL; /* ... and ends on the rate's last byte */
    keccak_f(a);
    memcpy(out, a, 32);
}

/* out[i] = keccak256(in[64 i .. 64 i + 64)) for i < n. */
void opml_hash_pairs(const uint8_t *in, uint64_t n, uint8_t *out) {
    for (uint64_t i = 0; i < n; i++) keccak64(in + 64 * i, out + 32 * i);
}

/* Root of a tree of `leaves` (a power of two) 32-byte leaves in buf, hashed in place. */
void opml_tree_root(uint8_t *buf, uint64_t leaves, uint8_t out[32]) {
    for (uint64_t n = leaves; n > 1; n >>= 1)
        for (uint64_t j = 0; j < n / 2; j++) keccak64(buf + 64 * j, buf + 32 * j);
    memcpy(out, buf, 32);
}
