"""Spec v2's ops (SPEC §3v2.3) in numpy: the definition the native helpers and the MIPS kernels
must match bit for bit. Activations are int32 at 2^-16, the residual int64 at 2^-24."""

from __future__ import annotations

import math

import numpy as np

from offchain.llm.ops import WORKERS
from offchain.llm.v2 import native
from offchain.llm.v2.blocks import K_SUB, QK, QKK, BlockMatrix, QuantAct, Weight
from offchain.llm.v2.fixed import (
    ACT_FRAC,
    EXP2_BITS,
    I8,
    I32,
    I64,
    LOG2E_Q30,
    RES_FRAC,
    TAB_FRAC,
    act_scale,
    bitlen,
    round_div,
    round_div_away,
    sat32,
    shift_round,
)

ACC_SHIFT = RES_FRAC  # block products are summed at 2^-24


def quantize_act(x: np.ndarray, block: int = QK) -> QuantAct:
    """Per `block` values (32; 256 for k-quant weights, as llama.cpp's Q8_K). With 256, `qsum`
    holds the sums of each 16 values (llama.cpp's bsums)."""
    x = np.asarray(x, dtype=I32)
    xb = x.astype(I64).reshape(-1, block)
    amax = np.abs(xb).max(axis=1)
    q = round_div_away(127 * xb, np.maximum(amax, 1)[:, None])
    xm, xe = act_scale(amax)
    sums = q.sum(axis=1) if block == QK else q.reshape(-1, 16).sum(axis=1)
    return QuantAct(q.astype(I8).reshape(-1), xm, xe, sums, x)


def act_k(a: QuantAct) -> QuantAct:
    """The input of `a` quantized per 256 values (k-quant weights), made once per activation."""
    if a.k256 is None:
        a.k256 = quantize_act(a.x, QKK)
    return a.k256


PARALLEL_V2 = 1 << 17  # weights at least this large split their rows over the worker threads (SmolLM2: all but k, v)


def matmul_acc(w: Weight, a: QuantAct) -> np.ndarray:
    """matmul_acc_reference, natively where a C compiler works: blockdot.c reads the file's own
    block bytes, bit for bit the same terms; large matrices split their rows over threads, each
    writing only its own rows."""
    if w.kind in K_SUB:
        a = act_k(a)
    if not native.NATIVE or (w.kind not in native.RAW_KINDS and w.kind not in native.K_KINDS):
        return matmul_acc_reference(w.unpacked(), a)
    n, k = w.shape
    acc = np.empty(n, dtype=I64)
    native.matmul_raw(w.kind, w.raw, k, a, acc, 1 if n * k < PARALLEL_V2 else WORKERS)
    return acc


def matmul_acc_many(ws: list[Weight], a: QuantAct) -> list[np.ndarray]:
    """matmul_acc of one input against each weight; natively in one threaded call where every
    weight is a 32-value block format (the others go one by one)."""
    if native.NATIVE and all(w.kind in native.RAW_KINDS for w in ws):
        size = sum(w.n * w.k for w in ws)
        return native.matmul_raw_many([w.kind for w in ws], [w.raw for w in ws], ws[0].k, a,
                                      1 if size < PARALLEL_V2 else WORKERS)
    return [matmul_acc(w, a) for w in ws]


def matmul_acc_numpy(w: Weight, a: QuantAct) -> np.ndarray:
    """matmul_acc by the numpy definition alone, whatever the host has."""
    return matmul_acc_reference(w.unpacked(), act_k(a) if w.kind in K_SUB else a)


def matmul_acc_batch(w: Weight, acts: list[QuantAct]) -> np.ndarray:
    """int64 [T, N]: matmul_acc of each input; natively one pass over the weight for all T."""
    n, k = w.shape
    if native.NATIVE and w.kind in native.RAW_KINDS:
        return native.matmul_raw_batch(w.kind, w.raw, k, acts, n, 1 if n * k < PARALLEL_V2 else WORKERS)
    return np.stack([matmul_acc(w, a) for a in acts])


