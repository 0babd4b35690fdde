"""Spec v2 (SPEC §3v2): numpy (ops.py) ≡ C (blockdot.c) ≡ a naive Python-int implementation,
written here from the SPEC's text alone, on every op and on edge values."""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import gguf
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.llm.v2 import fixed, native, ops
from offchain.llm.v2.blocks import BLOCK_BYTES, K_BYTES, FormatError, unpack, weight
from tests.budget import examples

TABLE = fixed.exp2_table()
i32 = st.integers(-(1 << 31), (1 << 31) - 1)


# ---- the naive implementation: Python ints, straight from SPEC §3v2 ----

def wrap(v: int) -> int:
    """v modulo 2^64 as a signed int64: SPEC §3v2.1's wrapping products and sums."""
    return (v + (1 << 63)) % (1 << 64) - (1 << 63)


def n_shift_round(v: int, s: int) -> int:
    if s >= 0:
        return ((v << s) + (1 << 63)) % (1 << 64) - (1 << 63)  # wraps like uint64
    if s < -62:
        return 0
    return (v + (1 << (-s - 1))) >> -s


def n_rdiv(n: int, d: int) -> int:
    return (2 * n + d) // (2 * d)


def n_rdiv_away(n: int, d: int) -> int:
    a = (2 * abs(n) + d) // (2 * d)
    return -a if n < 0 else a


def n_sat32(x: int) -> int:
    return max(-(1 << 31), min((1 << 31) - 1, x))


def n_fp16_round(x: Fraction) -> tuple[int, int]:
    """(m, e): x > 0 rounded to fp16, nearest, ties to even, m·2^e, m < 2^11."""
    e = -24
    while x / Fraction(2) ** e >= 2048:
        e += 1
    y = x / Fraction(2) ** e
    m = math.floor(y)
    r = y - m
    if r > Fraction(1, 2) or (r == Fraction(1, 2) and m % 2 == 1):
        m += 1
    if m == 2048:
        m, e = 1024, e + 1
    return m, e


def n_quantize(x: list[int]) -> tuple[list[int], list[tuple[int, int]], list[int]]:
    q, scales, sums = [], [], []
    for b in range(0, len(x), 32):
        blk = x[b:b + 32]
        amax = max(abs(v) for v in blk)
        qb = [n_rdiv_away(127 * v, max(amax, 1)) for v in blk]
        q += qb
        sums.append(sum(qb))
        scales.append((0, 0) if amax == 0 else n_fp16_round(Fraction(amax, 127 * 65536)))
    return q, scales, sums


def n_exp_neg(x: int) -> int:
    x = min(x, (1 << 31) - 1)
    u = x * 1549082005
    n, j = u >> 46, ((u % (1 << 46)) + (1 << 33)) >> 34
    if j == 4096:
        n, j = n + 1, 0
    return 0 if n >= 63 else int(TABLE[j]) >> n


# ---- primitives and tables ----

def test_exp2_table_is_two_to_the_minus_j_over_4096_at_2_to_the_minus_30():
    ref = [round(2 ** 30 * 2 ** (-j / 4096)) for j in range(0, 4096, 97)]
    assert [int(v) for v in TABLE[::97]] == ref
    assert TABLE[0] == 1 << 30


def test_rope_tables_are_cos_and_sin_at_2_to_the_minus_30():
    theta = np.float32(10000.0).view(np.uint32)
    cos, sin = fixed.rope_tables(int(theta), 8, 300)
    inv = 10000.0 ** (-np.arange(0, 8, 2) / 8)
    ang = np.arange(300)[:, None] * inv
    assert np.abs(cos / 2 ** 30 - np.cos(ang)).max() <= 2 ** -30
    assert np.abs(sin / 2 ** 30 - np.sin(ang)).max() <= 2 ** -30


@given(st.integers(-(1 << 61), 1 << 61), st.integers(-70, 2))
def test_shift_round(v, s):
    assert int(fixed.shift_round(v, s)) == n_shift_round(v, s)


