/* Spec v2's ops natively (SPEC §3v2), each the numpy definition of offchain/llm/v2/ops.py term for
 * term. The block matmul (opml_v2_matmul_raw, below) computes, for rows r0 .. r1 of a weight in a
 * 32-value block format, acc[n] = Σ_b shift_round(xm_b·dm_nb·isum_nb, xe_b + de_nb + 24)
 * (+ shift_round(xm_b·mm_nb·qsum_b, xe_b + me_nb + 24) with a block minimum), isum the exact int32
 * dot product of the block's integers: each block's term is rounded on its own and the int64 sum
 * wraps like numpy's, so the order of the additions and the vector width cannot change a bit.
 * Products that could exceed int64 are formed in uint64 (wrapping, never undefined behaviour). */
#include <stdint.h>
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define QK 32

static inline int64_t shift_round(int64_t v, int64_t s) {
    if (s >= 0) return (int64_t)((uint64_t)v << (s > 63 ? 63 : s));
    if (s < -62) return 0;
    int k = (int)-s;
    return (int64_t)((uint64_t)v + ((uint64_t)1 << (k - 1))) >> k;
}

/* ---- The other ops of a token, natively (each is its ops.py function, line for line). ---- */

static inline int32_t sat32(int64_t v) { return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v; }
static inline int64_t rdiv(int64_t n, int64_t d) { /* n/d rounded half up, d > 0: floor((2n+d)/(2d)) */
    int64_t a = 2 * n + d, b = 2 * d, q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}
static inline int bitlen64(uint64_t x) { return x ? 64 - __builtin_clzll(x) : 0; }

static uint64_t isqrt64(uint64_t n) { /* floor(√n), digit by digit */
    uint64_t r = 0, bit = (uint64_t)1 << 62;
    while (bit > n) bit >>= 2;
    while (bit) {
        if (n >= r + bit) { n -= r + bit; r = (r >> 1) + bit; } else r >>= 1;
        bit >>= 2;
    }
    return r;
}

void opml_v2_quantize(const int32_t *x, uint64_t k, int8_t *q, int64_t *xm, int64_t *xe, int64_t *qsum) {
    for (uint64_t b = 0; b < k / QK; b++) {
        const int32_t *xb = x + b * QK;
        int64_t amax = 0;
        for (int i = 0; i < QK; i++) { int64_t v = xb[i] < 0 ? -(int64_t)xb[i] : xb[i]; if (v > amax) amax = v; }
        int64_t d = amax > 1 ? amax : 1, s = 0;
        for (int i = 0; i < QK; i++) {
            int64_t n = 127 * (int64_t)xb[i], a = (2 * (n < 0 ? -n : n) + d) / (2 * d);
            q[b * QK + i] = (int8_t)(n < 0 ? -a : a);
            s += n < 0 ? -a : a;
        }
        qsum[b] = s;
        if (amax == 0) { xm[b] = 0; xe[b] = 0; continue; }
        int64_t e = bitlen64((uint64_t)amax) - 8 - 16 - 10, m = 0;
        if (e < -24) e = -24;
        for (int it = 0; it < 3; it++) {
            int64_t sh = -e - 16, num, den;
            if (sh >= 0) { num = amax << sh; den = 127; } else { num = amax; den = (int64_t)127 << -sh; }
            int64_t qq = num / den, r = num % den;
            m = qq + ((2 * r > den) || (2 * r == den && (qq & 1)));
            if (m >= 2048) e++;
        }
        xm[b] = m; xe[b] = e;
    }
}

void opml_v2_rmsnorm(const int64_t *h, const int64_t *g, uint64_t d, int64_t eps_m, int64_t eps_e, int32_t *y) {
    uint64_t amax = 0;
    for (uint64_t i = 0; i < d; i++) { uint64_t v = h[i] < 0 ? -(uint64_t)h[i] : (uint64_t)h[i]; if (v > amax) amax = v; }
    int k = bitlen64(amax) - 24;
    if (k < 0) k = 0;
    uint64_t s = 0;
    for (uint64_t i = 0; i < d; i++) { int64_t x = h[i] >> k; s += (uint64_t)(x * x); }
    int64_t eps = shift_round(eps_m, eps_e + 48 - 2 * k);
    uint64_t r = isqrt64(s / d + (uint64_t)eps);
    if (r < 1) r = 1;
    for (uint64_t i = 0; i < d; i++) y[i] = sat32(rdiv((h[i] >> k) * g[i], (int64_t)(r << 8)));
}

