"""Spec v2 op kernels: op ids, parameter words and input order (SPEC §4.7).

The v2 twin of `registry`: each builder takes the arguments of the matching
`offchain.llm.v2.ops` function and returns a `NodeV2` (the kernel, its header and its input
bytes). v2 kernels live apart from v1's table (`build/v2/`, `programs_v2.json`): v1's
programs_root (SPEC §5.3) commits to the sorted v1 kernel names and must not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np

from offchain.llm.ops import canonical_bytes
from offchain.protocol import FIRST_INPUT_REGION, OUTPUT_REGION, Header

if TYPE_CHECKING:  # importing offchain.llm.v2 loads gguf and the runner: not needed for a header
    from offchain.llm.v2.blocks import Weight


class OpV2(IntEnum):
    """v2 op ids (from 20 up, apart from v1's 1..14)."""

    EMBED = 20
    RMSNORM = 21
    LINEAR = 22
    ROPE = 23
    ATTENTION = 24
    SWIGLU = 25
    SAMPLE = 26
    KV_APPEND = 27


class LinearModeV2(IntEnum):
    """What v2_linear does with each accumulator (parameter word 0)."""

    ACT = 0  # q, k, v, gate, up, logits: to_act(acc), int32 at 2^-16
    RESIDUAL = 1  # wo, w_down: h + acc, int64 at 2^-24


#: ggml type ids of the weight formats the v2 kernels read (parameter word `type`), the values per
#: block (k-quants: a 256-value super-block; F32/F16: one value) and the bytes per block
#: (offchain.llm.v2.blocks.BLOCK_BYTES and K_BYTES; tests/kernels holds them equal).
GGML_TYPE: dict[str, int] = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 8, "Q4_K": 12, "Q5_K": 13, "Q6_K": 14}
BLOCK_VALUES: dict[str, int] = {"F32": 1, "F16": 1, "Q4_0": 32, "Q4_1": 32, "Q8_0": 32, "Q4_K": 256, "Q5_K": 256,
                                "Q6_K": 256}
BLOCK_BYTES: dict[str, int] = {"F32": 4, "F16": 2, "Q8_0": 34, "Q4_0": 18, "Q4_1": 20, "Q4_K": 144, "Q5_K": 176,
                               "Q6_K": 210}
QK = 32

PROGRAM_OF_V2: dict[OpV2, str] = {
    OpV2.EMBED: "v2_embed",
    OpV2.RMSNORM: "v2_rmsnorm",
    OpV2.LINEAR: "v2_linear",
    OpV2.ROPE: "v2_rope",
    OpV2.ATTENTION: "v2_attention",
    OpV2.SWIGLU: "v2_swiglu",
    OpV2.SAMPLE: "v2_sample",
    OpV2.KV_APPEND: "v2_kv_append",
}

EXP2_ENTRIES = 4096


@dataclass(frozen=True)
class NodeV2:
    """One v2 kernel run: which program, the header, and the input bytes in order."""

    op: OpV2
    header: Header
    inputs: tuple[bytes, ...]

    @property
    def program(self) -> str:
        return PROGRAM_OF_V2[self.op]

    @property
    def output_region(self) -> int:
        return output_region_v2(self.op)


def output_region_v2(op: OpV2) -> int:
    """Where the node's output is at the end: region 2 for the in-place KV append (SPEC §4.3), else 8."""
    return FIRST_INPUT_REGION if op == OpV2.KV_APPEND else OUTPUT_REGION


def _node(op: OpV2, pos: int, inputs: list[bytes], output_length: int, params: list[int]) -> NodeV2:
    header = Header(int(op), pos, tuple(len(x) for x in inputs), output_length, tuple(int(p) & 0xFFFFFFFF for p in params))
    return NodeV2(op, header, tuple(inputs))


