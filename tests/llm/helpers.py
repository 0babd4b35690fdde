"""Small float LLaMAs made on the spot: every converter and runner test starts from one of these."""

from __future__ import annotations

import numpy as np

from offchain.llm.reference import FloatLlama


def tiny_llama(seed: int = 0, dim: int = 16, hidden: int = 40, n_layers: int = 2, n_heads: int = 4,
               n_kv_heads: int = 2, vocab: int = 48, max_seq: int = 32) -> FloatLlama:
    rng = np.random.default_rng(seed)
    hd = dim // n_heads
    kvd = n_kv_heads * hd

    def mat(n: int, k: int) -> np.ndarray:
        return (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)

    w = {"tok_embeddings.weight": rng.standard_normal((vocab, dim)).astype(np.float32),
         "norm.weight": (1 + 0.1 * rng.standard_normal(dim)).astype(np.float32), "output.weight": mat(vocab, dim)}
    for i in range(n_layers):
        p = f"layers.{i}"
        w.update({f"{p}.attention_norm.weight": (1 + 0.1 * rng.standard_normal(dim)).astype(np.float32),
                  f"{p}.ffn_norm.weight": (1 + 0.1 * rng.standard_normal(dim)).astype(np.float32),
                  f"{p}.attention.wq.weight": mat(dim, dim), f"{p}.attention.wk.weight": mat(kvd, dim),
                  f"{p}.attention.wv.weight": mat(kvd, dim), f"{p}.attention.wo.weight": mat(dim, dim),
                  f"{p}.feed_forward.w1.weight": mat(hidden, dim), f"{p}.feed_forward.w3.weight": mat(hidden, dim),
                  f"{p}.feed_forward.w2.weight": mat(dim, hidden)})
    return FloatLlama(dim=dim, hidden_dim=hidden, n_layers=n_layers, n_heads=n_heads, n_kv_heads=n_kv_heads,
                      vocab_size=vocab, max_seq_len=max_seq, norm_eps=1e-5, rope_theta=10000.0, weights=w)


#: The model stored (by torch) in tests/llm/data/tiny.pt; dims are multiples of 32 for Q8_0.
FIXTURE_ARGS = {"seed": 3, "dim": 32, "hidden": 32}
