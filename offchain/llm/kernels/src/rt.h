/* Shared runtime of the op kernels (SPEC §4): the node ABI, header checks and the integer
 * primitives of SPEC §3.1. Freestanding: no libc, no floats; 64-bit division comes from libgcc.
 *
 * Overflow convention: where the spec's bounds guarantee no overflow we still compute through
 * unsigned types, so that out-of-bound inputs wrap exactly like numpy's int64/int32 (defined
 * behaviour in C, identical bytes) instead of being undefined. */
#ifndef KERNEL_RT_H
#define KERNEL_RT_H

typedef unsigned char u8;
typedef signed char i8;
typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;
typedef long long i64;

/* Region bases (SPEC §4.1). */
#define HEADER ((const volatile u32 *)0x10000000u)
#define INPUT(i) ((const void *)(0x20000000u + ((u32)(i) << 28)))
#define OUTPUT ((void *)0x80000000u)
/* Working memory of the kernels: region 0 between the program image (< 0x01000000) and the
 * stack (grows down from 0x0FFFFFF0). Not the heap regions 9..15: on unicorn's MIPS, regions 8..11
 * are kseg0/kseg1, which fold onto low physical memory, so the fast-forward leaves every access
 * there to the exact stepper; region 0 runs natively. The output is written once, at the end. */
#define STAGE ((void *)0x01000000u)
#define STAGE_BYTES 0x0A000000u /* 160 MiB, leaving 48 MiB of stack */
#define REGION_BYTES (1u << 28)

/* Header words (SPEC §4.2). */
#define H_VERSION 0
#define H_OP 1
#define H_POS 2
#define H_NIN 3
#define H_INLEN(i) (4 + (i))
#define H_OUTLEN 10
#define H_PARAM(i) (16 + (i))
#define ABI_VERSION 1
#define MAX_INPUTS 6

/* Exit codes (SPEC §4.3). */
#define EXIT_OK 0
#define EXIT_BAD_HEADER 1
#define EXIT_BAD_INPUT_LENGTH 2
#define EXIT_BAD_OUTPUT_LENGTH 3
#define EXIT_BAD_PARAM 4

/* Op ids (SPEC §4.6); registry.py holds the same numbers. */
#define OP_EMBED 1
#define OP_RMSNORM 2
#define OP_LINEAR 3
#define OP_ROPE 4
#define OP_KV_APPEND 5
#define OP_SCORES 6
#define OP_SOFTMAX 7
#define OP_ATTN_VALUES 8
#define OP_SWIGLU 10
#define OP_ARGMAX 12
#define OP_MLP_INPUT 13
#define OP_MLP_FULL 14

static inline u32 hdr(u32 word) { return HEADER[word]; }
static inline u32 param(u32 i) { return HEADER[H_PARAM(i)]; }
static inline u32 pos(void) { return HEADER[H_POS]; }

/* Version, op id and the reserved words 11..15 (exit code 1 when wrong). */
static inline int header_ok(u32 op) {
    if (hdr(H_VERSION) != ABI_VERSION || hdr(H_OP) != op) return 0;
    for (u32 w = 11; w < 16; w++)
        if (hdr(w)) return 0;
    return 1;
}

/* a·b for byte lengths, saturated just above a region so that no product of u32 shape
 * parameters can wrap around and match a header length by accident. */
#define LEN_CAP (REGION_BYTES + 1u)
static inline u32 mul_len(u32 a, u32 b) {
    u64 p = (u64)a * b;
    return p > LEN_CAP ? LEN_CAP : (u32)p;
}

/* The input count, then each input's byte length (unused slots must be 0); 0 when all match. */
static inline int check_inputs(u32 n, const u32 *expected) {
    if (hdr(H_NIN) != n) return EXIT_BAD_HEADER;
    for (u32 i = 0; i < MAX_INPUTS; i++)
        if (hdr(H_INLEN(i)) != (i < n ? expected[i] : 0)) return EXIT_BAD_INPUT_LENGTH;
    return EXIT_OK;
}

static inline int check_output(u32 expected) {
    return hdr(H_OUTLEN) == expected ? EXIT_OK : EXIT_BAD_OUTPUT_LENGTH;
}

/* Canonical tensors are big-endian, the VM's own order, so int32 tensors are plain arrays. */
static inline const i8 *in_i8(u32 i) { return (const i8 *)INPUT(i); }
static inline const u8 *in_u8(u32 i) { return (const u8 *)INPUT(i); }
static inline const i32 *in_i32(u32 i) { return (const i32 *)INPUT(i); }

