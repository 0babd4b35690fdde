/* Batched Keccak-256 for Merkle trees of 32-byte nodes (SPEC §1).
 *
 * Why: a tree of n leaves needs n-1 keccaks of 64 bytes, and in Python each costs a C call plus
 * interpreter overhead (~1 us) that dwarfs the hash itself. Hashing a whole level, or a whole
 * tree, per call removes that. Written from the Keccak specification (FIPS 202 permutation with
 * the original 0x01 padding that Ethereum uses); tests compare it with pysha3 on random input.
 * Assumes a little-endian host, as the lanes are loaded with memcpy. */
#include <stdint.h>
#include <stdlib.h>
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

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define OPML_X4 1

__attribute__((target("avx2"))) static inline __m256i rotl4(__m256i v, unsigned r) {
    return r ? _mm256_or_si256(_mm256_slli_epi64(v, (int)r), _mm256_srli_epi64(v, (int)(64 - r))) : v;
}

/* keccak256 of four consecutive 64-byte messages at once, one per 64-bit lane of each AVX2
 * register: the same permutation as keccak_f, four times the work per instruction. All inputs
 * are read before any output is written, so out may overlap in (tree levels hashed in place). */
__attribute__((target("avx2"))) static void keccak64_x4(const uint8_t *in, uint8_t *out) {
    __m256i a[25], b[25], c[5], d[5];
    uint64_t w[4][8];
    memcpy(w, in, 256);
    for (int i = 0; i < 8; i++) a[i] = _mm256_set_epi64x((long long)w[3][i], (long long)w[2][i], (long long)w[1][i],
                                                         (long long)w[0][i]);
    for (int i = 8; i < 25; i++) a[i] = _mm256_setzero_si256();
    a[8] = _mm256_set1_epi64x(0x01);
    a[16] = _mm256_set1_epi64x((long long)0x8000000000000000ULL);
    for (int round = 0; round < 24; round++) {
#pragma GCC unroll 5
        for (int x = 0; x < 5; x++)
            c[x] = _mm256_xor_si256(_mm256_xor_si256(_mm256_xor_si256(a[x], a[x + 5]), _mm256_xor_si256(a[x + 10], a[x + 15])),
                                    a[x + 20]);
#pragma GCC unroll 5
        for (int x = 0; x < 5; x++) d[x] = _mm256_xor_si256(c[(x + 4) % 5], rotl4(c[(x + 1) % 5], 1));
#pragma GCC unroll 25
        for (int i = 0; i < 25; i++) b[PI[i]] = rotl4(_mm256_xor_si256(a[i], d[i % 5]), ROT[i]);
#pragma GCC unroll 5
        for (int y = 0; y < 25; y += 5)
#pragma GCC unroll 5
            for (int x = 0; x < 5; x++)
                a[y + x] = _mm256_xor_si256(b[y + x], _mm256_andnot_si256(b[y + (x + 1) % 5], b[y + (x + 2) % 5]));
        a[0] = _mm256_xor_si256(a[0], _mm256_set1_epi64x((long long)RC[round]));
    }
    uint64_t o[4][4];
    for (int i = 0; i < 4; i++) {
        uint64_t lane[4];
        memcpy(lane, &a[i], 32);
        for (int k = 0; k < 4; k++) o[k][i] = lane[k];
    }
    memcpy(out, o, 128);
}

/* The same for eight messages, one per lane of an AVX-512 register: rotations are one
 * instruction (vprolvq) and chi's a ^ (~b & c) and theta's five-way xor are ternary logic. */