void opml_v2_rope(int32_t *x, uint64_t heads, uint64_t hd, const int32_t *cs, const int32_t *sn) {
    for (uint64_t h = 0; h < heads; h++)
        for (uint64_t i = 0; i < hd / 2; i++) {
            int64_t a = x[h * hd + 2 * i], b = x[h * hd + 2 * i + 1], c = cs[i], s = sn[i];
            x[h * hd + 2 * i] = sat32(shift_round(a * c - b * s, -30));
            x[h * hd + 2 * i + 1] = sat32(shift_round(a * s + b * c, -30));
        }
}

static inline int64_t exp_neg(int64_t x, const int64_t *table) {
    if (x > INT32_MAX) x = INT32_MAX;
    int64_t u = x * 1549082005LL, n = u >> 46;
    int64_t j = ((u & (((int64_t)1 << 46) - 1)) + ((int64_t)1 << 33)) >> 34;
    if (j == 4096) { n++; j = 0; }
    return n >= 63 ? 0 : table[j] >> (n > 62 ? 62 : n);
}

/* One query position over T cached rows; sc: int64 scratch of T. */
void opml_v2_attention(const int32_t *q, const int32_t *kc, const int32_t *vc, uint64_t T, uint64_t H, uint64_t G,
                       uint64_t hd, const int64_t *table, int64_t scale, int32_t *out, int64_t *sc) {
    uint64_t rep = H / G;
    for (uint64_t h = 0; h < H; h++) {
        uint64_t g = h / rep;
        int64_t mx = INT64_MIN;
        for (uint64_t t = 0; t < T; t++) {
            const int32_t *kr = kc + (t * G + g) * hd;
            uint64_t dot = 0;
            for (uint64_t i = 0; i < hd; i++) dot += (uint64_t)((int64_t)q[h * hd + i] * kr[i]);
            int64_t s = shift_round((int64_t)((uint64_t)shift_round((int64_t)dot, -16) * (uint64_t)scale), -30);
            sc[t] = s;
            if (s > mx) mx = s;
        }
        uint64_t psum = 0;
        for (uint64_t t = 0; t < T; t++) { sc[t] = exp_neg(mx - sc[t], table); psum += (uint64_t)sc[t]; }
        for (uint64_t t = 0; t < T; t++) sc[t] = rdiv(sc[t] << 30, (int64_t)psum);
        for (uint64_t i = 0; i < hd; i++) {
            uint64_t o = 0;
            for (uint64_t t = 0; t < T; t++) o += (uint64_t)(sc[t] * (int64_t)vc[(t * G + g) * hd + i]);
            out[h * hd + i] = sat32(shift_round((int64_t)o, -30));
        }
    }
}

void opml_v2_swiglu(const int32_t *gate, const int32_t *up, uint64_t n, const int64_t *table, int32_t *y) {
    const int64_t one = (int64_t)1 << 30;
    for (uint64_t i = 0; i < n; i++) {
        int64_t g = gate[i], e = exp_neg(g < 0 ? -g : g, table);
        int64_t sig = g >= 0 ? rdiv(one << 30, one + e) : rdiv(e << 30, one + e);
        int64_t silu = shift_round(g * sig, -30);
        y[i] = sat32(shift_round(silu * (int64_t)up[i], -16));
    }
}

void opml_v2_to_act(const int64_t *acc, uint64_t n, int32_t *y) {
    for (uint64_t i = 0; i < n; i++) y[i] = sat32(shift_round(acc[i], -8));
}

/* ---- The block matmul straight from the file's bytes (no unpacked copy), integer SIMD. ----
 * kind 0: Q8_0 (34-byte blocks), 1: Q4_0 (18), 2: Q4_1 (20). The same terms as opml_v2_matmul:
 * the fp16 scale d (and Q4_1's m) are decoded to (m, e) per block, isum is the exact block dot
 * product (Q4_0: Σ n·x − 8·qsum, which is Σ (n − 8)·x), and each block's term is rounded alone. */

