/* Tiny freestanding runtime for the VM test programs: raw syscalls and printing. The integer
 * types and the entry point (start.S) are the op kernels' own, so there is one MIPS runtime. */
#ifndef RT_H
#define RT_H

#include "../../../offchain/llm/kernels/src/rt.h"

typedef unsigned long size_t;

long sys_write(int fd, const void *buf, size_t n);
long sys_read(int fd, void *buf, size_t n);
void sys_exit(int code) __attribute__((noreturn));

size_t rt_strlen(const char *s);
void print(const char *s);
void print_u32(u32 v);
void print_i32(i32 v);
void print_hex(u32 v);
void print_u64(u64 v);
void print_i64(i64 v);
void println(void);
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);

#endif
