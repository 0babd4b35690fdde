"""A LLaMA-family GGUF read as a spec v2 integer model (SPEC §3v2.4): the file's tensors unpacked
to exact integers, plus the tables every party derives the same way from the file's metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import gguf
import numpy as np

from offchain.llm.v2 import ops
from offchain.llm.v2.blocks import FormatError, Weight, weight
from offchain.llm.v2.fixed import I64, RES_FRAC, exp2_table, f32_parts, rope_tables, shift_round
from offchain.llm.v2.gguf_weights import DEFAULT_CONTEXT, LlamaShape, read_shape

LAYER_MATS = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")


@dataclass
class ModelV2:
    path: Path
    shape: LlamaShape
    mats: dict[str, Weight]  # "token_embd", "output", "blk.{l}.attn_q", …: the file's bytes
    gains: dict[str, np.ndarray]  # "output_norm", "blk.{l}.attn_norm", … int64 at 2^-24
    eps: tuple[int, int]  # the file's RMS epsilon as (m, e)
    rope_cos: np.ndarray
    rope_sin: np.ndarray
    exp2: np.ndarray = field(default_factory=exp2_table)
    #: the file's tensors by name (views of the file's bytes): what the weight leaves hash
    tensors: dict[str, gguf.ReaderTensor] = field(default_factory=dict, repr=False)

    @property
    def score_scale(self) -> int:
        return ops.score_scale(self.shape.head_dim)


def _f32_bits(value: np.ndarray) -> int:
    return int(np.asarray(value, dtype=np.float32).reshape(()).view(np.uint32))


def _gain(t: gguf.ReaderTensor) -> np.ndarray:
    if t.tensor_type != gguf.GGMLQuantizationType.F32:
        raise FormatError(f"{t.name}: a norm weight must be F32, not {t.tensor_type.name}")
    vals = np.asarray(t.data, dtype=np.float32)
    # refused on the value itself, before any shift: a gain of 2^39 or more would shift by more
    # than 63 bits below (the comparison with 128 is exact in float)
    if not np.all(np.isfinite(vals)) or np.any(np.abs(vals) >= 128):
        raise FormatError(f"{t.name}: a norm weight is infinite, NaN, or 128 or more in magnitude")
    m, e = f32_parts(vals.view(np.uint32))
    return shift_round(m, e + RES_FRAC).astype(I64)


def load_gguf(path: str | Path, max_seq_len: int = DEFAULT_CONTEXT) -> ModelV2:
    path = Path(path)
    shape = read_shape(str(path), max_seq_len)
    r = gguf.GGUFReader(str(path))
    by_name = {t.name: t for t in r.tensors}
    mats: dict[str, Weight] = {}
    gains: dict[str, np.ndarray] = {}

    def mat(name: str, key: str) -> None:
        t = by_name[name]
        k, n = (int(v) for v in t.shape[:2])
        mats[key] = weight(t.tensor_type.name, np.asarray(t.data), name, (n, k))

    mat("token_embd.weight", "token_embd")
    if "output.weight" in by_name:
        mat("output.weight", "output")
    else:
        mats["output"] = mats["token_embd"]
    gains["output_norm"] = _gain(by_name["output_norm.weight"])
    for layer in range(shape.n_layers):
        p = f"blk.{layer}."
        for key in LAYER_MATS:
            mat(p + key + ".weight", p + key)
        for key in ("attn_norm", "ffn_norm"):
            gains[p + key] = _gain(by_name[p + key + ".weight"])
    eps_m, eps_e = (int(v[0]) for v in f32_parts(np.array([shape.norm_eps_bits], dtype=np.uint32)))
    cos, sin = rope_tables(shape.rope_theta_bits, shape.head_dim, shape.max_seq_len)
    return ModelV2(path, shape, mats, gains, (eps_m, eps_e), cos, sin, tensors=by_name)