static inline void fp16_me(uint16_t b, int64_t *m, int64_t *e) {
    int64_t ex = (b >> 10) & 0x1F, fr = b & 0x3FF;
    int64_t mm = ex ? (fr | 0x400) : fr;
    *m = (b & 0x8000) ? -mm : mm;
    *e = ex ? ex - 25 : -24;
}

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static const int BLOCK_BYTES_OF[3] = {34, 18, 20};

#if defined(__AVX2__)
#include <immintrin.h>
static inline __m256i nibbles32(const uint8_t *p) { /* 16 bytes → 32 unsigned nibbles: low halves, then high */
    __m128i b = _mm_loadu_si128((const __m128i *)p);
    __m128i lo = _mm_and_si128(b, _mm_set1_epi8(0x0F)), hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(0x0F));
    return _mm256_set_m128i(hi, lo);
}
static inline int32_t hsum8(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}
static inline int32_t block_isum(int kind, const uint8_t *blk, const int8_t *x) {
    __m256i xv = _mm256_loadu_si256((const __m256i *)x), ones = _mm256_set1_epi16(1);
    __m256i p;
    if (kind == 0) { /* signed × signed: |w| as unsigned, x carrying w's sign */
        __m256i w = _mm256_loadu_si256((const __m256i *)(blk + 2));
        p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(xv, w));
    } else {
        p = _mm256_maddubs_epi16(nibbles32(blk + (kind == 2 ? 4 : 2)), xv);
    }
    return hsum8(_mm256_madd_epi16(p, ones));
}
#else
static inline int32_t block_isum(int kind, const uint8_t *blk, const int8_t *x) {
    int32_t s = 0;
    if (kind == 0) {
        const int8_t *w = (const int8_t *)(blk + 2);
        for (int i = 0; i < QK; i++) s += (int32_t)w[i] * x[i];
    } else {
        const uint8_t *nb = blk + (kind == 2 ? 4 : 2);
        for (int i = 0; i < 16; i++) s += (int32_t)(nb[i] & 0x0F) * x[i] + (int32_t)(nb[i] >> 4) * x[i + 16];
    }
    return s;
}
#endif

/* One block's term(s) added to `total`, block by block: the definition, and the tail of the
 * vector path below. */
static inline uint64_t block_terms(int kind, const uint8_t *blk, const int8_t *x, int64_t xm, int64_t xe, int64_t qs) {
    int64_t isum = block_isum(kind, blk, x), dm, de;
    if (kind == 1) isum -= 8 * qs;
    fp16_me(rd16(blk), &dm, &de);
    uint64_t t = (uint64_t)shift_round(xm * dm * isum, xe + de + 24);
    if (kind == 2) {
        int64_t mm, me;
        fp16_me(rd16(blk + 2), &mm, &me);
        t += (uint64_t)shift_round(xm * mm * qs, xe + me + 24);
    }
    return t;
}

void opml_v2_matmul_raw_scalar(int kind, const uint8_t *w, uint64_t k, uint64_t r0, uint64_t r1, const int8_t *xq,
                               const int64_t *xm, const int64_t *xe, const int64_t *qsum, int64_t *acc) {
    uint64_t nb = k / QK, bb = (uint64_t)BLOCK_BYTES_OF[kind], stride = nb * bb;
    for (uint64_t n = r0; n < r1; n++) {
        const uint8_t *row = w + n * stride;
        uint64_t total = 0;
        for (uint64_t b = 0; b < nb; b++) total += block_terms(kind, row + b * bb, xq + b * QK, xm[b], xe[b], qsum[b]);
        acc[n] = (int64_t)total;
    }
}

#if defined(__AVX2__)
/* Eight blocks' terms at once. Exact for every input: |xm·dm| < 2^22 (two fp16 mantissas) and
 * |isum| < 2^19, so each product is below 2^41 and fits _mm256_mul_epi32's 64-bit result; the shift
 * xe + de + 24 lies in [−24, 27] (xe ∈ [−24, −2] for an int32 activation, de ∈ [−24, 5] for an
 * fp16), where the rounding right shift below equals shift_round: with a bias of 2^62 the sum is
 * non-negative, so a logical shift is the floor, and the bias comes back out as 2^(62−k). */
