"""The float yardstick for spec v2 (non-normative): the GGUF's weights dequantized to float64 and a
float64 forward pass. `make accuracy` compares both it and the integer runner with llama.cpp; it is
never part of a commitment."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np

from offchain.llm.v2.gguf_weights import DEFAULT_CONTEXT, LlamaShape, read_shape


def _dequant(tensors: dict[str, gguf.ReaderTensor], name: str) -> np.ndarray:
    t = tensors[name]
    return np.asarray(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float64)


class FloatReference:
    """Teacher-forced float64 logits of a LLaMA-family GGUF (weights dequantized)."""

    def __init__(self, path: str | Path, max_seq_len: int = DEFAULT_CONTEXT):
        self.c: LlamaShape = read_shape(str(path), max_seq_len)
        r = {t.name: t for t in gguf.GGUFReader(str(path)).tensors}
        c = self.c
        self.emb = _dequant(r, "token_embd.weight")
        self.out = _dequant(r, "output.weight") if "output.weight" in r else self.emb
        self.norm = _dequant(r, "output_norm.weight")
        self.layers = []
        for i in range(c.n_layers):
            p = f"blk.{i}."
            self.layers.append({k: _dequant(r, p + k + ".weight") for k in (
                "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down")})
        hd = c.head_dim
        inv = c.rope_theta ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)
        ang = np.arange(c.max_seq_len, dtype=np.float64)[:, None] * inv[None, :]
        self.cos, self.sin = np.cos(ang), np.sin(ang)

    def _rms(self, x: np.ndarray, g: np.ndarray) -> np.ndarray:
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + self.c.norm_eps) * g

    def _rope(self, x: np.ndarray, n: int) -> np.ndarray:  # x [T, heads, hd], adjacent pairs ("norm")
        a, b = x[..., 0::2], x[..., 1::2]
        c, s = self.cos[:n, None, :], self.sin[:n, None, :]
        y = np.empty_like(x)
        y[..., 0::2] = a * c - b * s
        y[..., 1::2] = a * s + b * c
        return y

    def teacher_forced(self, ids: list[int], stats: dict | None = None) -> np.ndarray:
        """Logits [len(ids), V] after each position, the whole sequence in one causal pass."""
        c = self.c
        n, H, G, hd = len(ids), c.n_heads, c.n_kv_heads, c.head_dim
        x = self.emb[np.asarray(ids)]
        mask = np.triu(np.full((n, n), -np.inf), 1)
        for L in self.layers:
            h = self._rms(x, L["attn_norm"])
            q = self._rope((h @ L["attn_q"].T).reshape(n, H, hd), n)
            k = self._rope((h @ L["attn_k"].T).reshape(n, G, hd), n)
            v = (h @ L["attn_v"].T).reshape(n, G, hd)
            rep = H // G
            k, v = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)
            sc = np.einsum("thd,uhd->htu", q, k) / np.sqrt(hd) + mask
            p = np.exp(sc - sc.max(-1, keepdims=True))
            p /= p.sum(-1, keepdims=True)
            o = np.einsum("htu,uhd->thd", p, v).reshape(n, H * hd)
            x = x + o @ L["attn_output"].T
            h = self._rms(x, L["ffn_norm"])
            g, u = h @ L["ffn_gate"].T, h @ L["ffn_up"].T
            act = g / (1 + np.exp(-g)) * u
            x = x + act @ L["ffn_down"].T
            if stats is not None:
                for key, val in (("resid", x), ("ffn_act", act), ("q", q), ("scores", sc[np.isfinite(sc)])):
                    stats[key] = max(stats.get(key, 0.0), float(np.abs(val).max()))
        return self._rms(x, self.norm) @ self.out.T