/* -- SPEC §3.1 primitives -------------------------------------------------------------------- */

static inline i32 sat8(i64 x) { return x > 127 ? 127 : x < -128 ? -128 : (i32)x; }

#define RES_LIMIT ((1 << 24) - 1)
static inline i32 clamp24(i64 x) { return x > RES_LIMIT ? RES_LIMIT : x < -RES_LIMIT ? -RES_LIMIT : (i32)x; }

static inline i32 clamp32(i64 x) {
    return x > 0x7fffffffLL ? 0x7fffffff : x < -0x80000000LL ? (i32)0x80000000u : (i32)x;
}

/* A requant pair the loader would accept: m >= 0, 1 <= s <= 62. */
static inline int rq_ok(i32 m, i32 s) { return m >= 0 && s >= 1 && s <= 62; }

/* 2^k for 0 <= k <= 63, and v >> s (arithmetic) for 0 <= s <= 63, on 32-bit halves: gcc would
 * call libgcc's __ashldi3/__ashrdi3 for a variable 64-bit shift, about twice the steps. */
static inline u64 pow2_64(u32 k) { return k >= 32 ? (u64)(1u << (k - 32)) << 32 : (u64)(1u << k); }

static inline i64 sar64(u64 v, u32 s) {
    u32 lo = (u32)v;
    i32 hi = (i32)(u32)(v >> 32);
    if (s >= 32) return (i64)(hi >> (s - 32)); /* i32 >> is arithmetic in gcc; the cast sign-extends */
    if (s == 0) return (i64)v;
    u32 nlo = (lo >> s) | ((u32)hi << (32 - s));
    return (i64)(((u64)(u32)(hi >> s) << 32) | nlo);
}

/* requant(x, m, s) = (x·m + 2^(s-1)) >> s with an arithmetic (flooring) shift. The product and
 * sum are formed modulo 2^64 (numpy's int64 semantics); within the spec's bounds nothing wraps. */
static inline i64 requant(i64 x, i32 m, u32 s) { return sar64((u64)x * (u64)(i64)m + pow2_64(s - 1), s); }

/* The common case |x| < 2^31: one 32x32->64 `mult` instead of a 64-bit product. */
static inline i64 requant32(i32 x, i32 m, u32 s) { return sar64((u64)((i64)x * (i64)m) + pow2_64(s - 1), s); }

/* floor(n / d) for d > 0. C's `/` truncates toward zero, so a negative n with a remainder
 * is one too high. */
static inline i64 floor_div(i64 n, i64 d) {
    i64 q = n / d;
    if (n - q * d < 0) q -= 1;
    return q;
}

/* floor(sqrt(n)) for 0 <= n < 2^62, digit by digit (two result bits per round). */
static inline u32 isqrt64(u64 n) {
    u64 r = 0, bit = (u64)1 << 62;
    while (bit > n) bit >>= 2;
    while (bit) {
        if (n >= r + bit) {
            n -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return (u32)r;
}

/* Word-wise copy of n bytes between 4-aligned addresses (the regions' bases), then the tail. */
/* A head tile of an attention op: params h0, nh, full at words w, w+1, w+2. nh = 0 (all three
 * absent) means every head. With full = 1 the output holds all H heads: those outside the tile
 * come from one more (last) input, the previous tile's output, or are zero without it. */
static inline int head_tile(u32 w, u32 H, u32 *h0, u32 *nh, u32 *full) {
    *h0 = param(w), *nh = param(w + 1), *full = param(w + 2);
    if (*nh == 0) {
        if (*h0 || *full) return 0;
        *nh = H;
    }
    return *h0 < H && *nh <= H - *h0 && *full <= 1;
}

static inline void copy_bytes(void *dst, const void *src, u32 n) {
    if (((u32)dst | (u32)src) & 3) { /* a misaligned word access would fault (SPEC §2.5) */
        for (u32 i = 0; i < n; i++) ((u8 *)dst)[i] = ((const u8 *)src)[i];
        return;
    }
    u32 *d = dst;
    const u32 *s = src;
    u32 words = n >> 2;
    for (u32 i = 0; i < words; i++) d[i] = s[i];
    for (u32 i = words << 2; i < n; i++) ((u8 *)dst)[i] = ((const u8 *)src)[i];
}

#endif