/* (m, e) of eight fp16 bit patterns (one per 32-bit lane), as fp16_me computes them. */
static inline void fp16_me8(__m256i bits, __m256i *m, __m256i *e) {
    __m256i ex = _mm256_and_si256(_mm256_srli_epi32(bits, 10), _mm256_set1_epi32(0x1F));
    __m256i normal = _mm256_cmpgt_epi32(ex, _mm256_setzero_si256());
    __m256i mag = _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x3FF)),
                                  _mm256_and_si256(normal, _mm256_set1_epi32(0x400)));
    __m256i neg = _mm256_srai_epi32(_mm256_slli_epi32(bits, 16), 31);
    *m = _mm256_sub_epi32(_mm256_xor_si256(mag, neg), neg);
    *e = _mm256_blendv_epi8(_mm256_set1_epi32(-24), _mm256_sub_epi32(ex, _mm256_set1_epi32(25)), normal);
}

static inline __m256i scales8(const uint8_t *bk, uint64_t bb, uint64_t off) {
    return _mm256_setr_epi32(rd16(bk + off), rd16(bk + bb + off), rd16(bk + 2 * bb + off), rd16(bk + 3 * bb + off),
                             rd16(bk + 4 * bb + off), rd16(bk + 5 * bb + off), rd16(bk + 6 * bb + off),
                             rd16(bk + 7 * bb + off));
}

static inline __m256i shift_round4(__m256i v, __m256i s) {
    const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi64x(1);
    const __m256i bias = _mm256_set1_epi64x((int64_t)1 << 62);
    __m256i left = _mm256_sllv_epi64(v, s);  /* counts below 0 give 0 here; the blend drops them */
    __m256i k = _mm256_sub_epi64(zero, s);
    __m256i half = _mm256_sllv_epi64(one, _mm256_sub_epi64(k, one));
    __m256i right = _mm256_sub_epi64(_mm256_srlv_epi64(_mm256_add_epi64(_mm256_add_epi64(v, half), bias), k),
                                     _mm256_srlv_epi64(bias, k));
    return _mm256_blendv_epi8(left, right, _mm256_cmpgt_epi64(zero, s));
}

static inline __m256i block_madd(int kind, const uint8_t *blk, const int8_t *x) {
    __m256i xv = _mm256_loadu_si256((const __m256i *)x), p;
    if (kind == 0) {
        __m256i w = _mm256_loadu_si256((const __m256i *)(blk + 2));
        p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(xv, w));
    } else {
        p = _mm256_maddubs_epi16(nibbles32(blk + (kind == 2 ? 4 : 2)), xv);
    }
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* The 8 lanes' sums of v[0..7], in order: [Σv0, Σv1, …, Σv7]. */
static inline __m256i hsum8x8(const __m256i *v) {
    __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
    __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}

/* tot + the eight terms shift_round(p_i·x_i, s_i) of 32-bit lanes, in two halves of 64-bit lanes. */
static inline __m256i add_terms8(__m256i tot, __m256i p, __m256i x, __m256i s) {
    __m256i lo = shift_round4(_mm256_mul_epi32(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(p)),
                                               _mm256_cvtepi32_epi64(_mm256_castsi256_si128(x))),
                              _mm256_cvtepi32_epi64(_mm256_castsi256_si128(s)));
    __m256i hi = shift_round4(_mm256_mul_epi32(_mm256_cvtepi32_epi64(_mm256_extracti128_si256(p, 1)),
                                               _mm256_cvtepi32_epi64(_mm256_extracti128_si256(x, 1))),
                              _mm256_cvtepi32_epi64(_mm256_extracti128_si256(s, 1)));
    return _mm256_add_epi64(tot, _mm256_add_epi64(lo, hi));
}

/* The activation's side of a call, once: its per-block words as int32 lanes. */
typedef struct {
    int32_t *xm, *xs, *qs, *xmq;
} ActLanes;

static void act_lanes(ActLanes *a, uint64_t nv, const int64_t *xm, const int64_t *xe, const int64_t *qsum) {
    for (uint64_t b = 0; b < nv; b++) {
        a->xm[b] = (int32_t)xm[b];
        a->xs[b] = (int32_t)xe[b] + 24;
        a->qs[b] = (int32_t)qsum[b];
        a->xmq[b] = (int32_t)(xm[b] * qsum[b]); /* |xm·qsum| < 2^11·2^12 */
    }
}