__attribute__((target("avx512f"))) static void keccak64_x8(const uint8_t *in, uint8_t *out) {
    __m512i a[25], b[25], c[5], d[5];
    const __m512i idx = _mm512_set_epi64(56, 48, 40, 32, 24, 16, 8, 0); /* word i of message k at 8k + i */
    for (int i = 0; i < 8; i++)
        a[i] = _mm512_i64gather_epi64(_mm512_add_epi64(idx, _mm512_set1_epi64(i)), (const void *)in, 8);
    for (int i = 8; i < 25; i++) a[i] = _mm512_setzero_si512();
    a[8] = _mm512_set1_epi64(0x01);
    a[16] = _mm512_set1_epi64((long long)0x8000000000000000ULL);
    for (int round = 0; round < 24; round++) {
#pragma GCC unroll 5
        for (int x = 0; x < 5; x++)
            c[x] = _mm512_ternarylogic_epi64(_mm512_ternarylogic_epi64(a[x], a[x + 5], a[x + 10], 0x96), a[x + 15],
                                             a[x + 20], 0x96);
#pragma GCC unroll 5
        for (int x = 0; x < 5; x++)
            d[x] = _mm512_xor_si512(c[(x + 4) % 5], _mm512_rolv_epi64(c[(x + 1) % 5], _mm512_set1_epi64(1)));
#pragma GCC unroll 25
        for (int i = 0; i < 25; i++)
            b[PI[i]] = _mm512_rolv_epi64(_mm512_xor_si512(a[i], d[i % 5]), _mm512_set1_epi64(ROT[i]));
#pragma GCC unroll 5
        for (int y = 0; y < 25; y += 5)
#pragma GCC unroll 5
            for (int x = 0; x < 5; x++)
                a[y + x] = _mm512_ternarylogic_epi64(b[y + x], b[y + (x + 1) % 5], b[y + (x + 2) % 5], 0xD2);
        a[0] = _mm512_xor_si512(a[0], _mm512_set1_epi64((long long)RC[round]));
    }
    uint64_t o[8][4];
    for (int i = 0; i < 4; i++) {
        uint64_t lane[8];
        _mm512_storeu_si512((void *)lane, a[i]);
        for (int k = 0; k < 8; k++) o[k][i] = lane[k];
    }
    memcpy(out, o, 256); /* every input was read above: out may overlap in */
}
#endif

static int have_x4, have_x8;

/* out[32 j ..] = keccak256(in[64 j .. 64 j + 64)) for j < count; out may be in (in place). */
static void hash_run(const uint8_t *in, uint64_t count, uint8_t *out) {
    uint64_t j = 0;
#ifdef OPML_X4
    if (have_x8)
        for (; j + 8 <= count; j += 8) keccak64_x8(in + 64 * j, out + 32 * j);
    if (have_x4)
        for (; j + 4 <= count; j += 4) keccak64_x4(in + 64 * j, out + 32 * j);
#endif
    for (; j < count; j++) keccak64(in + 64 * j, out + 32 * j);
}

/* out[i] = keccak256(in[64 i .. 64 i + 64)) for i < n. */
void opml_hash_pairs(const uint8_t *in, uint64_t n, uint8_t *out) { hash_run(in, n, out); }

/* Root of a tree of `leaves` (a power of two) 32-byte leaves in buf, hashed in place. */
void opml_tree_root(uint8_t *buf, uint64_t leaves, uint8_t out[32]) {
    for (uint64_t n = leaves; n > 1; n >>= 1) hash_run(buf, n / 2, buf);
    memcpy(out, buf, 32);
}

/* ---- Tensor roots of many integer arrays per call (the phase-2 trace, SPEC §1.1, §5) ----
 *
 * Why: a token of the per-token graph emits ~70 node outputs. Encoding each to canonical bytes
 * in numpy and hashing it through one ctypes call apiece cost more than the inference itself;
 * here one call encodes and hashes them all, and keeps the saved trees of nodes that change a
 * little per token (a KV cache gains one row), rehashing only the paths above changed leaves. */

/* One node: the canonical bytes of an array of `nbytes` bytes of host-order integers of
 * `itemsize` bytes (stored big-endian), of which only the first `keep` are kept (the rest read as
 * zero: a tile's prefix), zero-padded to `leaves` (a power of two) 32-byte leaves. All fields are
 * 64-bit so that Python can pass a plain uint64 array of rows. */
