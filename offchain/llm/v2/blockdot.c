/* Spec v2's block matmul (SPEC §3v2.3), natively: for rows r0 .. r1 of a weight matrix in a
 * 32-value block format, acc[n] = Σ_b shift_round(xm_b·dm_nb·isum_nb, xe_b + de_nb + 24)
 * (+ shift_round(xm_b·mm_nb·qsum_b, xe_b + me_nb + 24) with a block minimum), isum the exact int32
 * dot product of the block's int8 values. It is ops.matmul_acc's definition, term for term: each
 * block's term is rounded on its own and the int64 sum wraps like numpy's, so the order of the
 * additions and the vector width cannot change a bit. */
#include <stdint.h>

#define QK 32

static inline int64_t shift_round(int64_t v, int64_t s) {
    if (s >= 0) return (int64_t)((uint64_t)v << (s > 63 ? 63 : s));
    if (s < -62) return 0;
    int k = (int)-s;
    return (int64_t)((uint64_t)v + ((uint64_t)1 << (k - 1))) >> k;
}

static inline int32_t dot32(const int8_t *a, const int8_t *b) {
    int32_t s = 0;
    for (int i = 0; i < QK; i++) s += (int32_t)a[i] * (int32_t)b[i];
    return s;
}

void opml_v2_matmul(const int8_t *q, const int16_t *dm, const int8_t *de, const int16_t *mm, const int8_t *me,
                    uint64_t k, uint64_t r0, uint64_t r1, const int8_t *xq, const int64_t *xm, const int64_t *xe,
                    const int64_t *qsum, int64_t *acc) {
    uint64_t nb = k / QK;
    for (uint64_t n = r0; n < r1; n++) {
        const int8_t *row = q + n * k;
        const int16_t *dmr = dm + n * nb;
        const int8_t *der = de + n * nb;
        uint64_t total = 0;
        for (uint64_t b = 0; b < nb; b++) {
            int64_t isum = dot32(row + b * QK, xq + b * QK);
            total += (uint64_t)shift_round(xm[b] * (int64_t)dmr[b] * isum, xe[b] + (int64_t)der[b] + 24);
        }
        if (mm) {
            const int16_t *mmr = mm + n * nb;
            const int8_t *mer = me + n * nb;
            for (uint64_t b = 0; b < nb; b++)
                total += (uint64_t)shift_round(xm[b] * (int64_t)mmr[b] * qsum[b], xe[b] + (int64_t)mer[b] + 24);
        }
        acc[n] = (int64_t)total;
    }
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