/* One row's total against one input: eight blocks at a time, then the tail block by block. */
static inline uint64_t row_total(int kind, const uint8_t *row, uint64_t nb, uint64_t bb, const int8_t *xq,
                                 const ActLanes *al, const int64_t *xm, const int64_t *xe, const int64_t *qsum) {
    uint64_t nv = nb & ~(uint64_t)7;
    const int32_t *xm32 = al->xm, *xs32 = al->xs, *qs32 = al->qs, *xmq32 = al->xmq;
    __m256i tot = _mm256_setzero_si256();
    for (uint64_t b = 0; b < nv; b += 8) {
        __m256i v[8];
        const uint8_t *bk = row + b * bb;
        for (int i = 0; i < 8; i++) v[i] = block_madd(kind, bk + (uint64_t)i * bb, xq + (b + (uint64_t)i) * QK);
        __m256i dmv, dev;
        fp16_me8(scales8(bk, bb, 0), &dmv, &dev);
        __m256i isum = hsum8x8(v);
        if (kind == 1)
            isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(qs32 + b)), 3));
        __m256i p = _mm256_mullo_epi32(_mm256_loadu_si256((const __m256i *)(xm32 + b)), dmv);
        __m256i sh = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(xs32 + b)), dev);
        tot = add_terms8(tot, p, isum, sh);
        if (kind == 2) {
            __m256i pm, mev;
            fp16_me8(scales8(bk, bb, 2), &pm, &mev);
            __m256i q = _mm256_loadu_si256((const __m256i *)(xmq32 + b));
            __m256i sm = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(xs32 + b)), mev);
            tot = add_terms8(tot, pm, q, sm);
        }
    }
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, tot);
    uint64_t total = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    for (uint64_t b = nv; b < nb; b++) total += block_terms(kind, row + b * bb, xq + b * QK, xm[b], xe[b], qsum[b]);
    return total;
}

