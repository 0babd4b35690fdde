"""The native spec v2 runner: one token at a time, exactly the ops of SPEC §3v2, in order."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from offchain.llm.v2 import native, ops
from offchain.llm.v2.fixed import ACT_FRAC, I32, I64
from offchain.llm.v2.model import ModelV2

Emit = Callable[[str, np.ndarray], None]


def _skip(name: str, x: np.ndarray) -> None:
    pass


class _NativeOps:
    """ops.py's functions through blockdot.c (the same bits, tests/llm/test_v2_ops.py)."""

    matmul_acc = staticmethod(ops.matmul_acc)
    embed_row = staticmethod(ops.embed_row)
    rmsnorm = staticmethod(native.rmsnorm)
    rope = staticmethod(native.rope)
    attention = staticmethod(native.attention)
    swiglu = staticmethod(native.swiglu)
    to_act = staticmethod(native.to_act)

    matmul_acc_batch = staticmethod(ops.matmul_acc_batch)
    matmul_acc_many = staticmethod(ops.matmul_acc_many)

    @staticmethod
    def quantize_act(x: np.ndarray) -> ops.QuantAct:
        return ops.QuantAct(*native.quantize(x), np.ascontiguousarray(x, dtype=I32))


class _NumpyOps:
    """ops.py's numpy definitions, the matmul included (no C at all)."""

    matmul_acc = staticmethod(ops.matmul_acc_numpy)
    embed_row = staticmethod(ops.embed_row)
    rmsnorm = staticmethod(ops.rmsnorm)
    rope = staticmethod(ops.rope)
    attention = staticmethod(ops.attention)
    swiglu = staticmethod(ops.swiglu)
    to_act = staticmethod(ops.to_act)
    quantize_act = staticmethod(ops.quantize_act)

    @staticmethod
    def matmul_acc_batch(w, acts: list) -> np.ndarray:  # type: ignore[no-untyped-def]
        return np.stack([ops.matmul_acc_numpy(w, a) for a in acts])

    @staticmethod
    def matmul_acc_many(ws: list, a) -> list:  # type: ignore[no-untyped-def]
        return [ops.matmul_acc_numpy(w, a) for w in ws]