@given(st.integers(0, (1 << 31) - 1))
def test_act_scale_is_fp16_of_amax_over_127_ties_to_even(amax):
    m, e = fixed.act_scale(np.array([amax]))
    assert (int(m[0]), int(e[0])) == ((0, 0) if amax == 0 else n_fp16_round(Fraction(amax, 127 * 65536)))
    if amax:  # and it is numpy's own fp16 rounding where float64 holds amax/127/2^16 closely enough
        f16 = float(np.float16(amax / 127 / 65536))
        assert abs(int(m[0]) * 2.0 ** int(e[0]) - f16) <= abs(f16) * 2 ** -10


@given(st.integers(-(1 << 15), (1 << 15) - 1))
def test_fp16_parts_are_the_exact_value(bits):
    b = bits & 0xFFFF
    if (b & 0x7C00) == 0x7C00:
        return
    m, e = fixed.fp16_parts(np.array([b], dtype=np.uint16))
    assert Fraction(int(m[0])) * Fraction(2) ** int(e[0]) == Fraction(struct.unpack("<e", struct.pack("<H", b))[0])


# ---- ops: numpy ≡ naive ≡ C ----

def act_vectors(n_blocks: int):
    return st.lists(st.one_of(i32, st.integers(-300, 300), st.just(0)), min_size=32 * n_blocks, max_size=32 * n_blocks)


@given(act_vectors(3))
def test_quantize_act(x):
    a = ops.quantize_act(np.array(x, dtype=np.int32))
    q, scales, sums = n_quantize(x)
    assert a.q.tolist() == q and a.qsum.tolist() == sums
    assert list(zip(a.xm.tolist(), a.xe.tolist())) == scales
    if native.NATIVE:
        nq, nm, ne, ns = native.quantize(np.array(x, dtype=np.int32))
        assert nq.tolist() == q and ns.tolist() == sums and list(zip(nm.tolist(), ne.tolist())) == scales


def random_blocks(kind: str, n: int, k: int, rng: np.random.Generator, big: bool) -> np.ndarray:
    nb = k // 32
    raw = rng.integers(0, 256, size=(n, nb, BLOCK_BYTES[kind]), dtype=np.uint8)
    scale_lo, scale_hi = (0x0000, 0x7BFF) if big else (0x1000, 0x2C00)  # any finite fp16, or realistic ones
    for off in (0, 2) if kind == "Q4_1" else (0,):
        s = rng.integers(scale_lo, scale_hi, size=(n, nb)).astype(np.uint16) | (rng.integers(0, 2, (n, nb)) << 15).astype(np.uint16)
        raw[:, :, off:off + 2] = s.view(np.uint8).reshape(n, nb, 2)
    return raw.reshape(n, nb * BLOCK_BYTES[kind])


