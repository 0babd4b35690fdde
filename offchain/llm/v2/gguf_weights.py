"""The LLaMA shape of a GGUF file as spec v2 uses it, from `gguf_file.read_info` (which refuses
bad files in one line)."""

from __future__ import annotations

from dataclasses import dataclass

from offchain.llm.gguf_file import GgufError, GgufInfo, read_info
from offchain.llm.v2.blocks import SUPPORTED

DEFAULT_CONTEXT = 2048  # the context a v2 model gets unless asked: it sizes the committed RoPE tables


@dataclass(frozen=True)
class LlamaShape:
    dim: int
    hidden_dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    vocab_size: int
    max_seq_len: int
    rope_theta: float
    norm_eps: float
    rope_theta_bits: int  # the file's float32 values, bit for bit: the integer tables start here
    norm_eps_bits: int
    tied: bool

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads


def shape_of(info: GgufInfo, max_seq_len: int = DEFAULT_CONTEXT) -> LlamaShape:
    if info.rope_type != "norm":
        raise GgufError(f"{info.path}: RoPE type {info.rope_type} is not in spec v2 (norm only)")
    if info.rope_dim != info.head_dim:
        raise GgufError(f"{info.path}: partial RoPE ({info.rope_dim} of {info.head_dim} dims) is not in spec v2")
    if not 0 < info.rms_eps <= 1:
        raise GgufError(f"{info.path}: RMS epsilon {info.rms_eps} is outside (0, 1]")
    if max_seq_len < 1:
        raise GgufError(f"{info.path}: the context must be at least 1")
    return LlamaShape(info.dim, info.hidden_dim, info.n_layers, info.n_heads, info.n_kv_heads, info.vocab_size,
                      min(max_seq_len, info.context_length), info.rope_theta, info.rms_eps, info.rope_theta_bits,
                      info.rms_eps_bits, info.tied_embeddings)


def read_shape(path: str, max_seq_len: int = DEFAULT_CONTEXT) -> LlamaShape:
    """The shape, from a file whose every tensor is of a type spec v2 multiplies (else one line)."""
    return shape_of(read_info(path, supported_types=frozenset(SUPPORTED)), max_seq_len)
