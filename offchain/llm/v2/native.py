"""Spec v2's ops natively (blockdot.c), loaded through offchain.native; `NATIVE` is False where
no C compiler works, and ops.py's numpy definitions run instead. Each function here equals its
ops.py namesake bit for bit (tests/llm/test_v2_ops.py)."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import numpy as np

from offchain.llm.v2.blocks import QuantAct
from offchain.native import load

_SRC = Path(__file__).with_name("blockdot.c")
# An idle OpenMP thread spins about 30k rounds (tens of microseconds, the gap between two matmuls)
# and then sleeps. Sleeping at once (OMP_WAIT_POLICY=PASSIVE) cost a wake-up per matmul: SmolLM2
# decoded in 23 ms/token against 14.5 here; spinning for good (ACTIVE, or libgomp's default 300k)
# made a token 3-7x slower on a busy machine, where the spinner takes a core from the work.
os.environ.setdefault("GOMP_SPINCOUNT", "30000")
# OpenMP where the compiler has it (gcc's libgomp), else the same code on one thread.
_lib = load(_SRC, ("-O3", "-march=native", "-fopenmp")) or load(_SRC, ("-O3", "-march=native"))
_p, _u, _i = ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int64
_SIGS = {
    "opml_v2_matmul_raw": [ctypes.c_int, _p, _u, _u, _u, _p, _p, _p, _p, _p],
    "opml_v2_matmul_raw_scalar": [ctypes.c_int, _p, _u, _u, _u, _p, _p, _p, _p, _p],
    "opml_v2_matmul_raw_mt": [ctypes.c_int, _p, _u, _u, _p, _p, _p, _p, _p, ctypes.c_int],
    "opml_v2_matmul_raw_many": [ctypes.c_int, _p, _p, _p, _u, _p, _p, _p, _p, _p, ctypes.c_int],
    "opml_v2_matmul_k_mt": [ctypes.c_int, _p, _u, _u, _p, _p, _p, _p, _p, ctypes.c_int],
    "opml_v2_matmul_raw_batch_mt": [ctypes.c_int, _p, _u, _u, _u, _p, _p, _p, _p, _p, ctypes.c_int],
    "opml_v2_layer": [_p, _p, _u, _u, _u, _u, _u, _i, _i, _p, _p, _p, _p, _u, _p, _i, _p, _p],
    "opml_v2_quantize": [_p, _u, _p, _p, _p, _p],
    "opml_v2_rmsnorm": [_p, _p, _u, _i, _i, _p],
    "opml_v2_rope": [_p, _u, _u, _p, _p],
    "opml_v2_attention": [_p, _p, _p, _u, _u, _u, _u, _p, _i, _p, _p],
    "opml_v2_swiglu": [_p, _p, _u, _p, _p],
    "opml_v2_to_act": [_p, _u, _p],
}
if _lib is not None:
    for _name, _args in _SIGS.items():
        getattr(_lib, _name).argtypes = _args
        getattr(_lib, _name).restype = None

NATIVE = _lib is not None
I8, I32, I64 = np.int8, np.int32, np.int64


def _c(a: np.ndarray, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=dtype)


RAW_KINDS = {"Q8_0": 0, "Q4_0": 1, "Q4_1": 2}
K_KINDS = {"Q4_K": 0, "Q5_K": 1, "Q6_K": 2}


def matmul_raw_rows(kind: str, raw: np.ndarray, k: int, a: QuantAct, acc: np.ndarray, r0: int, r1: int,
                    scalar: bool = False) -> None:
    """acc[r0:r1] of the block matmul read straight from the file's bytes `raw` (uint8, C order).
    `scalar`: the block-by-block path (tests cover it beside the AVX2 one)."""
    assert _lib is not None
    (_lib.opml_v2_matmul_raw_scalar if scalar else _lib.opml_v2_matmul_raw)(RAW_KINDS[kind], raw.ctypes.data, k, r0, r1, a.q.ctypes.data, a.xm.ctypes.data,
                            a.xe.ctypes.data, a.qsum.ctypes.data, acc.ctypes.data)


def matmul_raw(kind: str, raw: np.ndarray, k: int, a: QuantAct, acc: np.ndarray, threads: int) -> None:
    """All rows, split over `threads` OpenMP threads (one where OpenMP is missing)."""
    assert _lib is not None
    if kind in K_KINDS:  # `a` is quantized per 256; a.qsum holds the sums of 16
        _lib.opml_v2_matmul_k_mt(K_KINDS[kind], raw.ctypes.data, k, acc.size, a.q.ctypes.data, a.xm.ctypes.data,
                                 a.xe.ctypes.data, a.qsum.ctypes.data, acc.ctypes.data, threads)
        return
    _lib.opml_v2_matmul_raw_mt(RAW_KINDS[kind], raw.ctypes.data, k, acc.size, a.q.ctypes.data, a.xm.ctypes.data,
                               a.xe.ctypes.data, a.qsum.ctypes.data, acc.ctypes.data, threads)


def matmul_raw_many(kinds: list[str], raws: list[np.ndarray], k: int, a: QuantAct, threads: int) -> list[np.ndarray]:
    """matmul_raw of one input against several block-format weights, in one threaded call."""
    assert _lib is not None
    m = len(raws)
    accs = [np.empty(r.shape[0], dtype=I64) for r in raws]
    _lib.opml_v2_matmul_raw_many(m, (ctypes.c_int * m)(*(RAW_KINDS[x] for x in kinds)),
                                 (ctypes.c_void_p * m)(*(r.ctypes.data for r in raws)),
                                 (ctypes.c_uint64 * m)(*(r.shape[0] for r in raws)), k, a.q.ctypes.data,
                                 a.xm.ctypes.data, a.xe.ctypes.data, a.qsum.ctypes.data,
                                 (ctypes.c_void_p * m)(*(x.ctypes.data for x in accs)), threads)
    return accs


def matmul_raw_batch(kind: str, raw: np.ndarray, k: int, acts: list[QuantAct], n: int, threads: int) -> np.ndarray:
    """int64 [T, n]: row t is matmul_raw of acts[t]; each weight block is read once for all T."""
    assert _lib is not None
    xq = np.ascontiguousarray(np.stack([a.q for a in acts]))
    xm, xe, qs = (np.ascontiguousarray(np.stack([getattr(a, f) for a in acts])) for f in ("xm", "xe", "qsum"))
    acc = np.empty((len(acts), n), dtype=I64)
    _lib.opml_v2_matmul_raw_batch_mt(RAW_KINDS[kind], raw.ctypes.data, k, n, len(acts), xq.ctypes.data,
                                     xm.ctypes.data, xe.ctypes.data, qs.ctypes.data, acc.ctypes.data, threads)
    return acc


def quantize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    assert _lib is not None
    x = _c(x, I32)
    nb = x.size // 32
    q, xm, xe, qs = np.empty(x.size, I8), np.empty(nb, I64), np.empty(nb, I64), np.empty(nb, I64)
    _lib.opml_v2_quantize(x.ctypes.data, x.size, q.ctypes.data, xm.ctypes.data, xe.ctypes.data, qs.ctypes.data)
    return q, xm, xe, qs


def rmsnorm(h: np.ndarray, gain: np.ndarray, eps_m: int, eps_e: int) -> np.ndarray:
    assert _lib is not None
    h, gain = _c(h, I64), _c(gain, I64)
    y = np.empty(h.size, I32)
    _lib.opml_v2_rmsnorm(h.ctypes.data, gain.ctypes.data, h.size, eps_m, eps_e, y.ctypes.data)
    return y


def rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    assert _lib is not None
    y = np.array(x, dtype=I32, order="C")
    cos, sin = _c(cos, I32), _c(sin, I32)
    _lib.opml_v2_rope(y.ctypes.data, y.shape[0], y.shape[1], cos.ctypes.data, sin.ctypes.data)
    return y


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, table: np.ndarray, scale: int) -> np.ndarray:
    assert _lib is not None
    q, k, v, table = _c(q, I32), _c(k, I32), _c(v, I32), _c(table, I64)
    H, hd = q.shape
    T, G, _ = k.shape
    out, sc = np.empty(H * hd, I32), np.empty(max(T, 1), I64)
    _lib.opml_v2_attention(q.ctypes.data, k.ctypes.data, v.ctypes.data, T, H, G, hd, table.ctypes.data, scale,
                           out.ctypes.data, sc.ctypes.data)
    return out


def swiglu(gate: np.ndarray, up: np.ndarray, table: np.ndarray) -> np.ndarray:
    assert _lib is not None
    gate, up, table = _c(gate, I32), _c(up, I32), _c(table, I64)
    y = np.empty(gate.size, I32)
    _lib.opml_v2_swiglu(gate.ctypes.data, up.ctypes.data, gate.size, table.ctypes.data, y.ctypes.data)
    return y


def to_act(acc: np.ndarray) -> np.ndarray:
    assert _lib is not None
    acc = _c(acc, I64)
    y = np.empty(acc.size, I32)
    _lib.opml_v2_to_act(acc.ctypes.data, acc.size, y.ctypes.data)
    return y


# ---- one decoder layer per native call (blockdot.c's opml_v2_layer) ----

OUT_I32 = ("attn_norm", "q", "k", "v", "q_rope", "k_rope", "attn", "ffn_norm", "gate", "up", "swiglu")
OUT_I64 = ("attn_residual", "ffn_residual")
SCRATCH = ("xq", "xm", "xe", "qs", "acc0", "acc1", "acc2", "sc")


class _LayerOut(ctypes.Structure):
    _fields_ = [(name, ctypes.c_void_p) for name in OUT_I32 + OUT_I64 + SCRATCH]


class _LayerWeights(ctypes.Structure):
    _fields_ = [("w", ctypes.c_void_p * 7), ("kind", ctypes.c_int * 7), ("attn_gain", ctypes.c_void_p),
                ("ffn_gain", ctypes.c_void_p)]


class FusedLayers:
    """The buffers and weight tables of opml_v2_layer for one model: made once per runner, each
    layer then one call. `out[name]` holds the last layer's node outputs (reused: copy to keep)."""

    def __init__(self, mats: dict, gains: dict, n_layers: int, d: int, f: int, nq: int, nkv: int, max_seq: int):
        assert _lib is not None
        big = max(d, f, nq)
        sizes = {"attn_norm": d, "q": nq, "k": nkv, "v": nkv, "q_rope": nq, "k_rope": nkv, "attn": nq,
                 "ffn_norm": d, "gate": f, "up": f, "swiglu": f}
        self.out = {n: np.zeros(sizes[n], dtype=I32) for n in OUT_I32}
        self.out.update({n: np.zeros(d, dtype=I64) for n in OUT_I64})
        self._scratch = {"xq": np.zeros(big, dtype=I8), "sc": np.zeros(max_seq, dtype=I64),
                         **{n: np.zeros(big // 32 + 1, dtype=I64) for n in ("xm", "xe", "qs")},
                         **{n: np.zeros(big, dtype=I64) for n in ("acc0", "acc1", "acc2")}}
        self._o = _LayerOut(**{n: a.ctypes.data for n, a in {**self.out, **self._scratch}.items()})
        self._layers = []
        names = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")
        for layer in range(n_layers):
            p = f"blk.{layer}."
            ws = [mats[p + n] for n in names]
            lw = _LayerWeights()
            lw.w = (ctypes.c_void_p * 7)(*(w.raw.ctypes.data for w in ws))
            lw.kind = (ctypes.c_int * 7)(*(RAW_KINDS[w.kind] for w in ws))
            lw.attn_gain = gains[p + "attn_norm"].ctypes.data
            lw.ffn_gain = gains[p + "ffn_norm"].ctypes.data
            self._layers.append(lw)
        self._keep = (mats, gains)  # the arrays the tables point into
        self._threads = (ctypes.c_int * 4)()

    def run(self, layer: int, h: np.ndarray, dims: tuple[int, int, int, int, int], eps: tuple[int, int],
            cos: np.ndarray, sin: np.ndarray, k_cache: np.ndarray, v_cache: np.ndarray, pos: int, table: np.ndarray,
            scale: int, threads: tuple[int, int, int, int]) -> None:
        """Layer `layer` at `pos`: h (int64, C-contiguous) updated in place, the caches' row written.
        `threads`: for the q/k/v, output, gate/up and down products."""
        assert _lib is not None
        d, f, H, G, hd = dims
        self._threads[:] = threads
        _lib.opml_v2_layer(ctypes.byref(self._layers[layer]), h.ctypes.data, d, f, H, G, hd, eps[0], eps[1],
                           cos.ctypes.data, sin.ctypes.data, k_cache.ctypes.data, v_cache.ctypes.data, pos,
                           table.ctypes.data, scale, ctypes.byref(self._o), self._threads)
