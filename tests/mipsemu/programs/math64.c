/* 64-bit arithmetic: libgcc's __divdi3/__udivdi3/__moddi3/__umoddi3, shifts and multiplies. */
#include "rt.h"

static volatile i64 vs[] = {0, 1, -1, 7, -7, 1000000007ll, -999999999999ll, 0x7FFFFFFFFFFFFFFFll,
                            (i64)0x8000000000000001ull, 123456789012345ll, -42, 65536};

int main(void) {
    u64 acc = 0;
    int n = sizeof vs / sizeof vs[0];
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            i64 a = vs[i], b = vs[j];
            if (b == 0) continue;
            i64 q = a / b, r = a % b;
            u64 uq = (u64)a / (u64)b, ur = (u64)a % (u64)b;
            i64 m = a * b;
            acc = acc * 6364136223846793005ull + (u64)q;
            acc ^= (u64)r + (uq << 7) + (ur >> 3) + (u64)m;
            if (i == 3 && j < 6) {
                print_i64(a);
                print(" / ");
                print_i64(b);
                print(" = ");
                print_i64(q);
                print(" rem ");
                print_i64(r);
                println();
            }
        }
    }
    i64 s = -123456789012345678ll;
    for (int k = 0; k < 64; k += 9) {
        acc += (u64)(s >> k) ^ ((u64)s << k) ^ ((u64)s >> k);
    }
    u32 x = 0xDEADBEEF;
    i32 y = -12345;
    print("u32 div/mod: ");
    print_u32(x / 1000u);
    print(" ");
    print_u32(x % 1000u);
    print(" i32: ");
    print_i32(y / 7);
    print(" ");
    print_i32(y % 7);
    print(" acc=");
    print_u64(acc);
    println();
    return (int)(acc % 251u);
}