def _as(x: np.ndarray, dtype: type, ndim: int, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype != dtype or x.ndim != ndim:
        raise ValueError(f"{name} must be {np.dtype(dtype).name} with {ndim} dims, got {x.dtype} {x.shape}")
    return x


def _raw(w: "Weight") -> tuple[int, bytes]:
    """The weight's ggml type id and its bytes exactly as in the file (little-endian, as GGUF)."""
    if w.kind not in GGML_TYPE:
        raise ValueError(f"{w.name}: the v2 kernels read {', '.join(GGML_TYPE)}, not {w.kind}")
    per = BLOCK_VALUES[w.kind]
    if w.k % max(per, QK):  # F32/F16 rows too: every activation is quantized in 32s
        raise ValueError(f"{w.name}: a {w.kind} row of {w.k} values is not a multiple of {max(per, QK)}")
    a = np.ascontiguousarray(w.raw)
    if a.dtype != np.uint8:  # F32/F16 arrive as their values (or bits): the file's bytes are little-endian
        a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
    raw = a.view(np.uint8).tobytes()
    if len(raw) != w.n * (w.k // per) * BLOCK_BYTES[w.kind]:
        raise ValueError(f"{w.name}: {len(raw)} bytes for a {w.kind} [{w.n}, {w.k}] tensor")
    return GGML_TYPE[w.kind], raw


def _table(table: np.ndarray) -> bytes:
    t = np.asarray(table)
    if t.shape != (EXP2_ENTRIES,):
        raise ValueError(f"the exp2 table has {EXP2_ENTRIES} entries, got shape {t.shape}")
    return canonical_bytes(t.astype(np.int32))


def embed(w: "Weight", token: int) -> NodeV2:
    """Inputs: token i32[1], E (file bytes, V rows). Params: type, V, d. Output i64[d]."""
    ty, raw = _raw(w)
    ins = [canonical_bytes(np.array([token], dtype=np.int32)), raw]
    return _node(OpV2.EMBED, 0, ins, 8 * w.k, [ty, w.n, w.k])


def rmsnorm(h: np.ndarray, gain: np.ndarray, eps_m: int, eps_e: int) -> NodeV2:
    """Inputs: h i64[d], then the gain: i64[d] at 2^-24, or (a float32 array) the file's F32
    bytes, which the kernel converts (parameter word 3 = 1). Params: d, em, ee (int32 as its u32
    word), gain_f32. Output i32[d]."""
    h = _as(h, np.int64, 1, "h")
    gain = np.asarray(gain)
    f32 = gain.dtype == np.float32
    g = np.ascontiguousarray(gain, dtype="<f4").tobytes() if f32 else canonical_bytes(_as(gain, np.int64, 1, "gain"))
    return _node(OpV2.RMSNORM, 0, [canonical_bytes(h), g], 4 * h.shape[0], [h.shape[0], eps_m, eps_e, int(f32)])


def linear(w: "Weight", x: np.ndarray, mode: LinearModeV2, h: np.ndarray | None = None,
           rows: tuple[int, int] | None = None, full: bool = False, partial: bytes | None = None) -> NodeV2:
    """Inputs: W (file bytes), x i32[K], then h i64[N] (RESIDUAL), then with `full` optionally the
    previous tile's whole output (`partial`). Params: mode, type, N, K, r0, nr (+ full = 1).
    Output: rows r0 .. r0+nr−1 (all N with `full`, the others from `partial` or zero), i32 (ACT)
    or i64 (RESIDUAL)."""
    ty, raw = _raw(w)
    ins = [raw, canonical_bytes(_as(x, np.int32, 1, "x"))]
    if mode == LinearModeV2.RESIDUAL:
        if h is None:
            raise ValueError("v2_linear RESIDUAL needs the residual h")
        ins.append(canonical_bytes(_as(h, np.int64, 1, "h")))
    elif h is not None:
        raise ValueError("v2_linear ACT takes no residual")
    r0, nr = rows if rows is not None else (0, w.n)
    params = [mode, ty, w.n, w.k, r0, nr]
    if full:
        params.append(1)
        if partial is not None:
            ins.append(partial)
    elif partial is not None:
        raise ValueError("a partial output input needs full=True")
    esz = 8 if mode == LinearModeV2.RESIDUAL else 4
    return _node(OpV2.LINEAR, 0, ins, esz * (w.n if full else nr), params)


def rope(x: np.ndarray, cos_table: np.ndarray, sin_table: np.ndarray, pos: int) -> NodeV2:
    """Inputs: x i32[heads, hd], rope_cos, rope_sin i32[S, hd/2]. Params: heads, hd, S. Output i32[heads, hd]."""
    x = _as(x, np.int32, 2, "x")
    cos_table = _as(cos_table, np.int32, 2, "rope_cos")
    ins = [canonical_bytes(x), canonical_bytes(cos_table), canonical_bytes(_as(sin_table, np.int32, 2, "rope_sin"))]
    return _node(OpV2.ROPE, pos, ins, 4 * x.size, [x.shape[0], x.shape[1], cos_table.shape[0]])


def attention(q: np.ndarray, k_cache: np.ndarray, v_cache: np.ndarray, table: np.ndarray, pos: int, s: int,
              heads: tuple[int, int] | None = None, full: bool = False, partial: bytes | None = None) -> NodeV2:
    """Inputs: q i32[H, hd], k_cache, v_cache i32[T, G, hd] (rows 0 .. pos, T = pos + 1, as the
    trace commits them), exp2 i32[4096], then with `full` optionally the previous tile's whole
    output. Params: H, G, hd, S (the context, pos < S), then optionally a head tile h0, nh, full.
    Output i32[nh·hd] (i32[H·hd] with `full`)."""
    q = _as(q, np.int32, 2, "q")
    k_cache = _as(k_cache, np.int32, 3, "k_cache")
    v_cache = _as(v_cache, np.int32, 3, "v_cache")
    h, hd = q.shape
    g = k_cache.shape[1]
    ins = [canonical_bytes(q), canonical_bytes(k_cache), canonical_bytes(v_cache), _table(table)]
    params = [h, g, hd, s]
    if partial is not None and not full:
        raise ValueError("a partial output input needs full=True")
    out_heads = h
    if heads is not None or full:
        h0, nh = heads if heads is not None else (0, h)
        params += [h0, nh, int(full)]
        if partial is not None:
            ins.append(partial)
        out_heads = h if full else nh
    return _node(OpV2.ATTENTION, pos, ins, 4 * out_heads * hd, params)


def swiglu(gate: np.ndarray, up: np.ndarray, table: np.ndarray) -> NodeV2:
    """Inputs: gate, up i32[f], exp2 i32[4096]. Params: f. Output i32[f]."""
    gate = _as(gate, np.int32, 1, "gate")
    ins = [canonical_bytes(gate), canonical_bytes(_as(up, np.int32, 1, "up")), _table(table)]
    return _node(OpV2.SWIGLU, 0, ins, 4 * gate.shape[0], [gate.shape[0]])


def sample(z: np.ndarray, table: np.ndarray, pos: int, temp_milli: int = 0, top_p_milli: int = 1000,
           seed: int = 0) -> NodeV2:
    """Inputs: z i32[V], exp2 i32[4096]. Params: V, temp_milli (0: greedy), top_p_milli, seed_hi,
    seed_lo. Output: the token, i32[1] (SPEC §3v2.7)."""
    z = _as(z, np.int32, 1, "z")
    ins = [canonical_bytes(z), _table(table)]
    return _node(OpV2.SAMPLE, pos, ins, 4, [z.shape[0], temp_milli, top_p_milli, seed >> 32, seed & 0xFFFFFFFF])


def kv_append(cache: np.ndarray, row: np.ndarray, pos: int, s: int) -> NodeV2:
    """Inputs: the cache one position earlier, i32[pos, G, hd] (one zero row at pos = 0), and the
    new row i32[G, hd]. Params: S, G, hd. Output, in place in region 2: i32[pos + 1, G, hd]."""
    cache = _as(cache, np.int32, 3, "cache")
    row = _as(row, np.int32, 2, "row")
    g, hd = row.shape
    if cache.shape != (max(pos, 1), g, hd):
        raise ValueError(f"the cache before position {pos} is [{max(pos, 1)}, {g}, {hd}], got {list(cache.shape)}")
    return _node(OpV2.KV_APPEND, pos, [canonical_bytes(cache), canonical_bytes(row)], 4 * (pos + 1) * g * hd, [s, g, hd])
