/* Unaligned packed structs: gcc uses lwl/lwr/swl/swr for the misaligned fields. */
#include "rt.h"

struct __attribute__((packed)) rec {
    unsigned char tag;
    u32 a;
    unsigned short b;
    i32 c;
    u64 d;
};

static struct rec recs[7];

int main(void) {
    u32 x = 0x1234567;
    for (int i = 0; i < 7; i++) {
        x = x * 69069u + 1u;
        recs[i].tag = (unsigned char)i;
        recs[i].a = x;
        recs[i].b = (unsigned short)(x >> 7);
        recs[i].c = -(i32)(x >> 3);
        recs[i].d = ((u64)x << 29) ^ 0x0123456789ABCDEFull;
    }
    u32 sum = 0;
    for (int i = 0; i < 7; i++) {
        struct rec r = recs[i];
        sum = sum * 33u + r.a + r.b + (u32)r.c + (u32)(r.d >> 17) + r.tag;
    }
    unsigned char *raw = (unsigned char *)recs;
    u32 bytes = 0;
    for (int i = 0; i < (int)sizeof recs; i++) bytes = bytes * 3u + raw[i];
    print("sizeof=");
    print_u32(sizeof(struct rec));
    print(" sum=");
    print_hex(sum);
    print(" bytes=");
    print_hex(bytes);
    println();
    return (int)(sum & 0x7F) + 1;
}
