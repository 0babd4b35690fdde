/* Exact int8 matrix-vector product, y[n] = Σ_k w[n,k]·x[k] (SPEC §3.2), for rows r0 .. r1.
 *
 * Why C: on the 7B shape numpy must first widen every int8 weight to float (the bytes read
 * quadruple and the conversion costs more CPU than the product), whereas integer SIMD reads each
 * weight byte once. Integer addition is associative, so any order of the sums, any vector width
 * and -O3 give the same bits; only overflow needs care. Each 32-bit lane takes at most
 * 2·2^14 per step and is flushed into an int64 every BLOCK columns, so nothing overflows for any
 * K; the int64 total is then wrapped to int32 exactly like numpy's astype in
 * ops.matmul_i8_reference (it is exact for K < 2^17, which the converter guarantees). */
#include <stdint.h>
#include <stdlib.h>

#define BLOCK 65536 /* columns per int32 partial: a lane then holds < 2^27 */

static int32_t wrap32(int64_t v) { return (int32_t)(uint32_t)(uint64_t)v; }

static void rows_portable(const int8_t *w, const int8_t *x, uint64_t k, uint64_t r0, uint64_t r1, int32_t *y) {
    for (uint64_t r = r0; r < r1; r++) {
        const int8_t *row = w + r * k;
        int64_t total = 0;
        for (uint64_t k0 = 0; k0 < k; k0 += BLOCK) {
            uint64_t k1 = k0 + BLOCK < k ? k0 + BLOCK : k;
            int32_t part = 0; /* ≤ BLOCK·2^14 = 2^30 in magnitude */
            for (uint64_t j = k0; j < k1; j++) part += (int32_t)row[j] * (int32_t)x[j];
            total += part;
        }
        y[r] = wrap32(total);
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

__attribute__((target("avx2"))) static int64_t hsum(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return (int64_t)_mm_cvtsi128_si32(s);
}

/* Four rows at a time share each load of x (widened once to int16); madd_epi16 forms the
 * int32 sum of two int16 products per lane. */
__attribute__((target("avx2"))) static void rows_avx2(const int8_t *w, const int8_t *x, uint64_t k, uint64_t r0,
                                                       uint64_t r1, int32_t *y) {
    uint64_t kv = k & ~(uint64_t)15;
    int16_t *xs = aligned_alloc(32, ((kv + 16) * sizeof(int16_t) + 31) & ~(size_t)31);
    if (!xs) {
        rows_portable(w, x, k, r0, r1, y);
        return;
    }
    for (uint64_t j = 0; j < kv; j++) xs[j] = x[j];
    uint64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        const int8_t *a = w + r * k, *b = a + k, *c = b + k, *d = c + k;
        int64_t ta = 0, tb = 0, tc = 0, td = 0;
        for (uint64_t k0 = 0; k0 < kv; k0 += BLOCK) {
            uint64_t k1 = k0 + BLOCK < kv ? k0 + BLOCK : kv;
            __m256i sa = _mm256_setzero_si256(), sb = sa, sc = sa, sd = sa;
            for (uint64_t j = k0; j < k1; j += 16) {
                __m256i xv = _mm256_load_si256((const __m256i *)(xs + j));
                sa = _mm256_add_epi32(sa, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + j))), xv));
                sb = _mm256_add_epi32(sb, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + j))), xv));
                sc = _mm256_add_epi32(sc, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(c + j))), xv));
                sd = _mm256_add_epi32(sd, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(d + j))), xv));
            }
            ta += hsum(sa);
            tb += hsum(sb);
            tc += hsum(sc);
            td += hsum(sd);
        }
        for (uint64_t j = kv; j < k; j++) {
            ta += (int32_t)a[j] * x[j];
            tb += (int32_t)b[j] * x[j];
            tc += (int32_t)c[j] * x[j];
            td += (int32_t)d[j] * x[j];
        }
        y[r] = wrap32(ta);
        y[r + 1] = wrap32(tb);
        y[r + 2] = wrap32(tc);
        y[r + 3] = wrap32(td);
    }
    free(xs);
    rows_portable(w, x, k, r, r1, y);
}
#endif

/* w: int8 [*, k] row-major; x: int8 [k]; writes y[r] for r0 <= r < r1. */
void opml_matvec_i8(const int8_t *w, const int8_t *x, uint64_t k, uint64_t r0, uint64_t r1, int32_t *y) {
#if defined(__x86_64__) || defined(__i386__)
    if (__builtin_cpu_supports("avx2")) {
        rows_avx2(w, x, k, r0, r1, y);
        return;
    }
#endif
    rows_portable(w, x, k, r0, r1, y);
}

/* The scalar path alone, so that tests cover it on hosts that have AVX2. */
void opml_matvec_i8_portable(const int8_t *w, const int8_t *x, uint64_t k, uint64_t r0, uint64_t r1, int32_t *y) {
    rows_portable(w, x, k, r0, r1, y);
}

/* Which implementation opml_matvec_i8 runs here (for the bench's conditions). */
const char *opml_matvec_i8_kind(void) {
#if defined(__x86_64__) || defined(__i386__)
    if (__builtin_cpu_supports("avx2")) return "avx2";
#endif
    return "portable";
}

/* XOR of the 64-bit words of buf[0 .. n): a plain streaming read, which the benches time to get
 * the memory-bandwidth bound that the matvec is compared with (same compiler, same flags). */
uint64_t opml_read_words(const uint64_t *buf, uint64_t n) {
    uint64_t acc[8] = {0};
    uint64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] ^= buf[i + j];
    for (; i < n; i++) acc[0] ^= buf[i];
    return acc[0] ^ acc[1] ^ acc[2] ^ acc[3] ^ acc[4] ^ acc[5] ^ acc[6] ^ acc[7];
}
