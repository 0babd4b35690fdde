/* A long-running kernel for benchmarks: ~3e8 steps of int8 matmul-style multiply-accumulate. */
#include "rt.h"

#define D 64
static signed char A[D * D], B[D * D];
static i32 C[D * D];

int main(void) {
    u32 x = 1;
    for (int i = 0; i < D * D; i++) {
        x = x * 1103515245u + 12345u;
        A[i] = (signed char)(x >> 16);
        B[i] = (signed char)(x >> 24);
    }
    u32 h = 0;
    for (int rep = 0; rep < 80; rep++) {
        for (int i = 0; i < D; i++)
            for (int j = 0; j < D; j++) {
                i32 s = rep;
                for (int k = 0; k < D; k++) s += A[i * D + k] * B[k * D + j];
                C[i * D + j] = s;
            }
        for (int i = 0; i < D * D; i++) h = h * 31u + (u32)C[i];
        A[rep] ^= (signed char)h;
    }
    print("long h=");
    print_hex(h);
    println();
    return (int)(h & 0x7F);
}
