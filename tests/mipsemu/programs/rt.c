/* Raw o32 Linux syscalls (number in v0, result in v0, error flag in a3) and decimal/hex output. */
#include "rt.h"

static long syscall3(long num, long a, long b, long c) {
    register long v0 __asm__("$2") = num;
    register long a0 __asm__("$4") = a;
    register long a1 __asm__("$5") = b;
    register long a2 __asm__("$6") = c;
    register long a3 __asm__("$7");
    __asm__ volatile("syscall"
                     : "+r"(v0), "=r"(a3)
                     : "r"(a0), "r"(a1), "r"(a2)
                     : "$1", "$3", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15", "$24", "$25",
                       "hi", "lo", "memory");
    return a3 ? -v0 : v0;
}

long sys_write(int fd, const void *buf, size_t n) { return syscall3(4004, fd, (long)buf, n); }
long sys_read(int fd, void *buf, size_t n) { return syscall3(4003, fd, (long)buf, n); }
void sys_exit(int code) {
    syscall3(4246, code, 0, 0);
    for (;;) {
    }
}

size_t rt_strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

void print(const char *s) { sys_write(1, s, rt_strlen(s)); }
void println(void) { sys_write(1, "\n", 1); }

void print_u64(u64 v) {
    char buf[24];
    int i = 23;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    print(buf + i);
}

void print_i64(i64 v) {
    if (v < 0) {
        print("-");
        print_u64((u64)0 - (u64)v);
    } else {
        print_u64((u64)v);
    }
}

void print_u32(u32 v) {
    char buf[12];
    int i = 11;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    print(buf + i);
}

void print_i32(i32 v) {
    if (v < 0) {
        print("-");
        print_u32(0u - (u32)v);
    } else {
        print_u32((u32)v);
    }
}

void print_hex(u32 v) {
    char buf[11];
    buf[0] = '0';
    buf[1] = 'x';
    for (int i = 0; i < 8; i++) buf[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 15];
    buf[10] = 0;
    print(buf);
}

void *memcpy(void *d, const void *s, size_t n) {
    char *dp = d;
    const char *sp = s;
    while (n--) *dp++ = *sp++;
    return d;
}

void *memset(void *d, int c, size_t n) {
    char *dp = d;
    while (n--) *dp++ = (char)c;
    return d;
}
