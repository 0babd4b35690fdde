"""Op kernels: op ids, parameter words and input order (SPEC §4.6), the single source of truth.

Each builder takes the numpy arguments of the matching `offchain.llm.ops` function and returns a
`Node`: the kernel to run, its header and its input tensors in canonical encoding. The graph
builder and the tests both go through here, so a kernel's ABI is written down once in Python
(and once in C, in `src/*.c`, checked against this by tests/kernels).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from offchain.llm.ops import canonical_bytes
from offchain.protocol import FIRST_INPUT_REGION, OUTPUT_REGION, Header


class Op(IntEnum):
    """Op ids: the item numbers of SPEC §3.2 where an op has its own kernel (9 and 11 are modes
    of `LINEAR`), plus the MLP input quantization and the single-phase MLP."""

    EMBED = 1
    RMSNORM = 2
    LINEAR = 3
    ROPE = 4
    KV_APPEND = 5
    SCORES = 6
    SOFTMAX = 7
    ATTN_VALUES = 8
    SWIGLU = 10
    ARGMAX = 12
    MLP_INPUT = 13
    MLP_FULL = 14


class LinearMode(IntEnum):
    """What the linear kernel does with each accumulator row (parameter word 0)."""

    INT8 = 0  # q, k, v, gate, up: sat8(requant(acc))
    RESIDUAL = 1  # wo, w2: clamp24(h + requant(acc))
    LOGITS = 2  # output: clamp32(requant(acc))
    MLP_RELU = 3  # MLP hidden layer: sat8(max(0, requant(acc + b)))
    MLP_LOGITS = 4  # MLP last layer: clamp32(requant(acc + b))


#: The kernel (ELF basename under kernels/build/) that runs each op.
PROGRAM_OF: dict[Op, str] = {
    Op.EMBED: "embed",
    Op.RMSNORM: "rmsnorm",
    Op.LINEAR: "linear",
    Op.ROPE: "rope",
    Op.KV_APPEND: "kv_append",
    Op.SCORES: "scores",
    Op.SOFTMAX: "softmax",
    Op.ATTN_VALUES: "attn_values",
    Op.SWIGLU: "swiglu",
    Op.ARGMAX: "argmax",
    Op.MLP_INPUT: "mlp_input",
    Op.MLP_FULL: "mlp_full",
}

MAX_MLP_WIDTHS = 47  # one parameter word holds the count, 47 the widths (48 words in all)


@dataclass(frozen=True)
class Node:
    """One kernel run: which program, the header, and the input bytes in order."""

    op: Op
    header: Header
    inputs: tuple[bytes, ...]

    @property
    def program(self) -> str:
        return PROGRAM_OF[self.op]

    @property
    def output_region(self) -> int:
        return output_region(self.op, self.header.params)


def output_region(op: Op, params: tuple[int, ...]) -> int:
    """Region 8, or input 0's region for an in-place KV append (SPEC §4.3)."""
    in_place = op == Op.KV_APPEND and len(params) > 3 and params[3] == 1
    return FIRST_INPUT_REGION if in_place else OUTPUT_REGION


def _node(op: Op, pos: int, inputs: list[bytes], output_length: int, params: list[int]) -> Node:
    header = Header(int(op), pos, tuple(len(x) for x in inputs), output_length, tuple(int(p) for p in params))
    return Node(op, header, tuple(inputs))


