/* Switch tables: a dense switch (a jump table at -O2) driving a small bytecode interpreter. */
#include "rt.h"

static i32 run(const unsigned char *code, int n) {
    i32 stack[32];
    int sp = 0;
    i32 acc = 0;
    for (int pc = 0; pc < n; pc++) {
        switch (code[pc]) {
        case 0: stack[sp++] = acc; break;
        case 1: acc = stack[--sp]; break;
        case 2: acc += 3; break;
        case 3: acc *= 5; break;
        case 4: acc -= 11; break;
        case 5: acc ^= 0x5A5A; break;
        case 6: acc = acc << 2; break;
        case 7: acc = acc >> 1; break;
        case 8: acc = stack[sp - 1] + acc; break;
        case 9: acc = -acc; break;
        case 10: acc = acc & 0xFFFF; break;
        case 11: acc = acc | 0x100; break;
        default: acc += code[pc]; break;
        }
    }
    return acc;
}

static const char *day(int d) {
    switch (d % 7) {
    case 0: return "sun";
    case 1: return "mon";
    case 2: return "tue";
    case 3: return "wed";
    case 4: return "thu";
    case 5: return "fri";
    default: return "sat";
    }
}

int main(void) {
    unsigned char code[200];
    u32 x = 99;
    for (int i = 0; i < 200; i++) {
        x = x * 1664525u + 1013904223u;
        code[i] = (unsigned char)((x >> 24) % 14);
        if (code[i] == 1) code[i] = 0; /* keep the stack balanced enough: pops are rare */
    }
    code[0] = 0;
    i32 r = run(code, 200);
    print("result=");
    print_i32(r);
    print(" days:");
    for (int d = 0; d < 9; d++) {
        print(" ");
        print(day(d));
    }
    println();
    return (int)((u32)r % 256u);
}
