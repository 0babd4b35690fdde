/* Sorting: quicksort and insertion sort of LCG data; prints a checksum, exits with a computed code. */
#include "rt.h"

#define N 400
static i32 a[N], b[N];
static u32 seed = 12345;

static u32 lcg(void) { return seed = seed * 1103515245u + 12345u; }

static void quicksort(i32 *v, int lo, int hi) {
    while (lo < hi) {
        i32 p = v[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < p) i++;
            while (v[j] > p) j--;
            if (i <= j) {
                i32 t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                j--;
            }
        }
        if (j - lo < hi - i) {
            quicksort(v, lo, j);
            lo = i;
        } else {
            quicksort(v, i, hi);
            hi = j;
        }
    }
}

static void insertion(i32 *v, int n) {
    for (int i = 1; i < n; i++) {
        i32 x = v[i];
        int j = i - 1;
        while (j >= 0 && v[j] > x) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = x;
    }
}

int main(void) {
    for (int i = 0; i < N; i++) a[i] = b[i] = (i32)lcg() >> 8;
    quicksort(a, 0, N - 1);
    insertion(b, N);
    u32 sum = 0;
    int bad = 0;
    for (int i = 0; i < N; i++) {
        sum = sum * 31u + (u32)a[i];
        if (a[i] != b[i]) bad++;
        if (i && a[i - 1] > a[i]) bad++;
    }
    print("sorted min=");
    print_i32(a[0]);
    print(" max=");
    print_i32(a[N - 1]);
    print(" median=");
    print_i32(a[N / 2]);
    print(" checksum=");
    print_hex(sum);
    print(" bad=");
    print_u32((u32)bad);
    println();
    return bad ? 99 : (int)(sum % 200u) + 3;
}