def n_matmul(w, x: list[int]) -> list[int]:
    q, scales, sums = n_quantize(x)
    n, k = w.shape
    out = []
    for r in range(n):
        acc = 0
        for b in range(k // 32):
            xm, xe = scales[b]
            isum = sum(int(w.q[r, b * 32 + j]) * q[b * 32 + j] for j in range(32))
            acc += n_shift_round(xm * int(w.dm[r, b]) * isum, xe + int(w.de[r, b]) + 24)
            if w.mm is not None:
                acc += n_shift_round(xm * int(w.mm[r, b]) * sums[b], xe + int(w.me[r, b]) + 24)
        out.append(wrap(acc))
    return out


@pytest.mark.parametrize("kind", ["Q8_0", "Q4_0", "Q4_1"])
@settings(max_examples=examples(25))
@given(seed=st.integers(0, 2 ** 32 - 1), x=act_vectors(10), big=st.booleans())
def test_block_matmul(kind, seed, x, big):
    """10 blocks: 8 through the vector path, 2 through its block-by-block tail."""
    rng = np.random.default_rng(seed)
    wt = weight(kind, random_blocks(kind, 3, 320, rng, big), "w", (3, 320))
    a = ops.quantize_act(np.array(x, dtype=np.int32))
    ref = n_matmul(wt.unpacked(), x)
    assert ops.matmul_acc_reference(wt.unpacked(), a).tolist() == ref
    assert ops.matmul_acc(wt, a).tolist() == ref  # blockdot.c on the raw blocks, where a compiler works
    if native.NATIVE:  # and its block-by-block path, which the vector one falls back to for a tail
        acc = np.empty(wt.n, dtype=np.int64)
        native.matmul_raw_rows(kind, wt.raw, wt.k, a, acc, 0, wt.n, scalar=True)
        assert acc.tolist() == ref


@pytest.mark.parametrize("kind", ["Q8_0", "Q4_0", "Q4_1"])
def test_blocks_unpack_to_the_values_gguf_dequantizes(kind):
    rng = np.random.default_rng(7)
    raw = random_blocks(kind, 4, 96, rng, big=False)
    w = unpack(kind, raw, "w", (4, 96))
    deq = gguf.quants.dequantize(raw, gguf.GGMLQuantizationType[kind]).astype(np.float64)
    d = np.repeat(w.dm * 2.0 ** w.de, 32, axis=1)
    ours = d * w.q
    if w.mm is not None:
        ours = ours + np.repeat(w.mm * 2.0 ** w.me, 32, axis=1)
    assert np.array_equal(ours.astype(np.float32), deq.astype(np.float32))


def test_an_unsupported_type_and_a_nan_scale_are_refused_in_one_line():
    with pytest.raises(FormatError, match=r"^blk.0.ffn_up.weight: quantization type Q5_0 is not supported"):
        unpack("Q5_0", np.zeros((1, 22), np.uint8), "blk.0.ffn_up.weight", (1, 32))
    raw = np.zeros((1, 34), np.uint8)
    raw[0, 0:2] = np.array([0x7E00], np.uint16).view(np.uint8)
    with pytest.raises(FormatError, match="infinite or NaN"):
        unpack("Q8_0", raw, "token_embd.weight", (1, 32))


def n_rmsnorm(h: list[int], g: list[int], em: int, ee: int) -> list[int]:
    k = max(0, max(abs(v) for v in h).bit_length() - 24)
    x = [v >> k for v in h]
    eps = n_shift_round(em, ee + 48 - 2 * k)
    r = max(1, math.isqrt(sum(v * v for v in x) // len(h) + eps))
    return [n_sat32(n_rdiv(a * b, r << 8)) for a, b in zip(x, g)]


@given(st.lists(st.integers(-(1 << 45), 1 << 45), min_size=1, max_size=40), st.data())
def test_rmsnorm(h, data):
    g = data.draw(st.lists(i32, min_size=len(h), max_size=len(h)))
    em, ee = data.draw(st.integers(1 << 23, (1 << 24) - 1)), data.draw(st.integers(-72, -24))
    ref = n_rmsnorm(h, g, em, ee)
    assert ops.rmsnorm(np.array(h), np.array(g), em, ee).tolist() == ref
    if native.NATIVE:
        assert native.rmsnorm(np.array(h), np.array(g), em, ee).tolist() == ref


@given(st.lists(i32, min_size=12, max_size=12), st.lists(st.integers(-(1 << 30), 1 << 30), min_size=6, max_size=6))
def test_rope(x, cs):
    c, s = cs[:3], cs[3:]
    ref = []
    for h in range(2):
        for i in range(3):
            a, b = x[h * 6 + 2 * i], x[h * 6 + 2 * i + 1]
            ref += [n_sat32(n_shift_round(a * c[i] - b * s[i], -30)), n_sat32(n_shift_round(a * s[i] + b * c[i], -30))]
    xa, ca, sa = np.array(x, np.int32).reshape(2, 6), np.array(c, np.int32), np.array(s, np.int32)
    assert ops.rope(xa, ca, sa).reshape(-1).tolist() == ref
    if native.NATIVE:
        assert native.rope(xa, ca, sa).reshape(-1).tolist() == ref


def n_attention(q, k, v, H, G, hd, T):
    c = math.isqrt((1 << 60) // hd)
    out = []
    for h in range(H):
        g = h // (H // G)
        s = [n_shift_round(wrap(n_shift_round(wrap(sum(q[h][i] * k[t][g][i] for i in range(hd))), -16) * c), -30)
             for t in range(T)]
        p = [n_exp_neg(max(s) - st_) for st_ in s]
        P = sum(p)
        prob = [n_rdiv(pt << 30, P) for pt in p]
        out += [n_sat32(n_shift_round(wrap(sum(prob[t] * v[t][g][i] for t in range(T))), -30)) for i in range(hd)]
    return out


@settings(max_examples=examples(60))
@given(st.integers(1, 6), st.integers(0, 30), st.integers(0, 2 ** 32 - 1))
def test_attention(T, scale_bits, seed):
    rng = np.random.default_rng(seed)
    H, G, hd = 4, 2, 8
    lim = (1 << 31) - 1
    q = (rng.standard_normal((H, hd)) * 2.0 ** scale_bits).clip(-lim, lim).astype(np.int32)
    k = (rng.standard_normal((T, G, hd)) * 2.0 ** scale_bits).clip(-lim, lim).astype(np.int32)
    v = (rng.standard_normal((T, G, hd)) * 2.0 ** scale_bits).clip(-lim, lim).astype(np.int32)
    ref = n_attention(q.tolist(), k.tolist(), v.tolist(), H, G, hd, T)
    assert ops.attention(q, k, v, TABLE, ops.score_scale(hd)).tolist() == ref
    if native.NATIVE:
        assert native.attention(q, k, v, TABLE, ops.score_scale(hd)).tolist() == ref


@given(st.lists(st.tuples(i32, i32), min_size=1, max_size=30))
def test_swiglu(pairs):
    g, u = [p[0] for p in pairs], [p[1] for p in pairs]
    ref = []
    for a, b in zip(g, u):
        e = n_exp_neg(abs(a))
        sig = n_rdiv(1 << 60, (1 << 30) + e) if a >= 0 else n_rdiv(e << 30, (1 << 30) + e)
        ref.append(n_sat32(n_shift_round(n_shift_round(a * sig, -30) * b, -16)))
    ga, ua = np.array(g, np.int32), np.array(u, np.int32)
    assert ops.swiglu(ga, ua, TABLE).tolist() == ref
    if native.NATIVE:
        assert native.swiglu(ga, ua, TABLE).tolist() == ref


@given(st.lists(st.integers(0, (1 << 33)), min_size=1, max_size=20))
def test_exp_neg(xs):
    assert ops.exp_neg(np.array(xs), TABLE).tolist() == [n_exp_neg(x) for x in xs]
    for x in xs:  # and it is exp(−x) within the table's step
        assert abs(n_exp_neg(x) / 2 ** 30 - math.exp(-x / 65536)) <= 2e-4


@given(st.lists(st.integers(-(1 << 62), 1 << 62), min_size=1, max_size=20))
def test_to_act(acc):
    ref = [n_sat32(n_shift_round(a, -8)) for a in acc]
    assert ops.to_act(np.array(acc)).tolist() == ref
    if native.NATIVE:
        assert native.to_act(np.array(acc)).tolist() == ref


# ---- k-quants: 256-value super-blocks against an input quantized per 256 ----

def random_k_blocks(kind: str, n: int, k: int, rng: np.random.Generator, big: bool) -> np.ndarray:
    ns = k // 256
    raw = rng.integers(0, 256, size=(n, ns, K_BYTES[kind]), dtype=np.uint8)
    lo, hi = (0x0000, 0x7BFF) if big else (0x1000, 0x2C00)
    for off in (208,) if kind == "Q6_K" else (0, 2):
        raw[:, :, off:off + 2] = rng.integers(lo, hi, size=(n, ns)).astype(np.uint16).view(np.uint8).reshape(n, ns, 2)
    return raw.reshape(n, -1)


def n_matmul_k(w, x: list[int]) -> list[int]:
    """SPEC §3v2.3 item 2 for k-quants, in Python ints, from the unpacked integers."""
    sub = 16 if w.kind == "Q6_K" else 32
    out = []
    for r in range(w.shape[0]):
        acc = 0
        for b in range(len(x) // 256):
            blk = x[256 * b:256 * b + 256]
            amax = max(abs(v) for v in blk)
            q = [n_rdiv_away(127 * v, max(amax, 1)) for v in blk]
            xm, xe = (0, 0) if amax == 0 else n_fp16_round(Fraction(amax, 127 * 65536))
            s1 = sum(int(w.sc[r, b * (256 // sub) + j]) *
                     sum(int(w.q[r, 256 * b + j * sub + i]) * q[j * sub + i] for i in range(sub)) for j in range(256 // sub))
            acc += n_shift_round(xm * int(w.dm[r, b]) * s1, xe + int(w.de[r, b]) + 24)
            if w.mn is not None:
                s2 = sum(int(w.mn[r, b * 8 + j]) * sum(q[32 * j:32 * j + 32]) for j in range(8))
                acc -= n_shift_round(xm * int(w.mm[r, b]) * s2, xe + int(w.me[r, b]) + 24)
        out.append(wrap(acc))
    return out


@pytest.mark.parametrize("kind", ["Q4_K", "Q5_K", "Q6_K"])
@settings(max_examples=examples(10))
@given(seed=st.integers(0, 2 ** 32 - 1), big=st.booleans(), bits=st.integers(0, 30))
def test_k_quant_matmul(kind, seed, big, bits):
    rng = np.random.default_rng(seed)
    wt = weight(kind, random_k_blocks(kind, 3, 512, rng, big), "w", (3, 512))
    x = (rng.standard_normal(512) * 2.0 ** bits).clip(-2 ** 31, 2 ** 31 - 1).astype(np.int32)
    a = ops.quantize_act(x)
    ref = n_matmul_k(wt.unpacked(), x.tolist())
    assert ops.matmul_acc_reference(wt.unpacked(), ops.act_k(a)).tolist() == ref
    assert ops.matmul_acc(wt, a).tolist() == ref  # blockdot.c on the raw super-blocks


@pytest.mark.parametrize("kind", ["Q4_K", "Q5_K", "Q6_K"])
def test_k_quants_unpack_to_the_values_gguf_dequantizes(kind):
    raw = random_k_blocks(kind, 4, 512, np.random.default_rng(3), big=False)
    w = unpack(kind, raw, "w", (4, 512))
    sub = 16 if kind == "Q6_K" else 32
    ours = np.repeat(w.dm * 2.0 ** w.de, 256, axis=1) * np.repeat(w.sc.astype(np.float64), sub, axis=1) * w.q
    if w.mn is not None:
        ours -= np.repeat(w.mm * 2.0 ** w.me, 256, axis=1) * np.repeat(w.mn.astype(np.float64), 32, axis=1)
    deq = gguf.quants.dequantize(raw, gguf.GGMLQuantizationType[kind])
    assert np.array_equal(ours.astype(np.float32), deq.astype(np.float32))


@pytest.mark.parametrize("kind", ["Q8_0", "Q4_0", "Q4_1", "Q4_K", "Q5_K", "Q6_K"])
def test_an_embedding_row_is_the_dequantized_row_exactly(kind):
    rng = np.random.default_rng(5)
    raw = random_k_blocks(kind, 3, 512, rng, False) if kind.endswith("_K") else random_blocks(kind, 3, 512, rng, False)
    w = weight(kind, raw, "w", (3, 512))
    deq = gguf.quants.dequantize(raw, gguf.GGMLQuantizationType[kind]).astype(np.float32)
    for i in range(3):  # every fp16 multiple is a multiple of 2^-24: the residual holds it exactly
        assert np.array_equal((ops.embed_row(w, i) / 2.0 ** 24).astype(np.float32), deq[i])
