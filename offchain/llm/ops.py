"""The integer ops of the forward pass (docs/SPEC.md §3), as pure functions over numpy int arrays.

Every op here is defined with int32/int64 arithmetic only, so that a freestanding C kernel can
reproduce it byte for byte. The int8 matmuls run in a small C helper (offchain/llm/matvec_i8.c)
when a compiler works. Elsewhere, where numpy would be slow in integers, we use float BLAS only on
inputs for which every partial sum is an integer of magnitude < 2^24 (float32) or < 2^53
(float64): then every summation order, with or without FMA, gives the same exact integer.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from offchain.llm import matvec

# Fixed-point conventions shared by every model (SPEC §3.1).
RES_FRAC = 12  # residual stream and logits: value = int / 2^12
RES_LIMIT = (1 << 24) - 1  # residual saturation: keeps Σx² of a row inside int64
GAIN_FRAC = 16  # RMSNorm gains: value = int / 2^16
ROPE_FRAC = 15  # RoPE cos/sin tables: value = int / 2^15
PROB_FRAC = 15  # softmax probabilities: value = int / 2^15
EXP_STEP_FRAC = 8  # exp table index i stands for exp(-i / 2^8)
SILU_FRAC = 8  # SiLU table: value = int · s_gate / 2^8

# float32 holds every integer of magnitude <= 2^24 exactly; an int8·int8 product is at most 2^14
# in magnitude, so any partial sum of <= 1024 such products is exact whatever the order.
F32_EXACT_TERMS = 1 << 10

I8 = np.int8
I32 = np.int32
I64 = np.int64


def sat8(x: np.ndarray) -> np.ndarray:
    """Saturate to int8: values outside [-128, 127] clamp to the nearest end."""
    return np.clip(x, -128, 127).astype(I8)


def requant(acc: np.ndarray, m: np.ndarray | int, s: np.ndarray | int) -> np.ndarray:
    """Scale an integer by m / 2^s with round-half-up: (acc·m + 2^(s-1)) >> s, arithmetic shift.

    Preconditions (guaranteed by the converter, checked by the loader): |acc| < 2^31,
    0 <= m < 2^31, 1 <= s <= 62, so acc·m + 2^(s-1) fits in int64. Result is int64.
    """
    s64 = np.asarray(s, dtype=I64)
    return (np.asarray(acc, dtype=I64) * np.asarray(m, dtype=I64) + (np.int64(1) << (s64 - 1))) >> s64


def round_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den rounded half up, for den > 0: floor((2·num + den) / (2·den)) (floor division)."""
    num = np.asarray(num, dtype=I64)
    den = np.asarray(den, dtype=I64)
    return (2 * num + den) // (2 * den)


def isqrt(n: np.ndarray) -> np.ndarray:
    """floor(sqrt(n)) for int64 0 <= n < 2^62, exactly.

    The float64 estimate is within 1 of the true root for n < 2^62 (its relative error is about
    2^-52 and the root is below 2^31), so one correction step in each direction makes it exact.
    A C kernel computes the same value with the bitwise (digit-by-digit) method.
    """
    n = np.asarray(n, dtype=I64)
    r = np.sqrt(n.astype(np.float64)).astype(I64)
    r = np.where(r * r > n, r - 1, r)
    r = np.where((r + 1) * (r + 1) <= n, r + 1, r)
    return r


_POOL: ThreadPoolExecutor | None = None
WORKERS = max(1, min(4, os.cpu_count() or 1))
PARALLEL_MIN_ELEMENTS = 1 << 22  # below this a thread hand-off costs more than it saves


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(WORKERS, thread_name_prefix="matmul")
    return _POOL


