"""Float reference of the same LLaMA forward pass (float64 numpy), for calibration and accuracy.

Not part of the protocol: the integer runner is the product. This exists to measure how far the
integer model is from the float checkpoint it came from, and to pick its static scales.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Hook = Callable[[str, np.ndarray], None]


@dataclass
class FloatLlama:
    """Float weights in Meta/llama2.c naming, and the shape hyper-parameters."""

    dim: int
    hidden_dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    vocab_size: int
    max_seq_len: int
    norm_eps: float
    rope_theta: float
    weights: dict[str, np.ndarray]

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads


def rope_angles(max_seq: int, head_dim: int, theta: float) -> tuple[np.ndarray, np.ndarray]:
    inv = 1.0 / (theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    ang = np.outer(np.arange(max_seq, dtype=np.float64), inv)
    return np.cos(ang), np.sin(ang)


def silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


class FloatRunner:
    """Token-at-a-time float64 forward with a KV cache; `hook(name, value)` sees activations."""

    def __init__(self, m: FloatLlama, hook: Hook | None = None):
        self.m = m
        self.w = {k: v.astype(np.float64) for k, v in m.weights.items()}
        self.cos, self.sin = rope_angles(m.max_seq_len, m.head_dim, m.rope_theta)
        self.hook = hook or (lambda name, x: None)
        self.reset()

    def reset(self) -> None:
        m = self.m
        kvd = m.n_kv_heads * m.head_dim
        self.k = np.zeros((m.n_layers, m.max_seq_len, kvd))
        self.v = np.zeros((m.n_layers, m.max_seq_len, kvd))

    def _norm(self, x: np.ndarray, g: np.ndarray) -> np.ndarray:
        return x / np.sqrt(np.mean(x * x) + self.m.norm_eps) * g

    def _rope(self, x: np.ndarray, pos: int) -> np.ndarray:
        hd = self.m.head_dim
        x = x.reshape(-1, hd)
        a, b = x[:, 0::2], x[:, 1::2]
        c, s = self.cos[pos], self.sin[pos]
        out = np.empty_like(x)
        out[:, 0::2] = a * c - b * s
        out[:, 1::2] = a * s + b * c
        return out.reshape(-1)

    def step(self, token: int, pos: int) -> np.ndarray:
        m, w, hook = self.m, self.w, self.hook
        hd, H, KVH = m.head_dim, m.n_heads, m.n_kv_heads
        x = w["tok_embeddings.weight"][token].copy()
        for i in range(m.n_layers):
            p = f"layers.{i}"
            a = self._norm(x, w[f"{p}.attention_norm.weight"])
            hook(f"{p}.attn_in", a)
            q = self._rope(w[f"{p}.attention.wq.weight"] @ a, pos)
            k = self._rope(w[f"{p}.attention.wk.weight"] @ a, pos)
            v = w[f"{p}.attention.wv.weight"] @ a
            hook(f"{p}.q", q)
            hook(f"{p}.k", k)
            hook(f"{p}.v", v)
            self.k[i, pos], self.v[i, pos] = k, v
            qh = q.reshape(KVH, H // KVH, hd)
            kh = self.k[i, : pos + 1].reshape(pos + 1, KVH, hd)
            vh = self.v[i, : pos + 1].reshape(pos + 1, KVH, hd)
            sc = np.einsum("gjd,tgd->gjt", qh, kh) / np.sqrt(hd)
            pr = np.exp(sc - sc.max(-1, keepdims=True))
            pr /= pr.sum(-1, keepdims=True)
            o = np.einsum("gjt,tgd->gjd", pr, vh).reshape(-1)
            hook(f"{p}.attn_out", o)
            x = x + w[f"{p}.attention.wo.weight"] @ o
            f = self._norm(x, w[f"{p}.ffn_norm.weight"])
            hook(f"{p}.ffn_in", f)
            g = w[f"{p}.feed_forward.w1.weight"] @ f
            u = w[f"{p}.feed_forward.w3.weight"] @ f
            hook(f"{p}.gate", g)
            hook(f"{p}.up", u)
            h = silu(g) * u
            hook(f"{p}.ffn_hidden", h)
            x = x + w[f"{p}.feed_forward.w2.weight"] @ h
            hook(f"{p}.residual", x)
        fx = self._norm(x, w["norm.weight"])
        hook("final_norm", fx)
        return w["output.weight"] @ fx