def _as(x: np.ndarray, dtype: type, ndim: int, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype != dtype or x.ndim != ndim:
        raise ValueError(f"{name} must be {np.dtype(dtype).name} with {ndim} dims, got {x.dtype} {x.shape}")
    return x


def embed(table: np.ndarray, rq: np.ndarray, token: int) -> Node:
    """Inputs: token i32[1], E i8[V, d], rq i32[V, 2]. Params: V, d. Output i32[d]."""
    table = _as(table, np.int8, 2, "embedding table")
    v, d = table.shape
    tok = np.array([token], dtype=np.int32)
    ins = [canonical_bytes(tok), canonical_bytes(table), canonical_bytes(_as(rq, np.int32, 2, "rq"))]
    return _node(Op.EMBED, 0, ins, 4 * d, [v, d])


def rmsnorm(x: np.ndarray, gain: np.ndarray, eps: int) -> Node:
    """Inputs: x i32[d], g i32[d]. Params: d, eps. Output i8[d]."""
    x = _as(x, np.int32, 1, "x")
    ins = [canonical_bytes(x), canonical_bytes(_as(gain, np.int32, 1, "gain"))]
    return _node(Op.RMSNORM, 0, ins, x.shape[0], [x.shape[0], eps])


def linear(w: np.ndarray, x: np.ndarray, rq: np.ndarray, mode: LinearMode, extra: np.ndarray | None = None,
           rows: tuple[int, int] | None = None, full: bool = False, partial: bytes | None = None) -> Node:
    """Inputs: W i8[N, K], x i8[K], rq i32[N, 2], then h i32[N] (RESIDUAL) or b i32[N] (MLP_*),
    then, with `full`, optionally the previous tile's whole output (`partial`).

    Params: mode, N, K, r0, nr: the output holds rows r0 .. r0+nr−1 (default: all N rows); with
    `full` a sixth word 1: the output holds all N rows, those outside the tile taken from
    `partial` (or zero without it). A chain of full tiles computes a big product in bounded nodes.
    """
    w = _as(w, np.int8, 2, "W")
    n, k = w.shape
    ins = [canonical_bytes(w), canonical_bytes(_as(x, np.int8, 1, "x")), canonical_bytes(_as(rq, np.int32, 2, "rq"))]
    if mode in (LinearMode.RESIDUAL, LinearMode.MLP_RELU, LinearMode.MLP_LOGITS):
        if extra is None:
            raise ValueError(f"linear mode {mode.name} needs its int32 [N] input")
        ins.append(canonical_bytes(_as(extra, np.int32, 1, "h/bias")))
    elif extra is not None:
        raise ValueError(f"linear mode {mode.name} takes no fourth input")
    r0, nr = rows if rows is not None else (0, n)
    esz = 1 if mode in (LinearMode.INT8, LinearMode.MLP_RELU) else 4
    params = [mode, n, k, r0, nr]
    if full:
        params.append(1)
        if partial is not None:
            ins.append(partial)
    elif partial is not None:
        raise ValueError("a partial output input needs full=True")
    return _node(Op.LINEAR, 0, ins, esz * (n if full else nr), params)


def rope(x: np.ndarray, cos_table: np.ndarray, sin_table: np.ndarray, pos: int) -> Node:
    """Inputs: x i8[heads, hd], cos i32[S, hd/2], sin i32[S, hd/2]; row `pos`. Params: heads, hd, S."""
    x = _as(x, np.int8, 2, "x")
    cos_table = _as(cos_table, np.int32, 2, "rope_cos")
    ins = [canonical_bytes(x), canonical_bytes(cos_table), canonical_bytes(_as(sin_table, np.int32, 2, "rope_sin"))]
    return _node(Op.ROPE, pos, ins, x.size, [x.shape[0], x.shape[1], cos_table.shape[0]])


def kv_append(cache: np.ndarray, row: np.ndarray, pos: int, in_place: bool = False) -> Node:
    """Inputs: cache i8[S, G, hd] (zero at pos 0), row i8[G·hd]. Params: S, G, hd, and optionally
    in_place = 1: the row is written into input 0's region, which is then the node's output."""
    cache = _as(cache, np.int8, 3, "cache")
    s, g, hd = cache.shape
    row = np.asarray(row)
    if row.dtype != np.int8 or row.size != g * hd:
        raise ValueError(f"the new row must be int8 with {g * hd} values, got {row.dtype} {row.shape}")
    params = [s, g, hd] + ([1] if in_place else [])
    return _node(Op.KV_APPEND, pos, [canonical_bytes(cache), canonical_bytes(row.reshape(-1))], cache.size, params)


def _head_tile(params: list[int], ins: list[bytes], h: int, heads: tuple[int, int] | None, full: bool,
               partial: bytes | None) -> int:
    """Append the head-tile words (h0, nh, full) and the optional previous-tile input; returns the
    number of heads the output holds."""
    if partial is not None and not full:
        raise ValueError("a partial output input needs full=True")
    if heads is None and not full:
        return h
    h0, nh = heads if heads is not None else (0, h)
    params += [h0, nh, int(full)]
    if partial is not None:
        ins.append(partial)
    return h if full else nh


def scores(q: np.ndarray, k_cache: np.ndarray, pos: int, heads: tuple[int, int] | None = None, full: bool = False,
           partial: bytes | None = None) -> Node:
    """Inputs: q i8[H, hd], k_cache i8[S, G, hd]; T = pos + 1. Params: H, G, hd, S, then optionally
    a head tile h0, nh, full (with `full`, the previous tile's output may follow). Output i32[H, T]."""
    q = _as(q, np.int8, 2, "q")
    k_cache = _as(k_cache, np.int8, 3, "k_cache")
    h, hd = q.shape
    s, g, _ = k_cache.shape
    params, ins = [h, g, hd, s], [canonical_bytes(q), canonical_bytes(k_cache)]
    out_heads = _head_tile(params, ins, h, heads, full, partial)
    return _node(Op.SCORES, pos, ins, 4 * out_heads * (pos + 1), params)


def softmax(sc: np.ndarray, rq: np.ndarray, exp_table: np.ndarray, heads: tuple[int, int] | None = None,
            full: bool = False, partial: bytes | None = None) -> Node:
    """Inputs: scores i32[H, T], rq i32[2], E i32[L]; pos = T − 1. Params: H, L, then optionally a
    head tile h0, nh, full (with `full`, the previous tile's output may follow). Output i32[H, T]."""
    sc = _as(sc, np.int32, 2, "scores")
    exp_table = _as(exp_table, np.int32, 1, "exp_table")
    h, t = sc.shape
    params = [h, exp_table.shape[0]]
    ins = [canonical_bytes(sc), canonical_bytes(_as(rq, np.int32, 1, "rq")), canonical_bytes(exp_table)]
    out_heads = _head_tile(params, ins, h, heads, full, partial)
    return _node(Op.SOFTMAX, t - 1, ins, 4 * out_heads * t, params)


def attn_values(probs: np.ndarray, v_cache: np.ndarray, rq: np.ndarray, heads: tuple[int, int] | None = None,
                full: bool = False, partial: bytes | None = None) -> Node:
    """Inputs: probs i32[H, T], v_cache i8[S, G, hd], rq i32[2]; pos = T − 1. Params: H, G, hd, S,
    then optionally a head tile h0, nh, full (with `full`, the previous tile's output may follow)."""
    probs = _as(probs, np.int32, 2, "probs")
    v_cache = _as(v_cache, np.int8, 3, "v_cache")
    h, t = probs.shape
    s, g, hd = v_cache.shape
    params = [h, g, hd, s]
    ins = [canonical_bytes(probs), canonical_bytes(v_cache), canonical_bytes(_as(rq, np.int32, 1, "rq"))]
    out_heads = _head_tile(params, ins, h, heads, full, partial)
    return _node(Op.ATTN_VALUES, t - 1, ins, out_heads * hd, params)


def swiglu(gate: np.ndarray, up: np.ndarray, silu_table: np.ndarray, rq: np.ndarray) -> Node:
    """Inputs: gate i8[f], up i8[f], silu i32[256], rq i32[2]. Params: f. Output i8[f]."""
    gate = _as(gate, np.int8, 1, "gate")
    ins = [canonical_bytes(gate), canonical_bytes(_as(up, np.int8, 1, "up")),
           canonical_bytes(_as(silu_table, np.int32, 1, "silu_table")), canonical_bytes(_as(rq, np.int32, 1, "rq"))]
    return _node(Op.SWIGLU, 0, ins, gate.shape[0], [gate.shape[0]])


def argmax(z: np.ndarray) -> Node:
    """Input: z i32[n]. Params: n. Output i32[1]."""
    z = _as(z, np.int32, 1, "z")
    return _node(Op.ARGMAX, 0, [canonical_bytes(z)], 4, [z.shape[0]])


def mlp_input(pixels: np.ndarray, rq: np.ndarray) -> Node:
    """Inputs: p u8[K], rq i32[2]. Params: K. Output i8[K]."""
    p = _as(pixels, np.uint8, 1, "pixels")
    return _node(Op.MLP_INPUT, 0, [p.tobytes(), canonical_bytes(_as(rq, np.int32, 1, "rq"))], p.shape[0], [p.shape[0]])


def _pad4(b: bytes) -> bytes:
    return b + bytes(-len(b) % 4)


def pack_mlp(tensors: dict[str, np.ndarray], widths: list[int]) -> bytes:
    """The single-phase MLP's weights input: input.rq, then per layer W (padded to 4 bytes), b, rq."""
    out = [canonical_bytes(_as(tensors["input.rq"], np.int32, 1, "input.rq"))]
    for j in range(len(widths) - 1):
        w = _as(tensors[f"fc{j}.weight"], np.int8, 2, f"fc{j}.weight")
        if w.shape != (widths[j + 1], widths[j]):
            raise ValueError(f"fc{j}.weight has shape {w.shape}, the widths say {(widths[j + 1], widths[j])}")
        out += [_pad4(canonical_bytes(w)), canonical_bytes(_as(tensors[f"fc{j}.bias"], np.int32, 1, "bias")),
                canonical_bytes(_as(tensors[f"fc{j}.rq"], np.int32, 2, "rq"))]
    return b"".join(out)


def mlp_full(tensors: dict[str, np.ndarray], widths: list[int], pixels: np.ndarray) -> Node:
    """Single-phase MLP. Inputs: p u8[w_0], the packed weights (`pack_mlp`). Params: n, widths.
    Output: the class, i32[1]."""
    if not 2 <= len(widths) <= MAX_MLP_WIDTHS:
        raise ValueError(f"an MLP has 2..{MAX_MLP_WIDTHS} widths, got {len(widths)}")
    p = _as(pixels, np.uint8, 1, "pixels")
    return _node(Op.MLP_FULL, 0, [p.tobytes(), pack_mlp(tensors, widths)], 4, [len(widths), *widths])