def matmul_i8(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Exact int32 y[n] = Σ_k w[n,k]·x[k] for int8 w [N, K] and int8 x [K].

    Natively (offchain/llm/matvec_i8.c, integer SIMD) when a C compiler works, else through float
    BLAS (matmul_i8_numpy); both equal matmul_i8_reference bit for bit. Large matrices spread
    row ranges over threads; each writes only its own rows, so scheduling cannot change the result.
    """
    if not matvec.NATIVE or w.dtype != I8 or x.dtype != I8 or w.ndim != 2 or x.shape != (w.shape[1],):
        return matmul_i8_numpy(w, x)
    n = w.shape[0]
    w = np.ascontiguousarray(w)
    x = np.ascontiguousarray(x)
    out = np.empty(n, dtype=I32)
    if n * w.shape[1] < PARALLEL_MIN_ELEMENTS or WORKERS == 1 or n < 2 * WORKERS:
        matvec.matvec_rows(w, x, out, 0, n)
        return out
    step = -(-n // WORKERS)
    bounds = [(r0, min(n, r0 + step)) for r0 in range(0, n, step)]
    list(_pool().map(lambda b: matvec.matvec_rows(w, x, out, b[0], b[1]), bounds))
    return out


def matmul_i8_numpy(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """matmul_i8 through float32 BLAS: the fallback where no C compiler works.

    Rows are processed in tiles (so the float copy of a tile stays in cache), and K in chunks of
    at most 1024 (so each chunk's float32 dot product is exact); chunk results are summed in int64.
    |y| <= K·2^14 < 2^31 for K < 2^17. Large matrices spread row tiles over threads (numpy releases
    the GIL); each tile writes only its own rows, so the result does not depend on scheduling.
    """
    n, k = w.shape
    c = F32_EXACT_TERMS
    nb, rem = divmod(k, c)
    kf = nb * c
    xf = x.astype(np.float32)
    xb = xf[:kf].reshape(nb, c, 1)
    out = np.empty(n, dtype=I64)
    rows = max(1, (1 << 19) // max(k, 1))  # ~2 MB of float32 per tile

    def tile_rows(r0: int) -> None:
        tile = w[r0 : r0 + rows].astype(np.float32)
        acc = np.zeros(tile.shape[0], dtype=I64)
        if nb:
            part = tile[:, :kf].reshape(-1, nb, c).transpose(1, 0, 2)  # [nb, rows, c]
            acc += np.matmul(part, xb)[:, :, 0].astype(I64).sum(axis=0)
        if rem:
            acc += (tile[:, kf:] @ xf[kf:]).astype(I64)
        out[r0 : r0 + rows] = acc

    starts = range(0, n, rows)
    if n * k >= PARALLEL_MIN_ELEMENTS and len(starts) > 1:
        list(_pool().map(tile_rows, starts))
    else:
        for r0 in starts:
            tile_rows(r0)
    return out.astype(I32)


def matmul_i8_reference(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The same product in plain int64 arithmetic: the definition, used by tests."""
    return (w.astype(I64) @ x.astype(I64)).astype(I32)


def embed(table: np.ndarray, rq: np.ndarray, token: int) -> np.ndarray:
    """Residual row for `token`: requant(table[token], m, s) with the row's own (m, s), saturated."""
    m, s = rq[token]
    return np.clip(requant(table[token], m, s), -RES_LIMIT, RES_LIMIT).astype(I32)


def rmsnorm(x: np.ndarray, gain: np.ndarray, eps: int) -> np.ndarray:
    """int8 y = sat8(round_half_up(x·g / (r·2^16))) with r = isqrt(Σx²/n + eps) (n = len(x)).

    x is the int32 residual (|x| <= 2^24 - 1), gain is int32 (|g| < 2^24) with the output scale
    folded in, eps >= 1 is in units of 2^-24 (the square of the residual's unit). Σx² is int64;
    the mean is floor division.
    """
    x64 = x.astype(I64)
    ss = int(np.dot(x64, x64))  # exact: Python/int64, bounded by n·2^48
    r = int(isqrt(np.int64(ss // x.shape[-1] + eps)))
    return sat8(round_div(x64 * gain.astype(I64), np.int64(r << GAIN_FRAC)))


def linear_i8(w: np.ndarray, rq: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(acc, y): the int32 accumulator of w·x and its per-row requantization to int8."""
    acc = matmul_i8(w, x)
    return acc, sat8(requant(acc, rq[:, 0], rq[:, 1]))


def rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotate each pair (x[2i], x[2i+1]) of each head by the table angle of pair i (Q15 tables).

    x: int8 [H, hd]; cos, sin: int32 [hd/2] for the current position.
    (a·c − b·s + 2^14) >> 15 and (a·s + b·c + 2^14) >> 15, saturated to int8.
    """
    a = x[:, 0::2].astype(I64)
    b = x[:, 1::2].astype(I64)
    c = cos.astype(I64)
    s = sin.astype(I64)
    half = np.int64(1 << (ROPE_FRAC - 1))
    out = np.empty(x.shape, dtype=I8)
    out[:, 0::2] = sat8((a * c - b * s + half) >> ROPE_FRAC)
    out[:, 1::2] = sat8((a * s + b * c + half) >> ROPE_FRAC)
    return out


def attention_scores(q: np.ndarray, k_cache: np.ndarray, n_pos: int) -> np.ndarray:
    """int32 scores[h, t] = Σ_i q[h, i]·k[t, h', i] for t < n_pos, h' = h // (H / KVH).

    q: int8 [H, hd]; k_cache: int8 [max_seq, KVH, hd]. Exact in float64 (terms <= 2^14, few).
    """
    h, hd = q.shape
    kvh = k_cache.shape[1]
    k = k_cache[:n_pos].astype(np.float64)  # [T, KVH, hd]
    qg = q.astype(np.float64).reshape(kvh, h // kvh, hd)
    sc = np.einsum("gjd,tgd->gjt", qg, k).reshape(h, n_pos)
    return sc.astype(I32, order="C")  # einsum's layout is its own; node outputs are C-ordered


def softmax(scores: np.ndarray, rq: np.ndarray, exp_table: np.ndarray) -> np.ndarray:
    """Integer softmax over the last axis, probabilities in Q15 (each row sums to ≈ 2^15).

    d = min(requant(max − score, m, s), len(table) − 1) is the distance to the row maximum in
    table steps; p = exp_table[d]; prob = round_half_up(p·2^15 / Σp) (nonnegative, floor division).
    """
    m, s = int(rq[0]), int(rq[1])
    x = scores.max(axis=-1, keepdims=True).astype(I64) - scores.astype(I64)
    d = np.minimum(requant(x, m, s), exp_table.shape[0] - 1)
    p = exp_table[d].astype(I64)
    total = p.sum(axis=-1, keepdims=True)
    return ((p << PROB_FRAC) + total // 2) // total


def attention_values(probs: np.ndarray, v_cache: np.ndarray, rq: np.ndarray) -> np.ndarray:
    """int8 out[h, i] = sat8(requant(Σ_t prob[h, t]·v[t, h', i], m, s)), flattened to [H·hd].

    Σ_t |prob| <= 2^15 + T/2, so every partial sum is below 2^23 in magnitude: exact in float64
    (and in int32 in C).
    """
    h, n_pos = probs.shape
    kvh, hd = v_cache.shape[1], v_cache.shape[2]
    v = v_cache[:n_pos].astype(np.float64)  # [T, KVH, hd]
    pg = probs.astype(np.float64).reshape(kvh, h // kvh, n_pos)
    acc = np.einsum("gjt,tgd->gjd", pg, v).reshape(h * hd).astype(I64)
    return sat8(requant(acc, int(rq[0]), int(rq[1])))


def swiglu(gate: np.ndarray, up: np.ndarray, silu_table: np.ndarray, rq: np.ndarray) -> np.ndarray:
    """int8 h = sat8(requant(silu_table[gate + 128]·up, m, s)): SiLU by a 256-entry table."""
    prod = silu_table[gate.astype(I64) + 128].astype(I64) * up.astype(I64)
    return sat8(requant(prod, int(rq[0]), int(rq[1])))


def residual_add(h: np.ndarray, acc: np.ndarray, rq: np.ndarray) -> np.ndarray:
    """h + requant(acc, m_row, s_row), saturated to ±(2^24 − 1)."""
    delta = requant(acc, rq[:, 0], rq[:, 1])
    return np.clip(h.astype(I64) + delta, -RES_LIMIT, RES_LIMIT).astype(I32)


def logits(acc: np.ndarray, rq: np.ndarray) -> np.ndarray:
    """int32 logits in units of 2^-12: requant(acc, m_row, s_row), saturated to int32."""
    return np.clip(requant(acc, rq[:, 0], rq[:, 1]), -(1 << 31), (1 << 31) - 1).astype(I32)


def argmax(x: np.ndarray) -> int:
    """Index of the largest value; ties go to the lowest index."""
    return int(np.argmax(x))  # numpy returns the first occurrence


def relu_requant(acc: np.ndarray, bias: np.ndarray, rq: np.ndarray) -> np.ndarray:
    """MLP hidden layer: sat8(max(0, requant(acc + bias, m_row, s_row)))."""
    y = requant(acc.astype(I64) + bias.astype(I64), rq[:, 0], rq[:, 1])
    return sat8(np.maximum(y, 0))


def canonical_bytes(x: np.ndarray) -> bytes:
    """Canonical encoding: row-major, multi-byte integers big-endian (SPEC §1.1)."""
    kind = {1: ">i1", 4: ">i4", 8: ">i8"}[x.dtype.itemsize]
    if x.dtype.kind not in "iu":
        raise ValueError(f"only integer tensors have a canonical encoding, got {x.dtype}")
    return np.ascontiguousarray(x, dtype=kind.replace("i", x.dtype.kind)).tobytes()