struct opml_node {
    uint64_t src;      /* address of the array */
    uint64_t nbytes;
    uint64_t keep;
    uint64_t itemsize; /* 1, 2, 4 or 8 */
    uint64_t leaves;
    uint64_t levels;   /* 0, or the address of this node's saved tree: 2·leaves − 1 nodes of 32 bytes */
    uint64_t valid;    /* 1 if the saved tree holds the previous call's bytes (same leaves) */
    uint64_t base;     /* 0, or 1 + the index of a node of the same batch over the same array, with
                          a saved tree: this node is a prefix of it (a matmul tile, SPEC §4.6) */
};

/* Leaf `i` of a node's canonical, prefix-kept, zero-padded bytes. */
static void encode_leaf(const struct opml_node *nd, uint64_t i, uint8_t dst[32]) {
    const uint8_t *src = (const uint8_t *)(uintptr_t)nd->src;
    uint64_t lim = nd->keep < nd->nbytes ? nd->keep : nd->nbytes, o = 32 * i, s = nd->itemsize;
    if (o + 32 <= lim) { /* whole leaf inside the kept bytes; leaves start on item boundaries */
        if (s == 1) {
            memcpy(dst, src + o, 32);
        } else if (s == 4) {
            uint32_t v[8];
            memcpy(v, src + o, 32);
            for (int j = 0; j < 8; j++) v[j] = __builtin_bswap32(v[j]);
            memcpy(dst, v, 32);
        } else if (s == 8) {
            uint64_t v[4];
            memcpy(v, src + o, 32);
            for (int j = 0; j < 4; j++) v[j] = __builtin_bswap64(v[j]);
            memcpy(dst, v, 32);
        } else {
            for (uint64_t b = 0; b < 32; b++) dst[b] = src[(o + b) / s * s + (s - 1 - (o + b) % s)];
        }
        return;
    }
    for (uint64_t b = 0; b < 32; b++) {
        uint64_t p = o + b;
        dst[b] = p < lim ? src[p / s * s + (s - 1 - p % s)] : 0;
    }
}

/* Z[h]: root of an all-zero subtree of height h (the padding of a tensor is never hashed). */
static uint8_t Z[40][32];

__attribute__((constructor)) static void init_zero_roots(void) {
#ifdef OPML_X4
    __builtin_cpu_init(); /* required before __builtin_cpu_supports in a constructor */
    have_x4 = __builtin_cpu_supports("avx2");
    have_x8 = __builtin_cpu_supports("avx512f") && !getenv("OPML_NO_AVX512"); /* the env: tests cover x4 too */
#endif
    for (int h = 0; h + 1 < 40; h++) {
        uint8_t pair[64];
        memcpy(pair, Z[h], 32);
        memcpy(pair + 32, Z[h], 32);
        keccak64(pair, Z[h + 1]);
    }
}

/* Non-zero-capable leaves of a node: those holding any of its first min(keep, nbytes) bytes. */
static uint64_t live_leaves(const struct opml_node *nd) {
    uint64_t lim = nd->keep < nd->nbytes ? nd->keep : nd->nbytes;
    return (lim + 31) / 32;
}

/* Root of `leaves` leaves at buf, of which only the first nz may be non-zero (those are written;
 * the rest need not be), hashed in place: zero subtrees take their root from Z. */
static void sparse_root(uint8_t *buf, uint64_t leaves, uint64_t nz, uint8_t out[32]) {
    unsigned h = 0;
    for (uint64_t n = leaves; n > 1 && nz; n >>= 1, h++) {
        if (nz & 1) memcpy(buf + 32 * nz++, Z[h], 32); /* nz < n here, as n is even */
        hash_run(buf, nz / 2, buf);
        nz /= 2;
    }
    while ((1ULL << h) < leaves) h++;
    memcpy(out, nz ? buf : Z[h], 32);
}

/* Levels 1.. of a saved tree whose level 0 (n leaves) starts at lv, levels stored one after
 * another. With `dirty` (one flag per leaf, reused level by level) only flagged paths are
 * rehashed; without it all, with nodes wholly in the zero padding (index >= nz) copied from Z. */
