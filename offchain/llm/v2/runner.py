"""The native spec v2 runner: one token at a time, exactly the ops of SPEC §3v2, in order."""

from __future__ import annotations

import numpy as np

from offchain.llm.v2 import native, ops
from offchain.llm.v2.fixed import ACT_FRAC, I32, I64
from offchain.llm.v2.model import ModelV2


class _NativeOps:
    """ops.py's functions through blockdot.c (the same bits, tests/llm/test_v2_ops.py)."""

    matmul_acc = staticmethod(ops.matmul_acc)
    embed_row = staticmethod(ops.embed_row)
    rmsnorm = staticmethod(native.rmsnorm)
    rope = staticmethod(native.rope)
    attention = staticmethod(native.attention)
    swiglu = staticmethod(native.swiglu)
    to_act = staticmethod(native.to_act)

    @staticmethod
    def quantize_act(x: np.ndarray) -> ops.QuantAct:
        return ops.QuantAct(*native.quantize(x), np.ascontiguousarray(x, dtype=I32))


class RunnerV2:
    """Integer LLaMA (spec v2) with an int32 KV cache at 2^-16. `use_native=False` runs the numpy
    definitions (ops.py) everywhere: the same bits, slower."""

    def __init__(self, model: ModelV2, use_native: bool | None = None):
        self.m, self.c = model, model.shape
        self.ops = _NativeOps if (native.NATIVE if use_native is None else use_native) else ops
        self.reset()

    def reset(self) -> None:
        c = self.c
        shape = (c.n_layers, c.max_seq_len, c.n_kv_heads, c.head_dim)
        self.k_cache = np.zeros(shape, dtype=I32)
        self.v_cache = np.zeros(shape, dtype=I32)

    def step(self, token: int, pos: int) -> np.ndarray:
        """int32 logits at 2^-16 after feeding `token` at position `pos`."""
        m, c, ops = self.m, self.c, self.ops
        if not 0 <= pos < c.max_seq_len:
            raise ValueError(f"position {pos} is outside the context of {c.max_seq_len}")
        if not 0 <= token < c.vocab_size:
            raise ValueError(f"token {token} is outside the vocabulary of {c.vocab_size}")
        H, G, hd = c.n_heads, c.n_kv_heads, c.head_dim
        h = ops.embed_row(m.mats["token_embd"], token)
        cos, sin = m.rope_cos[pos], m.rope_sin[pos]
        for layer in range(c.n_layers):
            p = f"blk.{layer}."
            a = ops.quantize_act(ops.rmsnorm(h, m.gains[p + "attn_norm"], *m.eps))
            q = ops.rope(ops.to_act(ops.matmul_acc(m.mats[p + "attn_q"], a)).reshape(H, hd), cos, sin)
            k = ops.rope(ops.to_act(ops.matmul_acc(m.mats[p + "attn_k"], a)).reshape(G, hd), cos, sin)
            v = ops.to_act(ops.matmul_acc(m.mats[p + "attn_v"], a)).reshape(G, hd)
            self.k_cache[layer, pos] = k
            self.v_cache[layer, pos] = v
            o = ops.attention(q, self.k_cache[layer, : pos + 1], self.v_cache[layer, : pos + 1], m.exp2, m.score_scale)
            h = h + ops.matmul_acc(m.mats[p + "attn_output"], ops.quantize_act(o))
            a = ops.quantize_act(ops.rmsnorm(h, m.gains[p + "ffn_norm"], *m.eps))
            g = ops.to_act(ops.matmul_acc(m.mats[p + "ffn_gate"], a))
            u = ops.to_act(ops.matmul_acc(m.mats[p + "ffn_up"], a))
            h = h + ops.matmul_acc(m.mats[p + "ffn_down"], ops.quantize_act(ops.swiglu(g, u, m.exp2)))
        a = ops.quantize_act(ops.rmsnorm(h, m.gains["output_norm"], *m.eps))
        return ops.to_act(ops.matmul_acc(m.mats["output"], a))

    def teacher_forced(self, ids: list[int]) -> np.ndarray:
        """float64 [len(ids), V] logits in natural units after each position (for measurement)."""
        self.reset()
        return np.stack([self.step(t, p).astype(I64) for p, t in enumerate(ids)]) / float(1 << ACT_FRAC)

    def generate(self, ids: list[int], n_new: int, stop_ids: set[int] | frozenset[int] = frozenset()) -> list[int]:
        """Greedy continuation of `ids` (at most `n_new` tokens, cut before a stop id)."""
        self.reset()
        z = None
        for p, t in enumerate(ids):
            z = self.step(t, p)
        out: list[int] = []
        pos = len(ids)
        while z is not None and len(out) < n_new:
            nxt = int(np.argmax(z))
            if nxt in stop_ids:
                break
            out.append(nxt)
            if pos >= self.c.max_seq_len or len(out) == n_new:
                break
            z = self.step(nxt, pos)
            pos += 1
        return out
