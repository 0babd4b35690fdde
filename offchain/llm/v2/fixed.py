"""Spec v2's integer primitives (SPEC §3v2.1), vectorised over numpy int64 arrays.

Every function is a definition in exact integers; tests/llm/test_v2_ops.py holds a second, naive
Python-int implementation of each, and the two must agree bit for bit. Nothing here uses floats,
and no result depends on an order of summation.
"""

from __future__ import annotations

from decimal import Decimal, getcontext

import numpy as np

I8, I16, I32, I64 = np.int8, np.int16, np.int32, np.int64

#: Fixed-point domains (fractional bits). Activations between ops are int32 at 2^-16; the residual
#: stream and matmul accumulators are int64 at 2^-24; trig tables and probabilities at 2^-30.
ACT_FRAC, RES_FRAC, TAB_FRAC = 16, 24, 30
EXP2_BITS = 12  # the exp2 table has 2^12 entries: 2^(-j/4096), j = 0..4095 (§3v2.1)
LOG2E_Q30 = 1549082005  # round(log2(e) · 2^30)
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def sat32(x: np.ndarray) -> np.ndarray:
    return np.clip(x, INT32_MIN, INT32_MAX).astype(I32)


def shift_round(v: np.ndarray, s: np.ndarray | int) -> np.ndarray:
    """v·2^s exactly for s ≥ 0, else v / 2^-s rounded half up (toward +∞); 0 for s < −62
    (operands are below 2^62 in magnitude). Left shifts wrap modulo 2^64 like C's uint64."""
    v = np.asarray(v, dtype=I64)
    s = np.asarray(s, dtype=I64)
    left = np.left_shift(v, np.clip(s, 0, 63))
    k = np.clip(-s, 1, 62)
    right = np.right_shift(v + np.left_shift(np.int64(1), k - 1), k)
    out = np.where(s >= 0, left, right)
    return np.where(s < -62, np.int64(0), out)


def round_div(n: np.ndarray, d: np.ndarray | int) -> np.ndarray:
    """n / d rounded half up, for d > 0: floor((2n + d) / (2d)) (floor division)."""
    n = np.asarray(n, dtype=I64)
    return (2 * n + d) // (2 * np.asarray(d, dtype=I64))


def round_div_away(n: np.ndarray, d: np.ndarray | int) -> np.ndarray:
    """n / d rounded half away from zero (C's roundf), for d > 0."""
    n = np.asarray(n, dtype=I64)
    d = np.asarray(d, dtype=I64)
    a = (2 * np.abs(n) + d) // (2 * d)
    return np.where(n < 0, -a, a)


def bitlen(x: np.ndarray) -> np.ndarray:
    """Bit length of non-negative int64 values (0 for 0), exactly, without floats."""
    x = np.asarray(x, dtype=I64).copy()
    n = np.zeros(x.shape, dtype=I64)
    for k in (32, 16, 8, 4, 2, 1):
        big = x >= (np.int64(1) << k)
        n = np.where(big, n + k, n)
        x = np.where(big, x >> k, x)
    return n + (x > 0)


def _ieee_parts(bits: np.ndarray, exp_bits: int, frac_bits: int) -> tuple[np.ndarray, np.ndarray]:
    b = np.asarray(bits).astype(I64)
    sign = np.where(b >> (exp_bits + frac_bits), -1, 1)
    ex = (b >> frac_bits) & ((1 << exp_bits) - 1)
    fr = b & ((1 << frac_bits) - 1)
    m = np.where(ex == 0, fr, fr | (1 << frac_bits)) * sign
    bias = (1 << (exp_bits - 1)) - 1
    e = np.where(ex == 0, 1 - bias - frac_bits, ex - bias - frac_bits)
    return m.astype(I64), e.astype(I64)