static void hash_levels(uint8_t *lv, uint64_t n, uint64_t nz, uint8_t *dirty) {
    for (unsigned h = 1; n > 1; n >>= 1, h++) {
        uint8_t *up = lv + 32 * n;
        nz = (nz + 1) / 2;
        if (dirty) {
            for (uint64_t j = 0; j < n / 2; j++) dirty[j] = dirty[2 * j] | dirty[2 * j + 1];
            /* runs of dirty pairs go through hash_run, four keccaks at a time where the CPU can: a
             * node whose every leaf changed (a fresh activation under its saved tree) costs what a
             * rebuild does, not four times that */
            for (uint64_t j = 0; j < n / 2;) {
                if (!dirty[j]) {
                    j++;
                    continue;
                }
                uint64_t start = j;
                while (j < n / 2 && dirty[j]) j++;
                hash_run(lv + 64 * start, j - start, up + 32 * start);
            }
        } else {
            uint64_t live = nz < n / 2 ? nz : n / 2;
            hash_run(lv, live, up);
            for (uint64_t j = live; j < n / 2; j++) memcpy(up + 32 * j, Z[h], 32);
        }
        lv = up;
    }
}

/* One node, hashed from its bytes: into its saved tree if it has one, else in scratch. */
static void node_root(struct opml_node *nd, uint8_t *scratch, uint8_t out[32]) {
    uint64_t leaves = nd->leaves, nz = live_leaves(nd);
    if (nz > leaves) nz = leaves;
    uint8_t *lv = (uint8_t *)(uintptr_t)nd->levels;
    if (!lv) {
        for (uint64_t j = 0; j < nz; j++) encode_leaf(nd, j, scratch + 32 * j);
        sparse_root(scratch, leaves, nz, out);
        return;
    }
    if (nd->valid) {
        uint8_t leaf[32];
        for (uint64_t j = 0; j < leaves; j++) {
            if (j < nz) encode_leaf(nd, j, leaf);
            else memset(leaf, 0, 32);
            scratch[j] = memcmp(leaf, lv + 32 * j, 32) != 0;
            if (scratch[j]) memcpy(lv + 32 * j, leaf, 32);
        }
        hash_levels(lv, leaves, nz, scratch);
    } else {
        for (uint64_t j = 0; j < leaves; j++) {
            if (j < nz) encode_leaf(nd, j, lv + 32 * j);
            else memset(lv + 32 * j, 0, 32);
        }
        hash_levels(lv, leaves, nz, 0);
        nd->valid = 1;
    }
    memcpy(out, lv + 32 * (2 * leaves - 2), 32);
}

/* Root of the first min(keep, nbytes) bytes of a node whose whole tree `full` (saved levels, same
 * bytes) is built: a node wholly inside the kept bytes is the full tree's, one wholly past them is
 * a zero root, so only the path above the boundary leaf is hashed (log2(leaves) hashes, not
 * leaves). Tiles of a matmul output are such prefixes, thousands per token on the 7B shape. */
static void prefix_root(const struct opml_node *nd, const uint8_t *full, uint8_t out[32]) {
    uint64_t leaves = nd->leaves, lim = nd->keep < nd->nbytes ? nd->keep : nd->nbytes, b = lim / 32;
    if (b >= leaves) { /* everything kept */
        memcpy(out, full + 32 * (2 * leaves - 2), 32);
        return;
    }
    uint8_t pair[64], cur[32];
    if (lim % 32) encode_leaf(nd, b, cur); /* the boundary leaf, cut at `keep` */
    else memcpy(cur, Z[0], 32);
    const uint8_t *lv = full;
    unsigned h = 0;
    for (uint64_t n = leaves; n > 1; n >>= 1, h++, b >>= 1) {
        if (b & 1) { /* the left sibling lies wholly inside the kept bytes */
            memcpy(pair, lv + 32 * (b - 1), 32);
            memcpy(pair + 32, cur, 32);
        } else { /* the right sibling lies wholly past them */
            memcpy(pair, cur, 32);
            memcpy(pair + 32, Z[h], 32);
        }
        keccak64(pair, cur);
        lv += 32 * n;
    }
    memcpy(out, cur, 32);
}