#define ACT_LANES(name, nv)                                                   \
    int32_t name##_xm[(nv) + 8], name##_xs[(nv) + 8], name##_qs[(nv) + 8], name##_xmq[(nv) + 8]; \
    ActLanes name = {name##_xm, name##_xs, name##_qs, name##_xmq}

void opml_v2_matmul_raw(int kind, const uint8_t *w, uint64_t k, uint64_t r0, uint64_t r1, const int8_t *xq,
                        const int64_t *xm, const int64_t *xe, const int64_t *qsum, int64_t *acc) {
    uint64_t nb = k / QK, bb = (uint64_t)BLOCK_BYTES_OF[kind], stride = nb * bb, nv = nb & ~(uint64_t)7;
    ACT_LANES(al, nv);
    act_lanes(&al, nv, xm, xe, qsum);
    for (uint64_t n = r0; n < r1; n++) acc[n] = (int64_t)row_total(kind, w + n * stride, nb, bb, xq, &al, xm, xe, qsum);
}
#else
void opml_v2_matmul_raw(int kind, const uint8_t *w, uint64_t k, uint64_t r0, uint64_t r1, const int8_t *xq,
                        const int64_t *xm, const int64_t *xe, const int64_t *qsum, int64_t *acc) {
    opml_v2_matmul_raw_scalar(kind, w, k, r0, r1, xq, xm, xe, qsum, acc);
}
#endif

/* This thread's share [r0, r1) of n rows inside an OpenMP parallel region (all of them without
 * OpenMP, where the region runs once). */
static inline void my_rows(uint64_t n, uint64_t *r0, uint64_t *r1) {
#ifdef _OPENMP
    uint64_t t = (uint64_t)omp_get_thread_num(), nt = (uint64_t)omp_get_num_threads();
#else
    uint64_t t = 0, nt = 1;
#endif
    uint64_t step = (n + nt - 1) / nt;
    *r0 = step * t < n ? step * t : n;
    *r1 = *r0 + step < n ? *r0 + step : n;
}

/* The same over all rows, split across OpenMP's threads (its team persists between calls, so a
 * hand-off costs microseconds, not a Python thread pool's wake-up). Each thread writes only its
 * own rows; the result cannot depend on the split. */
void opml_v2_matmul_raw_mt(int kind, const uint8_t *w, uint64_t k, uint64_t n, const int8_t *xq, const int64_t *xm,
                           const int64_t *xe, const int64_t *qsum, int64_t *acc, int threads) {
    (void)threads;
#pragma omp parallel num_threads(threads)
    {
        uint64_t r0, r1;
        my_rows(n, &r0, &r1);
        if (r0 < r1) opml_v2_matmul_raw(kind, w, k, r0, r1, xq, xm, xe, qsum, acc);
    }
}

/* Several weights against one input (q, k, v; gate, up), in one parallel region: each thread
 * takes its share of every weight's rows, so the hand-offs are one per group, not one per weight. */
void opml_v2_matmul_raw_many(int m, const int *kinds, const uint8_t *const *ws, const uint64_t *ns, uint64_t k,
                             const int8_t *xq, const int64_t *xm, const int64_t *xe, const int64_t *qsum,
                             int64_t *const *accs, int threads) {
    (void)threads;
#pragma omp parallel num_threads(threads)
    {
        for (int i = 0; i < m; i++) {
            uint64_t r0, r1;
            my_rows(ns[i], &r0, &r1);
            if (r0 < r1) opml_v2_matmul_raw(kinds[i], ws[i], k, r0, r1, xq, xm, xe, qsum, accs[i]);
        }
    }
}

/* ---- k-quants (Q4_K, Q5_K, Q6_K: 256-value super-blocks) against an input quantized per 256
 * (xq, one (xm, xe) per super-block, bsum: the sums of each 16 quantized inputs). Each super-block
 * is unpacked to its integers, then the terms of ops.matmul_k_reference, term for term. ---- */

static const int KBYTES[3] = {144, 176, 210};

static void kq_unpack(int kind, const uint8_t *b, int8_t *q, int32_t *sc, int32_t *mn) {
    if (kind == 2) { /* Q6_K: ql[128], qh[64], int8 scales[16], d */
        for (int half = 0; half < 2; half++) {
            const uint8_t *ql = b + 64 * half, *qh = b + 128 + 32 * half;
            int8_t *o = q + 128 * half;
            for (int l = 0; l < 32; l++) {
                o[l] = (int8_t)(((ql[l] & 15) | ((qh[l] & 3) << 4)) - 32);
                o[l + 32] = (int8_t)(((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32);
                o[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                o[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
        }
        for (int j = 0; j < 16; j++) sc[j] = (int8_t)b[192 + j];
        return;
    }
    const uint8_t *s = b + 4;
    for (int j = 0; j < 4; j++) {
        sc[j] = s[j] & 63;
        mn[j] = s[j + 4] & 63;
        sc[j + 4] = (s[j + 8] & 15) | ((s[j] >> 6) << 4);
        mn[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4);
    }
    const uint8_t *qs = b + (kind == 0 ? 16 : 48), *qh = b + 16;
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) {
            int lo = qs[32 * c + l] & 15, hi = qs[32 * c + l] >> 4;
            if (kind == 1) { lo += 16 * ((qh[l] >> (2 * c)) & 1); hi += 16 * ((qh[l] >> (2 * c + 1)) & 1); }
            q[64 * c + l] = (int8_t)lo;
            q[64 * c + 32 + l] = (int8_t)hi;
        }
}

void opml_v2_matmul_k(int kind, const uint8_t *w, uint64_t k, uint64_t r0, uint64_t r1, const int8_t *xq,
                      const int64_t *xm, const int64_t *xe, const int64_t *bsum, int64_t *acc) {
    uint64_t ns = k / 256, bb = (uint64_t)KBYTES[kind];
    int sub = kind == 2 ? 16 : 32;
    int8_t q[256];
    int32_t sc[16], mn[8] = {0};
    for (uint64_t n = r0; n < r1; n++) {
        uint64_t total = 0;
        for (uint64_t b = 0; b < ns; b++) {
            const uint8_t *blk = w + (n * ns + b) * bb;
            const int8_t *x = xq + b * 256;
            kq_unpack(kind, blk, q, sc, mn);
            int64_t s1 = 0, dm, de;
            for (int j = 0; j < 256 / sub; j++) {
                int32_t isum = 0;
                for (int i = 0; i < sub; i++) isum += (int32_t)q[j * sub + i] * x[j * sub + i];
                s1 += (int64_t)sc[j] * isum;
            }
            fp16_me(rd16(blk + (kind == 2 ? 208 : 0)), &dm, &de);
            total += (uint64_t)shift_round(xm[b] * dm * s1, xe[b] + de + 24);
            if (kind != 2) {
                int64_t s2 = 0, mm, me;
                for (int j = 0; j < 8; j++) s2 += (int64_t)mn[j] * (bsum[b * 16 + 2 * j] + bsum[b * 16 + 2 * j + 1]);
                fp16_me(rd16(blk + 2), &mm, &me);
                total -= (uint64_t)shift_round(xm[b] * mm * s2, xe[b] + me + 24);
            }
        }
        acc[n] = (int64_t)total;
    }
}

void opml_v2_matmul_k_mt(int kind, const uint8_t *w, uint64_t k, uint64_t n, const int8_t *xq, const int64_t *xm,
                         const int64_t *xe, const int64_t *bsum, int64_t *acc, int threads) {
    (void)threads;
#pragma omp parallel num_threads(threads)
    {
        uint64_t r0, r1;
        my_rows(n, &r0, &r1);
        if (r0 < r1) opml_v2_matmul_k(kind, w, k, r0, r1, xq, xm, xe, bsum, acc);
    }
}

/* ---- A batch of T inputs against one weight (a prompt's positions): each weight block is
 * decoded once and multiplied with every input, the same terms as T separate calls. ---- */
void opml_v2_matmul_raw_batch(int kind, const uint8_t *w, uint64_t k, uint64_t n, uint64_t r0, uint64_t r1, uint64_t T,
                              const int8_t *xq, const int64_t *xm, const int64_t *xe, const int64_t *qsum,
                              int64_t *acc) {
    uint64_t nb = k / QK, bb = (uint64_t)BLOCK_BYTES_OF[kind], stride = nb * bb;
#if defined(__AVX2__)
    /* Each row (a few KB) stays in cache while every input passes over it. */
    uint64_t nv = nb & ~(uint64_t)7, w8 = nv + 8;
    int32_t *lanes = malloc(4 * T * w8 * sizeof(int32_t));
    ActLanes *al = malloc(T * sizeof(ActLanes));
    if (lanes && al) {
        for (uint64_t t = 0; t < T; t++) {
            int32_t *base = lanes + 4 * t * w8;
            al[t] = (ActLanes){base, base + w8, base + 2 * w8, base + 3 * w8};
            act_lanes(&al[t], nv, xm + t * nb, xe + t * nb, qsum + t * nb);
        }
        for (uint64_t r = r0; r < r1; r++)
            for (uint64_t t = 0; t < T; t++)
                acc[t * n + r] = (int64_t)row_total(kind, w + r * stride, nb, bb, xq + t * k, &al[t], xm + t * nb,
                                                    xe + t * nb, qsum + t * nb);
        free(lanes);
        free(al);
        return;
    }
    free(lanes);
    free(al);
#endif
    for (uint64_t r = r0; r < r1; r++)
        for (uint64_t t = 0; t < T; t++) {
            uint64_t total = 0, i = t * nb;
            for (uint64_t b = 0; b < nb; b++)
                total += block_terms(kind, w + r * stride + b * bb, xq + t * k + b * QK, xm[i + b], xe[i + b], qsum[i + b]);
            acc[t * n + r] = (int64_t)total;
        }
}

void opml_v2_matmul_raw_batch_mt(int kind, const uint8_t *w, uint64_t k, uint64_t n, uint64_t T, const int8_t *xq,
                                 const int64_t *xm, const int64_t *xe, const int64_t *qsum, int64_t *acc, int threads) {
    (void)threads;
#pragma omp parallel num_threads(threads)
    {
        uint64_t r0, r1;
        my_rows(n, &r0, &r1);
        if (r0 < r1) opml_v2_matmul_raw_batch(kind, w, k, n, r0, r1, T, xq, xm, xe, qsum, acc);
    }
}

/* ---- One decoder layer at one position, in one call: runner.step's layer, op for op, from the
 * same functions. Python's per-op overhead (hundreds of calls a token) is the reason. Every
 * node output is left in `o` (the trace reads them); `h` is updated in place. ---- */
typedef struct {
    int32_t *attn_norm, *q, *k, *v, *q_rope, *k_rope, *attn, *ffn_norm, *gate, *up, *swiglu; /* node outputs */
    int64_t *attn_residual, *ffn_residual;
    int8_t *xq; /* scratch: a quantized input, its block words, the accumulators, the scores */
    int64_t *xm, *xe, *qs, *acc0, *acc1, *acc2, *sc;
} LayerOut;

typedef struct {
    const uint8_t *w[7]; /* q, k, v, o, gate, up, down: the file's bytes */
    int kind[7];
    const int64_t *attn_gain, *ffn_gain;
} LayerWeights;

void opml_v2_layer(const LayerWeights *lw, int64_t *h, uint64_t d, uint64_t f, uint64_t H, uint64_t G, uint64_t hd,
                   int64_t eps_m, int64_t eps_e, const int32_t *cs, const int32_t *sn, int32_t *k_cache,
                   int32_t *v_cache, uint64_t pos, const int64_t *table, int64_t scale, LayerOut *o,
                   const int *threads) {
    uint64_t nq = H * hd, nkv = G * hd;
    opml_v2_rmsnorm(h, lw->attn_gain, d, eps_m, eps_e, o->attn_norm);
    opml_v2_quantize(o->attn_norm, d, o->xq, o->xm, o->xe, o->qs);
    {
        const uint8_t *ws[3] = {lw->w[0], lw->w[1], lw->w[2]};
        uint64_t ns[3] = {nq, nkv, nkv};
        int64_t *accs[3] = {o->acc0, o->acc1, o->acc2};
        opml_v2_matmul_raw_many(3, lw->kind, ws, ns, d, o->xq, o->xm, o->xe, o->qs, accs, threads[0]);
    }
    opml_v2_to_act(o->acc0, nq, o->q);
    opml_v2_to_act(o->acc1, nkv, o->k);
    opml_v2_to_act(o->acc2, nkv, o->v);
    for (uint64_t i = 0; i < nq; i++) o->q_rope[i] = o->q[i];
    for (uint64_t i = 0; i < nkv; i++) o->k_rope[i] = o->k[i];
    opml_v2_rope(o->q_rope, H, hd, cs, sn);
    opml_v2_rope(o->k_rope, G, hd, cs, sn);
    for (uint64_t i = 0; i < nkv; i++) {
        k_cache[pos * nkv + i] = o->k_rope[i];
        v_cache[pos * nkv + i] = o->v[i];
    }
    opml_v2_attention(o->q_rope, k_cache, v_cache, pos + 1, H, G, hd, table, scale, o->attn, o->sc);
    opml_v2_quantize(o->attn, nq, o->xq, o->xm, o->xe, o->qs);
    opml_v2_matmul_raw_mt(lw->kind[3], lw->w[3], nq, d, o->xq, o->xm, o->xe, o->qs, o->acc0, threads[1]);
    for (uint64_t i = 0; i < d; i++) o->attn_residual[i] = h[i] = (int64_t)((uint64_t)h[i] + (uint64_t)o->acc0[i]);
    opml_v2_rmsnorm(h, lw->ffn_gain, d, eps_m, eps_e, o->ffn_norm);
    opml_v2_quantize(o->ffn_norm, d, o->xq, o->xm, o->xe, o->qs);
    {
        const uint8_t *ws[2] = {lw->w[4], lw->w[5]};
        uint64_t ns[2] = {f, f};
        int64_t *accs[2] = {o->acc0, o->acc1};
        opml_v2_matmul_raw_many(2, lw->kind + 4, ws, ns, d, o->xq, o->xm, o->xe, o->qs, accs, threads[2]);
    }
    opml_v2_to_act(o->acc0, f, o->gate);
    opml_v2_to_act(o->acc1, f, o->up);
    opml_v2_swiglu(o->gate, o->up, f, table, o->swiglu);
    opml_v2_quantize(o->swiglu, f, o->xq, o->xm, o->xe, o->qs);
    opml_v2_matmul_raw_mt(lw->kind[6], lw->w[6], f, d, o->xq, o->xm, o->xe, o->qs, o->acc0, threads[3]);
    for (uint64_t i = 0; i < d; i++) o->ffn_residual[i] = h[i] = (int64_t)((uint64_t)h[i] + (uint64_t)o->acc0[i]);
}
