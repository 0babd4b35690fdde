/* stdin: copies fd 0 to fd 1, upper-casing letters; exits with the byte count mod 256. */
#include "rt.h"

int main(void) {
    char b[64];
    u32 total = 0;
    long n;
    while ((n = sys_read(0, b, sizeof b)) > 0) {
        for (long i = 0; i < n; i++)
            if (b[i] >= 'a' && b[i] <= 'z') b[i] = (char)(b[i] - 32);
        sys_write(1, b, (size_t)n);
        total += (u32)n;
    }
    sys_write(2, "done\n", 5);
    return (int)(total & 0xFF);
}
