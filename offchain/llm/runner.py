"""The native integer runner: one token at a time, exactly the ops of SPEC §3, in order.

`Runner.step` computes the per-token graph and, when given an `emit` callback, hands it every node
output (name, int array) in graph order; `ops.canonical_bytes` turns each into the bytes that a
commitment hashes. Weights are stored int8 and multiplied natively (ops.matmul_i8); without a C
compiler, small models keep a float32 copy of each weight matrix for speed (an exact copy: int8
values are exact in float32).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from offchain.llm import matvec, ops
from offchain.llm.model import ARCH_LLAMA, ARCH_MLP, IntModel

Emit = Callable[[str, np.ndarray], None]
FLOAT_CACHE_LIMIT = 64 << 20  # keep float32 weight copies only for models this small (int8 bytes)
_BLAS_LIMITED = False


def single_threaded_blas() -> None:
    """Run BLAS on one thread in this process (once). The runner parallelises large matmuls over
    row tiles itself; OpenBLAS's own threads make each small product 10-100x slower on a busy
    machine (they spin-wait for cores). Results are exact either way; this is only about speed."""
    global _BLAS_LIMITED
    if not _BLAS_LIMITED:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1, user_api="blas")
        _BLAS_LIMITED = True


class _Linear:
    """An int8 weight matrix with its per-row requant pairs; the product is exact (ops.matmul_i8)."""

    def __init__(self, w: np.ndarray, rq: np.ndarray, keep_float: bool):
        self.w, self.rq = w, rq
        # Fallback only (no C compiler): with K <= 1024 one float32 product is exact, so a cached
        # float copy makes it one BLAS call. The native product reads int8 directly and is faster.
        small = keep_float and w.shape[1] <= ops.F32_EXACT_TERMS
        self.wf = w.astype(np.float32) if small and not matvec.NATIVE else None

    def acc(self, x: np.ndarray) -> np.ndarray:
        if self.wf is not None:
            return (self.wf @ x.astype(np.float32)).astype(np.int32)
        return ops.matmul_i8(self.w, x)


class Runner:
    """Integer LLaMA with a per-layer int8 KV cache."""

    def __init__(self, model: IntModel, keep_float: bool | None = None):
        c = model.config
        if c.arch != ARCH_LLAMA:
            raise ValueError("Runner runs LLaMA models; use run_mlp for MLP models")
        self.model, self.c = model, c
        single_threaded_blas()
        t = model.tensors
        if keep_float is None:
            keep_float = sum(a.nbytes for a in t.values()) <= FLOAT_CACHE_LIMIT
        self.lin = {name[: -len(".weight")]: _Linear(t[name], t[name[: -len(".weight")] + ".rq"], keep_float)
                    for name in t if name.endswith(".weight") and t[name].dtype == np.int8
                    and name != "tok_embeddings.weight"}
        self.reset()

    def reset(self) -> None:
        c = self.c
        shape = (c.n_layers, c.max_seq_len, c.n_kv_heads, c.head_dim)
        self.k_cache = np.zeros(shape, dtype=np.int8)
        self.v_cache = np.zeros(shape, dtype=np.int8)

    def step(self, token: int, pos: int, emit: Emit | None = None) -> np.ndarray:
        """Logits (int32, units of 2^-12) after feeding `token` at position `pos`."""
        c, t = self.c, self.model.tensors
        if not 0 <= pos < c.max_seq_len:
            raise ValueError(f"position {pos} is outside the model's context of {c.max_seq_len}")
        if not 0 <= token < c.vocab_size:
            raise ValueError(f"token {token} is outside the vocabulary of {c.vocab_size}")
        out = emit or (lambda name, x: None)
        H, KVH, hd = c.n_heads, c.n_kv_heads, c.head_dim
        cos, sin = t["rope_cos"][pos], t["rope_sin"][pos]
        h = ops.embed(t["tok_embeddings.weight"], t["tok_embeddings.rq"], token)
        out("embed", h)
        for i in range(c.n_layers):
            p = f"layers.{i}"
            a = ops.rmsnorm(h, t[f"{p}.attention_norm.weight"], c.norm_eps)
            out(f"{p}.attention_norm", a)
            q = self._proj(f"{p}.attention.wq", a)
            k = self._proj(f"{p}.attention.wk", a)
            v = self._proj(f"{p}.attention.wv", a)
            out(f"{p}.q", q)
            out(f"{p}.k", k)
            out(f"{p}.v", v)
            q = ops.rope(q.reshape(H, hd), cos, sin)
            k = ops.rope(k.reshape(KVH, hd), cos, sin)
            out(f"{p}.q_rope", q)
            out(f"{p}.k_rope", k)
            self.k_cache[i, pos] = k
            self.v_cache[i, pos] = v.reshape(KVH, hd)
            out(f"{p}.k_cache", self.k_cache[i])
            out(f"{p}.v_cache", self.v_cache[i])
            sc = ops.attention_scores(q, self.k_cache[i], pos + 1)
            out(f"{p}.scores", sc)
            pr = ops.softmax(sc, t[f"{p}.attention.softmax.rq"], t["exp_table"])
            out(f"{p}.probs", pr.astype(np.int32))
            o = ops.attention_values(pr, self.v_cache[i], t[f"{p}.attention.av.rq"])
            out(f"{p}.attn_out", o)
            h = ops.residual_add(h, self.lin[f"{p}.attention.wo"].acc(o), t[f"{p}.attention.wo.rq"])
            out(f"{p}.attn_residual", h)
            f = ops.rmsnorm(h, t[f"{p}.ffn_norm.weight"], c.norm_eps)
            out(f"{p}.ffn_norm", f)
            g = self._proj(f"{p}.feed_forward.w1", f)
            u = self._proj(f"{p}.feed_forward.w3", f)
            out(f"{p}.gate", g)
            out(f"{p}.up", u)
            s = ops.swiglu(g, u, t[f"{p}.feed_forward.silu_table"], t[f"{p}.feed_forward.swiglu.rq"])
            out(f"{p}.swiglu", s)
            h = ops.residual_add(h, self.lin[f"{p}.feed_forward.w2"].acc(s), t[f"{p}.feed_forward.w2.rq"])
            out(f"{p}.ffn_residual", h)
        fx = ops.rmsnorm(h, t["norm.weight"], c.norm_eps)
        out("norm", fx)
        lg = ops.logits(self.lin["output"].acc(fx), t["output.rq"])
        out("logits", lg)
        out("argmax", np.array([ops.argmax(lg)], dtype=np.int32))
        return lg

    def _proj(self, name: str, x: np.ndarray) -> np.ndarray:
        lin = self.lin[name]
        return ops.sat8(ops.requant(lin.acc(x), lin.rq[:, 0], lin.rq[:, 1]))

    def generate(self, prompt: Sequence[int], n_new: int, on_token: Callable[[int], None] | None = None,
                 emit: Emit | None = None) -> list[int]:
        """Greedy decoding: feed the prompt, then each argmax, for positions 0 .. P+n_new−2."""
        if not prompt:
            raise ValueError("the prompt must hold at least one token")
        if len(prompt) + n_new - 1 > self.c.max_seq_len:
            raise ValueError(f"{len(prompt)} prompt + {n_new} new tokens exceed the context of {self.c.max_seq_len}")
        self.reset()
        produced: list[int] = []
        tok = int(prompt[0])
        for pos in range(len(prompt) + n_new - 1):
            lg = self.step(tok, pos, emit)
            if pos + 1 < len(prompt):
                tok = int(prompt[pos + 1])
            else:
                tok = ops.argmax(lg)
                produced.append(tok)
                if on_token:
                    on_token(tok)
        return produced


def run_mlp(model: IntModel, pixels: np.ndarray, emit: Emit | None = None) -> tuple[np.ndarray, int]:
    """(logits, class) of the integer MLP for one unsigned-integer input vector."""
    if model.config.arch != ARCH_MLP:
        raise ValueError("run_mlp runs MLP models")
    out = emit or (lambda name, x: None)
    t = model.tensors
    n_layers = len(model.config.dims) - 1
    p = np.asarray(pixels).reshape(-1).astype(np.int64)
    if p.shape[0] != model.config.dims[0] or p.min(initial=0) < 0 or p.max(initial=0) > 255:
        raise ValueError(f"input must be {model.config.dims[0]} values in 0..255")
    x = ops.sat8(ops.requant(p, int(t["input.rq"][0]), int(t["input.rq"][1])))
    out("input", x)
    for i in range(n_layers):
        acc = ops.matmul_i8(t[f"fc{i}.weight"], x)
        if i < n_layers - 1:
            x = ops.relu_requant(acc, t[f"fc{i}.bias"], t[f"fc{i}.rq"])
            out(f"fc{i}", x)
        else:
            lg = ops.logits(acc.astype(np.int64) + t[f"fc{i}.bias"], t[f"fc{i}.rq"])
            out("logits", lg)
    cls = ops.argmax(lg)
    out("argmax", np.array([cls], dtype=np.int32))
    return lg, cls
