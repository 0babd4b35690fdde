"""Spec v2's weight commitment (SPEC §3v2.6): a deterministic function of the GGUF file alone.

Leaf 0 is the config tensor (i32 words, big-endian, below); then, in the canonical order of
`canonical_tensors`, the tensor root of each tensor's bytes exactly as they are in the file (block
formats in their own little-endian layout); then the derived tables every party builds from the
config (rope cos, rope sin, exp2), in canonical encoding. `opml model verify FILE.gguf` recomputes
it, so anyone can check that a registered model is the file they hold.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gguf
import numpy as np

from offchain.llm.ops import canonical_bytes
from offchain.llm.v2.fixed import exp2_table, rope_tables
from offchain.llm.v2.gguf_weights import DEFAULT_CONTEXT, LlamaShape, read_shape
from offchain.merkle import tensor_root

SPEC_VERSION = 2
ARCH_LLAMA = 1
ROPE_NORM = 0  # adjacent pairs (llama.cpp's LLAMA_ROPE_TYPE_NORM)
LAYER_TENSORS = ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down")


def canonical_tensors(shape: LlamaShape, tied: bool) -> list[str]:
    names = ["token_embd.weight"]
    for layer in range(shape.n_layers):
        names += [f"blk.{layer}.{t}.weight" for t in LAYER_TENSORS]
    names.append("output_norm.weight")
    if not tied:
        names.append("output.weight")
    return names


def config_words(shape: LlamaShape, tied: bool, types: list[int]) -> np.ndarray:
    """The config leaf: version, arch, dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab,
    max_seq_len, rope theta (f32 bits), RMS eps (f32 bits), rope type, tied (0/1), the number of
    tensors, then each tensor's ggml type id in canonical order."""
    head = [SPEC_VERSION, ARCH_LLAMA, shape.dim, shape.hidden_dim, shape.n_layers, shape.n_heads, shape.n_kv_heads,
            shape.vocab_size, shape.max_seq_len, shape.rope_theta_bits, shape.norm_eps_bits, ROPE_NORM, int(tied),
            len(types)]
    return np.array(head + types, dtype=np.uint32)


def leaf_roots(path: str | Path, max_seq_len: int = DEFAULT_CONTEXT) -> list[bytes]:
    shape = read_shape(str(path), max_seq_len)
    r = gguf.GGUFReader(str(path))
    by_name = {t.name: t for t in r.tensors}
    tied = shape.tied
    names = canonical_tensors(shape, tied)
    types = [int(by_name[n].tensor_type) for n in names]
    cos, sin = rope_tables(shape.rope_theta_bits, shape.head_dim, shape.max_seq_len)
    blobs = ([canonical_bytes(config_words(shape, tied, types))] + [memoryview(np.ascontiguousarray(by_name[n].data).view(np.uint8)).cast("B")
                                                         for n in names]
             + [canonical_bytes(cos), canonical_bytes(sin), canonical_bytes(exp2_table().astype(np.int32))])
    with ThreadPoolExecutor(max(1, os.cpu_count() or 1)) as pool:
        return list(pool.map(lambda b: tensor_root(bytes(b))[0], blobs))


def weight_root(path: str | Path, max_seq_len: int = DEFAULT_CONTEXT) -> bytes:
    """The root of the tree over `leaf_roots` (zero-padded to a power of two, hashed as memory)."""
    return tensor_root(b"".join(leaf_roots(path, max_seq_len)))[0]
