/* Function pointers: an operation table, a comparator-driven sort and a callback fold. */
#include "rt.h"

typedef i32 (*binop)(i32, i32);
static i32 add(i32 a, i32 b) { return a + b; }
static i32 sub(i32 a, i32 b) { return a - b; }
static i32 mul(i32 a, i32 b) { return a * b; }
static i32 mx(i32 a, i32 b) { return a > b ? a : b; }
static i32 xr(i32 a, i32 b) { return a ^ b; }
static const binop ops[] = {add, sub, mul, mx, xr};
static const char *const names[] = {"add", "sub", "mul", "max", "xor"};

static int asc(i32 a, i32 b) { return a < b ? -1 : a > b; }
static int desc(i32 a, i32 b) { return asc(b, a); }

static void sort(i32 *v, int n, int (*cmp)(i32, i32)) {
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (cmp(v[j], v[i]) < 0) {
                i32 t = v[i];
                v[i] = v[j];
                v[j] = t;
            }
}

static i32 fold(const i32 *v, int n, binop f, i32 init) {
    for (int i = 0; i < n; i++) init = f(init, v[i]);
    return init;
}

int main(void) {
    i32 v[12] = {5, -3, 17, 0, 42, -100, 8, 8, 1, 999, -7, 23};
    u32 h = 0;
    for (int k = 0; k < 5; k++) {
        i32 r = fold(v, 12, ops[k], k == 2 ? 1 : 0);
        print(names[k]);
        print("=");
        print_i32(r);
        print(" ");
        h = h * 131u + (u32)r;
    }
    sort(v, 12, desc);
    print("desc[0]=");
    print_i32(v[0]);
    sort(v, 12, asc);
    print(" asc[0]=");
    print_i32(v[0]);
    println();
    return (int)(h & 0xFF);
}
