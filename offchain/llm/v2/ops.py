"""Spec v2's ops (SPEC §3v2.3) in numpy: the definition the native helpers and the MIPS kernels
must match bit for bit. Activations are int32 at 2^-16, the residual int64 at 2^-24."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from offchain.llm.ops import PARALLEL_MIN_ELEMENTS, WORKERS, _pool
from offchain.llm.v2 import native
from offchain.llm.v2.blocks import QK, BlockMatrix
from offchain.llm.v2.fixed import (ACT_FRAC, EXP2_BITS, I8, I32, I64, LOG2E_Q30, RES_FRAC, TAB_FRAC, act_scale,
                                   bitlen, round_div, round_div_away, sat32, shift_round)

ACC_SHIFT = RES_FRAC  # block products are summed at 2^-24


@dataclass
class QuantAct:
    """An activation vector quantized per 32-value block, as llama.cpp's Q8_0/Q8_1 does on CPU:
    q = round-half-away(127·x/amax), scale d = fp16(amax/127) = xm·2^xe, qsum = Σq per block."""
    q: np.ndarray  # int8 [K]
    xm: np.ndarray  # int64 [K/32]
    xe: np.ndarray  # int64 [K/32]
    qsum: np.ndarray  # int64 [K/32]
    x: np.ndarray  # the int32 input itself (F32/F16 weights multiply it unquantized)


def quantize_act(x: np.ndarray) -> QuantAct:
    x = np.asarray(x, dtype=I32)
    xb = x.astype(I64).reshape(-1, QK)
    amax = np.abs(xb).max(axis=1)
    q = round_div_away(127 * xb, np.maximum(amax, 1)[:, None])
    xm, xe = act_scale(amax)
    return QuantAct(q.astype(I8).reshape(-1), xm, xe, q.sum(axis=1), x)


def matmul_acc(w: BlockMatrix, a: QuantAct) -> np.ndarray:
    """matmul_acc_reference, natively where a C compiler works (blockdot.c, bit for bit the same);
    large matrices split their rows over threads, each writing only its own rows."""
    if not native.NATIVE or w.kind in ("F32", "F16"):
        return matmul_acc_reference(w, a)
    n, k = w.shape
    acc = np.empty(n, dtype=I64)
    if n * k < PARALLEL_MIN_ELEMENTS or WORKERS == 1:
        native.matmul_rows(w, a, acc, 0, n)
        return acc
    step = -(-n // WORKERS)
    list(_pool().map(lambda r0: native.matmul_rows(w, a, acc, r0, min(n, r0 + step)), range(0, n, step)))
    return acc


def matmul_acc_reference(w: BlockMatrix, a: QuantAct) -> np.ndarray:
    """int64 [N] at 2^-24: Σ over blocks b of shift_round(xm·dm·isum_b, xe + de + 24)
    (+ shift_round(xm·mm·qsum_b, xe + me + 24) for Q4_1), isum_b = Σ q_w·q_x exactly.
    F32/F16 weights: Σ_k shift_round(x_k·m_k, e_k + 8) over the unquantized int32 input."""
    n, k = w.shape
    if w.kind in ("F32", "F16"):
        return shift_round(w.q * a.x.astype(I64)[None, :], w.dm.astype(I64) + (RES_FRAC - ACT_FRAC)).sum(axis=1)
    nb = k // QK
    isum = np.einsum("nbk,bk->nb", w.q.reshape(n, nb, QK).astype(np.int32), a.q.reshape(nb, QK).astype(np.int32))
    acc = shift_round(a.xm[None, :] * w.dm.astype(I64) * isum, a.xe[None, :] + w.de.astype(I64) + ACC_SHIFT).sum(axis=1)
    if w.mm is not None:
        acc += shift_round(a.xm[None, :] * w.mm.astype(I64) * a.qsum[None, :],
                           a.xe[None, :] + w.me.astype(I64) + ACC_SHIFT).sum(axis=1)
    return acc


def to_act(acc: np.ndarray) -> np.ndarray:
    """A 2^-24 accumulator to an int32 activation at 2^-16 (rounded half up, saturated)."""
    return sat32(shift_round(acc, ACT_FRAC - RES_FRAC))


def embed_row(w: BlockMatrix, token: int) -> np.ndarray:
    """The residual (int64, 2^-24) of `token`: its embedding row, dequantized exactly where the
    format allows (every fp16 multiple is a multiple of 2^-24) and rounded half up otherwise."""
    if w.kind in ("F32", "F16"):
        return shift_round(w.q[token], w.dm[token].astype(I64) + RES_FRAC)
    q = w.q[token].astype(I64).reshape(-1, QK)
    v = shift_round(w.dm[token].astype(I64)[:, None] * q, w.de[token].astype(I64)[:, None] + RES_FRAC)
    if w.mm is not None:
        v = v + shift_round(w.mm[token].astype(I64), w.me[token].astype(I64) + RES_FRAC)[:, None]
    return v.reshape(-1)


def isqrt(n: int) -> int:
    """floor(√n) for 0 ≤ n < 2^63."""
    import math

    return math.isqrt(int(n))


def rmsnorm(h: np.ndarray, gain: np.ndarray, eps_m: int, eps_e: int) -> np.ndarray:
    """int32 [d] at 2^-16: y_i = round_div(x'_i·g_i, r·2^8), g the gain at 2^-24, with
    x' = h >> k (floor), k = max(0, bitlen(max|h|) − 24), so |x'| < 2^24 and Σx'² < 2^62;
    r = max(1, isqrt(floor(Σx'²/d) + eps')), eps' = shift_round(eps_m, eps_e + 48 − 2k)."""
    h = np.asarray(h, dtype=I64)
    k = max(0, int(bitlen(np.abs(h).max())) - 24)
    x = h >> k
    s = int(np.dot(x, x))
    eps = int(shift_round(eps_m, eps_e + 2 * RES_FRAC - 2 * k))
    r = max(1, isqrt(s // h.shape[0] + eps))
    return sat32(round_div(x * gain, r << (RES_FRAC - ACT_FRAC)))


def rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """x int32 [heads, hd] at 2^-16, tables int32 [hd/2] at 2^-30 (one position); adjacent pairs
    (2i, 2i+1) rotate (llama.cpp's "norm" RoPE): a' = shift_round(a·c − b·s, −30), b' likewise."""
    x64 = x.astype(I64)
    a, b = x64[:, 0::2], x64[:, 1::2]
    c, s = cos.astype(I64)[None, :], sin.astype(I64)[None, :]
    y = np.empty_like(x64)
    y[:, 0::2] = shift_round(a * c - b * s, -TAB_FRAC)
    y[:, 1::2] = shift_round(a * s + b * c, -TAB_FRAC)
    return sat32(y)


def exp_neg(x: np.ndarray, table: np.ndarray) -> np.ndarray:
    """exp(−x) at 2^-30 for x ≥ 0 at 2^-16 (clamped to 2^31 − 1): u = x·log2(e) at 2^-46,
    n = u >> 46, j = the fraction rounded half up to 12 bits (a carry into n at 4096),
    exp = table[j] >> n (0 for n ≥ 63)."""
    x = np.minimum(np.asarray(x, dtype=I64), (1 << 31) - 1)
    u = x * LOG2E_Q30
    frac_bits = ACT_FRAC + TAB_FRAC
    n = u >> frac_bits
    j = ((u & ((np.int64(1) << frac_bits) - 1)) + (np.int64(1) << (frac_bits - EXP2_BITS - 1))) >> (frac_bits - EXP2_BITS)
    n = np.where(j == (1 << EXP2_BITS), n + 1, n)
    j = np.where(j == (1 << EXP2_BITS), 0, j)
    return np.where(n >= 63, 0, table[j] >> np.minimum(n, 62))


def score_scale(head_dim: int) -> int:
    """1/√hd at 2^-30: isqrt(floor(2^60 / hd))."""
    return isqrt((1 << 60) // head_dim)


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, table: np.ndarray, scale: int) -> np.ndarray:
    """One query position over T cached positions. q int32 [H, hd]; k, v int32 [T, G, hd];
    returns int32 [H·hd] at 2^-16.
    scores s[h,t] = shift_round(shift_round(Σ_i q·k, −16)·scale, −30) (2^-16);
    p_t = exp_neg(max_t s − s_t); prob_t = round_div(p_t·2^30, Σp) (2^-30);
    o = shift_round(Σ_t prob_t·v_t, −30)."""
    H, hd = q.shape
    T, G, _ = k.shape
    rep = H // G
    kh = np.repeat(k.astype(I64), rep, axis=1)  # [T, H, hd]
    vh = np.repeat(v.astype(I64), rep, axis=1)
    dots = np.einsum("hi,thi->ht", q.astype(I64), kh)
    s = shift_round(shift_round(dots, -ACT_FRAC) * scale, -TAB_FRAC)
    p = exp_neg(s.max(axis=1, keepdims=True) - s, table)
    prob = round_div(p << TAB_FRAC, p.sum(axis=1, keepdims=True))
    o = shift_round(np.einsum("ht,thi->hi", prob, vh), -TAB_FRAC)
    return sat32(o).reshape(-1)


def swiglu(gate: np.ndarray, up: np.ndarray, table: np.ndarray) -> np.ndarray:
    """silu(g)·u at 2^-16: e = exp_neg(|g|); σ = round_div(2^60, 2^30 + e) for g ≥ 0, else
    round_div(e·2^30, 2^30 + e); silu = shift_round(g·σ, −30); y = sat32(shift_round(silu·u, −16))."""
    g = gate.astype(I64)
    e = exp_neg(np.abs(g), table)
    one = np.int64(1) << TAB_FRAC
    sig = np.where(g >= 0, round_div(one << TAB_FRAC, one + e), round_div(e << TAB_FRAC, one + e))
    silu = shift_round(g * sig, -TAB_FRAC)
    return sat32(shift_round(silu * up.astype(I64), -ACT_FRAC))


def argmax(z: np.ndarray) -> int:
    """The lowest index of the maximum (greedy decoding)."""
    return int(np.argmax(z))
