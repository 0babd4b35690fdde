"""The LLaMA shape of a GGUF file, as spec v2 reads it (placeholder, refined below)."""

from __future__ import annotations

from dataclasses import dataclass

import gguf
import numpy as np


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

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads


def _field(r: gguf.GGUFReader, key: str):
    return r.fields[key].contents()


def read_shape(r: gguf.GGUFReader, max_seq_len: int) -> LlamaShape:
    a = _field(r, "general.architecture")
    return LlamaShape(
        dim=_field(r, f"{a}.embedding_length"), hidden_dim=_field(r, f"{a}.feed_forward_length"),
        n_layers=_field(r, f"{a}.block_count"), n_heads=_field(r, f"{a}.attention.head_count"),
        n_kv_heads=_field(r, f"{a}.attention.head_count_kv"),
        vocab_size=len(r.fields["tokenizer.ggml.tokens"].data),
        max_seq_len=min(max_seq_len, _field(r, f"{a}.context_length")),
        rope_theta=float(_field(r, f"{a}.rope.freq_base")),
        norm_eps=float(_field(r, f"{a}.attention.layer_norm_rms_epsilon")),
        rope_theta_bits=_f32(r, f"{a}.rope.freq_base"),
        norm_eps_bits=_f32(r, f"{a}.attention.layer_norm_rms_epsilon"))


def _f32(r: gguf.GGUFReader, key: str) -> int:
    f = r.fields[key]
    return int(np.asarray(f.parts[f.data[0]]).view(np.uint32)[0])