def matmul_acc_reference(w: BlockMatrix, a: QuantAct) -> np.ndarray:
    """int64 [N] at 2^-24: Σ over blocks b of shift_round(xm·dm·isum_b, xe + de + 24)
    (+ shift_round(xm·mm·qsum_b, xe + me + 24) for Q4_1), isum_b = Σ q_w·q_x exactly.
    F32/F16 weights: Σ_k shift_round(x_k·m_k, e_k + 8) over the unquantized int32 input."""
    n, k = w.shape
    if w.kind in K_SUB:
        return matmul_k_reference(w, a)
    if w.kind in ("F32", "F16"):
        return shift_round(w.q * a.x.astype(I64)[None, :], w.dm.astype(I64) + (RES_FRAC - ACT_FRAC)).sum(axis=1)
    nb = k // QK
    isum = np.einsum("nbk,bk->nb", w.q.reshape(n, nb, QK).astype(np.int32), a.q.reshape(nb, QK).astype(np.int32))
    acc = shift_round(a.xm[None, :] * w.dm.astype(I64) * isum, a.xe[None, :] + w.de.astype(I64) + ACC_SHIFT).sum(axis=1)
    if w.mm is not None:
        acc += shift_round(a.xm[None, :] * w.mm.astype(I64) * a.qsum[None, :],
                           a.xe[None, :] + w.me.astype(I64) + ACC_SHIFT).sum(axis=1)
    return acc


def matmul_k_reference(w: BlockMatrix, a: QuantAct) -> np.ndarray:
    """A k-quant weight against an input quantized per 256 (`a.qsum`: the sums of 16). Per
    super-block b, with isum_j the exact dot product of sub-block j:
    Q4_K/Q5_K: shift_round(xm·dm·Σ_j sc_j·isum_j, xe + de + 24) − shift_round(xm·mm·Σ_j mn_j·bsum_j, xe + me + 24),
    bsum_j the sum of the input's 32 quantized values under sub-block j;
    Q6_K: shift_round(xm·dm·Σ_j sc_j·isum_j, xe + de + 24), sub-blocks of 16."""
    assert w.sc is not None
    n, k = w.shape
    ns, sub = k // QKK, K_SUB[w.kind]
    isum = np.einsum("nsk,sk->ns", w.q.reshape(n, k // sub, sub).astype(I64), a.q.reshape(k // sub, sub).astype(I64))
    s1 = (w.sc.astype(I64) * isum).reshape(n, ns, QKK // sub).sum(axis=2)
    xm, xe = a.xm[None, :], a.xe[None, :]
    acc = shift_round(xm * w.dm.astype(I64) * s1, xe + w.de.astype(I64) + ACC_SHIFT).sum(axis=1)
    if w.mn is not None:
        assert w.mm is not None and w.me is not None
        bsum32 = a.qsum.reshape(-1, 2).sum(axis=1)  # [K/32]
        s2 = (w.mn.astype(I64) * bsum32[None, :]).reshape(n, ns, 8).sum(axis=2)
        acc -= shift_round(xm * w.mm.astype(I64) * s2, xe + w.me.astype(I64) + ACC_SHIFT).sum(axis=1)
    return acc


def to_act(acc: np.ndarray) -> np.ndarray:
    """A 2^-24 accumulator to an int32 activation at 2^-16 (rounded half up, saturated)."""
    return sat32(shift_round(acc, ACT_FRAC - RES_FRAC))


def embed_row(weight: Weight, token: int) -> np.ndarray:
    """The residual (int64, 2^-24) of `token`: its embedding row, dequantized exactly where the
    format allows (every fp16 multiple is a multiple of 2^-24) and rounded half up otherwise."""
    w = weight.row(token)
    if w.kind in ("F32", "F16"):
        return shift_round(w.q[0], w.dm[0].astype(I64) + RES_FRAC)
    if w.sc is not None:  # k-quants: d·sc·q (− dmin·mn), exact at 2^-24 too
        sub = K_SUB[w.kind]
        q = w.q[0].astype(I64).reshape(-1, QKK)
        sc = w.sc[0].astype(I64).reshape(-1, QKK // sub).repeat(sub, axis=1)
        v = shift_round(w.dm[0].astype(I64)[:, None] * sc * q, w.de[0].astype(I64)[:, None] + RES_FRAC)
        if w.mn is not None:
            mn = w.mn[0].astype(I64).reshape(-1, 8).repeat(32, axis=1)
            v = v - shift_round(w.mm[0].astype(I64)[:, None] * mn, w.me[0].astype(I64)[:, None] + RES_FRAC)
        return v.reshape(-1)
    q = w.q[0].astype(I64).reshape(-1, QK)
    v = shift_round(w.dm[0].astype(I64)[:, None] * q, w.de[0].astype(I64)[:, None] + RES_FRAC)
    if w.mm is not None:
        v = v + shift_round(w.mm[0].astype(I64), w.me[0].astype(I64) + RES_FRAC)[:, None]
    return v.reshape(-1)


def isqrt(n: int) -> int:
    """floor(√n) for 0 ≤ n < 2^63."""
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
