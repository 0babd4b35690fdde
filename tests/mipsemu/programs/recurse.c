/* Recursion: Fibonacci, Ackermann, Towers of Hanoi, and mutual recursion. */
#include "rt.h"

static u32 fib(u32 n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static u32 ack(u32 m, u32 n) {
    if (m == 0) return n + 1;
    if (n == 0) return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

static u32 moves;
static void hanoi(int n, int from, int to, int via) {
    if (n == 0) return;
    hanoi(n - 1, from, via, to);
    moves++;
    hanoi(n - 1, via, to, from);
}

static int is_odd(u32 n);
static int is_even(u32 n) { return n == 0 ? 1 : is_odd(n - 1); }
static int is_odd(u32 n) { return n == 0 ? 0 : is_even(n - 1); }

int main(void) {
    u32 f = fib(20);
    u32 a = ack(2, 3);
    hanoi(12, 1, 3, 2);
    print("fib(20)=");
    print_u32(f);
    print(" ack(2,3)=");
    print_u32(a);
    print(" hanoi(12)=");
    print_u32(moves);
    print(" even(301)=");
    print_u32((u32)is_even(301));
    println();
    return (int)((f + a + moves) % 256u);
}