/* out[32 i ..] = tensor root of node i, for i < n. `scratch` holds at least 32·leaves bytes of
 * the largest node. A node with a saved tree updates it (and sets valid); prefix nodes (base)
 * are done after every other node, from their base's fresh tree. */
void opml_node_roots(uint64_t n, struct opml_node *nodes, uint8_t *scratch, uint8_t *out) {
    for (uint64_t i = 0; i < n; i++)
        if (!nodes[i].base) node_root(&nodes[i], scratch, out + 32 * i);
    for (uint64_t i = 0; i < n; i++) {
        struct opml_node *nd = &nodes[i];
        if (!nd->base) continue;
        const struct opml_node *full = &nodes[nd->base - 1];
        if (full->levels && !full->base && full->keep >= full->nbytes && full->leaves == nd->leaves &&
            full->src == nd->src && full->nbytes == nd->nbytes && full->itemsize == nd->itemsize)
            prefix_root(nd, (const uint8_t *)(uintptr_t)full->levels, out + 32 * i);
        else
            node_root(nd, scratch, out + 32 * i);
    }
}

/* ---- The same, on a background thread that needs no GIL ----
 *
 * Why: a submitter hashes token t's node outputs while the runner computes token t + 1, on the
 * machine's other core. A Python thread around the ctypes call would have to take the GIL back
 * after every batch, and on a busy machine the hand-offs cost more than the overlap saves. Jobs
 * run one at a time in submission order (saved trees see their updates in order); the caller
 * keeps every buffer alive until opml_node_roots_wait returns for its ticket. */
#include <pthread.h>
#include <stdlib.h>

struct job {
    uint64_t n;
    struct opml_node *nodes;
    uint8_t *scratch, *out;
    struct job *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cv = PTHREAD_COND_INITIALIZER, done_cv = PTHREAD_COND_INITIALIZER;
static struct job *head, *tail;
static uint64_t submitted, finished;
static int running;

static void *worker(void *unused) {
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&mu);
        while (!head) pthread_cond_wait(&work_cv, &mu);
        struct job *j = head;
        head = j->next;
        if (!head) tail = 0;
        pthread_mutex_unlock(&mu);
        opml_node_roots(j->n, j->nodes, j->scratch, j->out);
        free(j);
        pthread_mutex_lock(&mu);
        finished++;
        pthread_cond_broadcast(&done_cv);
        pthread_mutex_unlock(&mu);
    }
    return 0;
}

/* A forked child has no worker thread: it starts its own on first use. */
static void after_fork_child(void) {
    pthread_mutex_init(&mu, 0);
    pthread_cond_init(&work_cv, 0);
    pthread_cond_init(&done_cv, 0);
    head = tail = 0;
    submitted = finished = 0;
    running = 0;
}

/* Queue a batch; returns its ticket (> 0), or 0 if no thread could be started (run it inline). */
uint64_t opml_node_roots_submit(uint64_t n, struct opml_node *nodes, uint8_t *scratch, uint8_t *out) {
    struct job *j = malloc(sizeof *j);
    if (!j) return 0;
    *j = (struct job){n, nodes, scratch, out, 0};
    pthread_mutex_lock(&mu);
    if (!running) {
        static int registered;
        pthread_t t;
        if (!registered) registered = pthread_atfork(0, 0, after_fork_child) == 0;
        if (pthread_create(&t, 0, worker, 0) != 0) {
            pthread_mutex_unlock(&mu);
            free(j);
            return 0;
        }
        pthread_detach(t);
        running = 1;
    }
    if (tail) tail->next = j;
    else head = j;
    tail = j;
    uint64_t ticket = ++submitted;
    pthread_cond_signal(&work_cv);
    pthread_mutex_unlock(&mu);
    return ticket;
}

/* Block until the batch with this ticket (and every earlier one) has been hashed. */
void opml_node_roots_wait(uint64_t ticket) {
    pthread_mutex_lock(&mu);
    while (finished < ticket) pthread_cond_wait(&done_cv, &mu);
    pthread_mutex_unlock(&mu);
}