class RunnerV2:
    """Integer LLaMA (spec v2) with an int32 KV cache at 2^-16. `use_native=False` runs the numpy
    definitions (ops.py) everywhere: the same bits, slower."""

    def __init__(self, model: ModelV2, use_native: bool | None = None):
        self.m, self.c = model, model.shape
        self.ops: type[_NativeOps] | type[_NumpyOps] = (
            _NativeOps if (native.NATIVE if use_native is None else use_native) else _NumpyOps)
        self.fused = self._fused_layers() if self.ops is _NativeOps else None
        self.reset()

    def _fused_layers(self) -> native.FusedLayers | None:
        """One native call per layer where every layer weight is a 32-value block format."""
        c, mats = self.c, self.m.mats
        layer_w = [w for name, w in mats.items() if name.startswith("blk.")]
        if not all(w.kind in native.RAW_KINDS for w in layer_w):
            return None
        nq, nkv = c.n_heads * c.head_dim, c.n_kv_heads * c.head_dim
        return native.FusedLayers(mats, self.m.gains, c.n_layers, c.dim, c.hidden_dim, nq, nkv, c.max_seq_len)

    def _threads(self) -> tuple[int, int, int, int]:
        """Threads for a layer's q/k/v, output, gate/up and down products, as ops.matmul_acc and
        matmul_acc_many choose them (read each token: a caller may change ops.WORKERS)."""
        c = self.c
        d, f, nq, nkv = c.dim, c.hidden_dim, c.n_heads * c.head_dim, c.n_kv_heads * c.head_dim
        sizes = (d * (nq + 2 * nkv), nq * d, 2 * d * f, f * d)
        return tuple(1 if s < ops.PARALLEL_V2 else ops.WORKERS for s in sizes)  # type: ignore[return-value]

    def reset(self) -> None:
        c = self.c
        shape = (c.n_layers, c.max_seq_len, c.n_kv_heads, c.head_dim)
        self.k_cache = np.zeros(shape, dtype=I32)
        self.v_cache = np.zeros(shape, dtype=I32)

    def step(self, token: int, pos: int, emit: Emit | None = None) -> np.ndarray:
        """int32 logits at 2^-16 after feeding `token` at position `pos`. `emit(name, array)` is
        handed every node output of the token's graph (SPEC §3v2.3) in order, for the trace."""
        m, c, ops = self.m, self.c, self.ops
        if not 0 <= pos < c.max_seq_len:
            raise ValueError(f"position {pos} is outside the context of {c.max_seq_len}")
        if not 0 <= token < c.vocab_size:
            raise ValueError(f"token {token} is outside the vocabulary of {c.vocab_size}")
        H, G, hd = c.n_heads, c.n_kv_heads, c.head_dim
        e = emit or _skip
        h = ops.embed_row(m.mats["token_embd"], token)
        e("embed", h)
        cos, sin = m.rope_cos[pos], m.rope_sin[pos]
        if self.fused is not None:
            h = np.array(h, dtype=I64)  # a copy: the layers update it in place, and `embed` was emitted
            dims, threads = (c.dim, c.hidden_dim, H, G, hd), self._threads()
            out = self.fused.out
            for layer in range(c.n_layers):
                self.fused.run(layer, h, dims, m.eps, cos, sin, self.k_cache[layer], self.v_cache[layer], pos,
                               m.exp2, m.score_scale, threads)
                if emit is not None:  # copies: the buffers are the next layer's
                    p = f"blk.{layer}."
                    for name, shape in (("attn_norm", None), ("q", (H, hd)), ("k", (G, hd)), ("v", (G, hd)),
                                        ("q_rope", (H, hd)), ("k_rope", (G, hd))):
                        x = out[name]
                        emit(p + name, (x if shape is None else x.reshape(shape)).copy())
                    emit(p + "k_cache", self.k_cache[layer, : pos + 1])
                    emit(p + "v_cache", self.v_cache[layer, : pos + 1])
                    for name in ("attn", "attn_residual", "ffn_norm", "gate", "up", "swiglu", "ffn_residual"):
                        emit(p + name, out[name].copy())
            n = ops.rmsnorm(h, m.gains["output_norm"], *m.eps)
            e("norm", n)
            z = ops.to_act(ops.matmul_acc(m.mats["output"], ops.quantize_act(n)))
            e("logits", z)
            return z
        for layer in range(c.n_layers):
            p = f"blk.{layer}."
            n = ops.rmsnorm(h, m.gains[p + "attn_norm"], *m.eps)
            e(p + "attn_norm", n)
            a = ops.quantize_act(n)
            qa, ka, va = ops.matmul_acc_many([m.mats[p + "attn_q"], m.mats[p + "attn_k"], m.mats[p + "attn_v"]], a)
            q, k, v = ops.to_act(qa).reshape(H, hd), ops.to_act(ka).reshape(G, hd), ops.to_act(va).reshape(G, hd)
            e(p + "q", q)
            e(p + "k", k)
            e(p + "v", v)
            q, k = ops.rope(q, cos, sin), ops.rope(k, cos, sin)
            e(p + "q_rope", q)
            e(p + "k_rope", k)
            self.k_cache[layer, pos] = k
            self.v_cache[layer, pos] = v
            kc, vc = self.k_cache[layer, : pos + 1], self.v_cache[layer, : pos + 1]
            e(p + "k_cache", kc)
            e(p + "v_cache", vc)
            o = ops.attention(q, kc, vc, m.exp2, m.score_scale)
            e(p + "attn", o)
            h = h + ops.matmul_acc(m.mats[p + "attn_output"], ops.quantize_act(o))
            e(p + "attn_residual", h)
            n = ops.rmsnorm(h, m.gains[p + "ffn_norm"], *m.eps)
            e(p + "ffn_norm", n)
            a = ops.quantize_act(n)
            ga, ua = ops.matmul_acc_many([m.mats[p + "ffn_gate"], m.mats[p + "ffn_up"]], a)
            g, u = ops.to_act(ga), ops.to_act(ua)
            e(p + "gate", g)
            e(p + "up", u)
            sw = ops.swiglu(g, u, m.exp2)
            e(p + "swiglu", sw)
            h = h + ops.matmul_acc(m.mats[p + "ffn_down"], ops.quantize_act(sw))
            e(p + "ffn_residual", h)
        n = ops.rmsnorm(h, m.gains["output_norm"], *m.eps)
        e("norm", n)
        z = ops.to_act(ops.matmul_acc(m.mats["output"], ops.quantize_act(n)))
        e("logits", z)
        return z

    def prefill(self, ids: list[int], pos0: int = 0) -> tuple[np.ndarray, list[list[tuple[str, np.ndarray]]]]:
        """The positions pos0 … pos0 + T − 1 at once: each weight is read once for the whole batch.
        Returns each position's logits [T, V] and its node outputs in `step`'s order (what `step`
        would emit); bit for bit the same as T calls of `step`."""
        m, c, ops = self.m, self.c, self.ops
        T = len(ids)
        if T == 0:
            return np.zeros((0, c.vocab_size), dtype=I32), []
        if not (0 <= pos0 and pos0 + T <= c.max_seq_len):
            raise ValueError(f"positions {pos0}..{pos0 + T - 1} are outside the context of {c.max_seq_len}")
        bad = [t for t in ids if not 0 <= t < c.vocab_size]
        if bad:
            raise ValueError(f"token {bad[0]} is outside the vocabulary of {c.vocab_size}")
        H, G, hd = c.n_heads, c.n_kv_heads, c.head_dim
        nodes: list[list[tuple[str, np.ndarray]]] = [[] for _ in range(T)]
        if self.fused is not None:  # one native call per layer beats a batch through Python per op
            zs = [self.step(tok, pos0 + t, lambda name, x, t=t: nodes[t].append((name, x)))  # type: ignore[misc]
                  for t, tok in enumerate(ids)]
            return np.stack(zs), nodes

        def rec(name: str, xs) -> None:  # type: ignore[no-untyped-def]
            for t in range(T):
                nodes[t].append((name, xs[t]))

        def mm(key: str, acts: list) -> np.ndarray:  # type: ignore[no-untyped-def]
            return ops.matmul_acc_batch(m.mats[key], acts)

        h = np.stack([ops.embed_row(m.mats["token_embd"], tok) for tok in ids])
        rec("embed", h)
        for layer in range(c.n_layers):
            p = f"blk.{layer}."
            n = [ops.rmsnorm(h[t], m.gains[p + "attn_norm"], *m.eps) for t in range(T)]
            rec(p + "attn_norm", n)
            a = [ops.quantize_act(x) for x in n]
            q = [ops.to_act(r).reshape(H, hd) for r in mm(p + "attn_q", a)]
            k = [ops.to_act(r).reshape(G, hd) for r in mm(p + "attn_k", a)]
            v = [ops.to_act(r).reshape(G, hd) for r in mm(p + "attn_v", a)]
            rec(p + "q", q)
            rec(p + "k", k)
            rec(p + "v", v)
            q = [ops.rope(q[t], m.rope_cos[pos0 + t], m.rope_sin[pos0 + t]) for t in range(T)]
            k = [ops.rope(k[t], m.rope_cos[pos0 + t], m.rope_sin[pos0 + t]) for t in range(T)]
            rec(p + "q_rope", q)
            rec(p + "k_rope", k)
            self.k_cache[layer, pos0:pos0 + T] = np.stack(k)
            self.v_cache[layer, pos0:pos0 + T] = np.stack(v)
            kc = [self.k_cache[layer, : pos0 + t + 1] for t in range(T)]
            vc = [self.v_cache[layer, : pos0 + t + 1] for t in range(T)]
            rec(p + "k_cache", kc)
            rec(p + "v_cache", vc)
            o = [ops.attention(q[t], kc[t], vc[t], m.exp2, m.score_scale) for t in range(T)]
            rec(p + "attn", o)
            h = h + mm(p + "attn_output", [ops.quantize_act(x) for x in o])
            rec(p + "attn_residual", h)
            n = [ops.rmsnorm(h[t], m.gains[p + "ffn_norm"], *m.eps) for t in range(T)]
            rec(p + "ffn_norm", n)
            a = [ops.quantize_act(x) for x in n]
            g = [ops.to_act(r) for r in mm(p + "ffn_gate", a)]
            u = [ops.to_act(r) for r in mm(p + "ffn_up", a)]
            rec(p + "gate", g)
            rec(p + "up", u)
            sw = [ops.swiglu(g[t], u[t], m.exp2) for t in range(T)]
            rec(p + "swiglu", sw)
            h = h + mm(p + "ffn_down", [ops.quantize_act(x) for x in sw])
            rec(p + "ffn_residual", h)
        n = [ops.rmsnorm(h[t], m.gains["output_norm"], *m.eps) for t in range(T)]
        rec("norm", n)
        z = np.stack([ops.to_act(r) for r in mm("output", [ops.quantize_act(x) for x in n])])
        rec("logits", z)
        return z, nodes

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
