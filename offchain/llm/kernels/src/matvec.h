/* The int8 matrix-vector product shared by the linear and single-phase MLP kernels.
 *
 * Cost model: a MIPS instruction is a VM step, so the loop is shaped for step count, not cache.
 * Four rows share each load of x, and k is unrolled by four with immediate offsets, so one
 * multiply-accumulate costs lb w + mul + addu plus a quarter of lb x and of the pointer bumps:
 * about 3.6 steps (the TOOLCHAIN.md floor for one row at a time is 4).
 * Exactness: |w·x| <= 2^14 and K < 2^17, so every partial sum fits in int32 (SPEC §3.2.3). */
#ifndef KERNEL_MATVEC_H
#define KERNEL_MATVEC_H
#include "rt.h"

/* acc[j] = Σ_k W[j·stride + k]·x[k] for j < nr, k < K (a row-major matrix has stride = K; the
 * attention scores read one KV head's rows out of the cache with stride G·hd). */
static void matvec_i8(const i8 *W, u32 stride, const i8 *x, u32 K, u32 nr, i32 *acc) {
    u32 j = 0;
    u32 K4 = K & ~3u;
    for (; j + 4 <= nr; j += 4) {
        const i8 *w0 = W + j * stride, *w1 = w0 + stride, *w2 = w1 + stride, *w3 = w2 + stride;
        const i8 *xp = x, *xe = x + K4;
        i32 a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        while (xp != xe) {
            /* One product at a time, row after row: keeps only one temporary live, so the
             * four accumulators, five pointers and four x values all stay in registers. */
            i32 x0 = xp[0], x1 = xp[1], x2 = xp[2], x3 = xp[3];
            a0 += w0[0] * x0;
            a1 += w1[0] * x0;
            a2 += w2[0] * x0;
            a3 += w3[0] * x0;
            a0 += w0[1] * x1;
            a1 += w1[1] * x1;
            a2 += w2[1] * x1;
            a3 += w3[1] * x1;
            a0 += w0[2] * x2;
            a1 += w1[2] * x2;
            a2 += w2[2] * x2;
            a3 += w3[2] * x2;
            a0 += w0[3] * x3;
            a1 += w1[3] * x3;
            a2 += w2[3] * x3;
            a3 += w3[3] * x3;
            xp += 4;
            w0 += 4;
            w1 += 4;
            w2 += 4;
            w3 += 4;
        }
        for (u32 k = K4; k < K; k++) {
            i32 xv = x[k];
            a0 += *w0++ * xv;
            a1 += *w1++ * xv;
            a2 += *w2++ * xv;
            a3 += *w3++ * xv;
        }
        acc[j] = a0;
        acc[j + 1] = a1;
        acc[j + 2] = a2;
        acc[j + 3] = a3;
    }
    for (; j < nr; j++) { /* the last nr % 4 rows, one at a time */
        const i8 *w = W + j * stride;
        i32 a = 0;
        for (u32 k = 0; k < K; k++) a += w[k] * x[k];
        acc[j] = a;
    }
}

#endif