def fp16_parts(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An IEEE half as an exact dyadic rational: (m, e) with value = m·2^e, |m| < 2^11
    (normal: e = exponent − 25; subnormal: e = −24). NaN and infinity are refused by the loader
    before this is called."""
    return _ieee_parts(np.asarray(bits, dtype=np.uint16), 5, 10)


def f32_parts(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An IEEE single as (m, e), value = m·2^e, |m| < 2^24 (e = exponent − 150; subnormal −149)."""
    return _ieee_parts(np.asarray(bits, dtype=np.uint32), 8, 23)


def act_scale(amax: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fp16 scale of an activation block, d = fp16(amax/127) with amax at 2^-16 (llama.cpp's
    Q8_0/Q8_1), as (m, e): m = round-half-even(amax·2^(-e-16)/127) with 2^10 ≤ m < 2^11 where the
    exponent allows (subnormal at e = −24), m = 0 for amax = 0."""
    a = np.asarray(amax, dtype=I64)
    # a/127 lies in [2^(bitlen−8), 2^(bitlen−6)); start one below and step up at most twice.
    e = np.maximum(bitlen(a) - 8 - ACT_FRAC - 10, -24)
    for _ in range(3):
        s = -e - ACT_FRAC  # value/2^e = a·2^s/127
        num = np.where(s >= 0, a << np.clip(s, 0, 62), a)
        den = np.where(s >= 0, 127, np.int64(127) << np.clip(-s, 0, 62))
        q, r = num // den, num % den
        m = q + ((2 * r > den) | ((2 * r == den) & (q & 1 == 1)))
        grow = m >= 2048
        e = np.where(grow, e + 1, e)
    return np.where(a == 0, 0, m), np.where(a == 0, 0, e)


def exp2_table() -> np.ndarray:
    """int64 [4096]: round(2^30 · 2^(−j/4096)), half up, computed in 50-digit decimal arithmetic
    (correctly rounded exp/ln), so every platform builds the same table."""
    getcontext().prec = 50
    ln2 = Decimal(2).ln()
    n = 1 << EXP2_BITS
    return np.array([int((Decimal(1 << TAB_FRAC) * (-ln2 * j / n).exp() + Decimal("0.5")).to_integral_value(
        rounding="ROUND_FLOOR")) for j in range(n)], dtype=I64)


def _dec_cos_sin(x: Decimal) -> tuple[Decimal, Decimal]:
    """cos and sin of a non-negative Decimal by Taylor series after reduction modulo 2π."""
    getcontext().prec = 60
    pi = _dec_pi()
    x = x % (2 * pi)
    c, s, term, k = Decimal(0), Decimal(0), Decimal(1), 0
    while True:
        if k % 4 == 0:
            c += term
        elif k % 4 == 1:
            s += term
        elif k % 4 == 2:
            c -= term
        else:
            s -= term
        k += 1
        term = term * x / k
        if abs(term) < Decimal("1e-55") and k > 2:
            return c, s


_PI: Decimal | None = None


def _dec_pi() -> Decimal:
    """π to 60 digits (Machin's formula)."""
    global _PI
    if _PI is None:
        getcontext().prec = 70

        def arctan_inv(n: int) -> Decimal:
            x, x2, total, k, sign = Decimal(1) / n, Decimal(n * n), Decimal(0), 1, 1
            term = x
            while term > Decimal("1e-68"):
                total += sign * term / k
                term /= x2
                k += 2
                sign = -sign
            return total

        _PI = 16 * arctan_inv(5) - 4 * arctan_inv(239)
    return _PI


def rope_tables(theta_bits: int, head_dim: int, max_seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """int32 [S, hd/2] cos and sin of pos·θ^(−2i/hd) at 2^-30, θ the file's float32 (bits).

    The angle step of each pair i is computed in 60-digit decimal arithmetic; positions follow by
    the exact angle-addition recurrence in 2^-120 fixed point (Python integers), rounded half up
    to 2^-30 at the end. Every platform builds the same integers."""
    getcontext().prec = 60
    m, e = (int(v[0]) for v in f32_parts(np.array([theta_bits], dtype=np.uint32)))
    theta = Decimal(int(m)) * (Decimal(2) ** int(e))
    F = 120
    one = 1 << F
    half = 1 << (F - TAB_FRAC - 1)
    cos = np.empty((max_seq_len, head_dim // 2), dtype=I32)
    sin = np.empty_like(cos)
    for i in range(head_dim // 2):
        step = (-(Decimal(2 * i) / head_dim) * theta.ln()).exp()
        c1, s1 = _dec_cos_sin(step)
        ci, si = int((c1 * one).to_integral_value()), int((s1 * one).to_integral_value())
        c, s = one, 0
        for p in range(max_seq_len):
            cos[p, i] = (c + half) >> (F - TAB_FRAC)
            sin[p, i] = (s + half) >> (F - TAB_FRAC)
            c, s = (c * ci - s * si) >> F, (s * ci + c * si) >> F
    return cos, sin
