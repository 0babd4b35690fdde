"""Random but valid arguments for every op, and the numpy reference output bytes (offchain/llm/ops.py).

A case is (Node, expected output bytes). A case function takes a source of randomness with the
numpy Generator calls it uses: in the property tests that is `Drawn`, through which hypothesis
draws every shape, knob and array value (so a failure shrinks to a small case); fixed-seed tests
pass a numpy Generator. Values mix uniform draws with the extremes of each range (where rounding,
saturation and wrap-around live).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from offchain.llm import ops
from offchain.llm.kernels import registry as R
from offchain.llm.model import ARCH_MLP, Config, IntModel
from offchain.llm.runner import run_mlp

I8, I32 = np.int8, np.int32
Case = tuple[R.Node, bytes]


seeds = st.integers(0, 2**63 - 1)


class Drawn:
    """The numpy Generator calls the cases make, answered by hypothesis draws."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def _array(self, size, elements: st.SearchStrategy, dtype=np.int64) -> np.ndarray:  # type: ignore[no-untyped-def]
        shape = (size,) if isinstance(size, (int, np.integer)) else tuple(int(n) for n in size)
        return self.data.draw(hnp.arrays(dtype, shape, elements=elements))

    def integers(self, lo, hi=None, size=None, endpoint=False, dtype=np.int64):  # type: ignore[no-untyped-def]
        lo, hi = (0, int(lo)) if hi is None else (int(lo), int(hi))
        values = st.integers(lo, hi if endpoint else hi - 1)
        return self.data.draw(values) if size is None else self._array(size, values).astype(dtype)

    def random(self, size=None):  # type: ignore[no-untyped-def]
        values = st.floats(0, 1, exclude_max=True)
        return self.data.draw(values) if size is None else self._array(size, values, np.float64)

    def choice(self, a, size=None):  # type: ignore[no-untyped-def]
        values = st.sampled_from([int(v) for v in np.asarray(a).ravel()])
        return self.data.draw(values) if size is None else self._array(size, values)

    def edged(self, shape, lo: int, hi: int) -> np.ndarray:  # type: ignore[no-untyped-def]
        """Half the time a hypothesis array (a fill value and a few others: cheap to draw, and each
        value shrinks), half `arr`'s dense uniform-plus-edges array from a drawn seed. A failure
        that a hypothesis array also shows shrinks to one (the boolean shrinks to False)."""
        if self.data.draw(st.booleans(), label="dense"):
            return arr(np.random.default_rng(self.data.draw(seeds, label="dense seed")), shape, lo, hi, np.int64)
        return self._array(shape, st.integers(lo, hi))


Rng = np.random.Generator | Drawn


def arr(rng: Rng, shape, lo: int, hi: int, dtype=I32) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Uniform in [lo, hi], with about one value in eight replaced by lo, hi, 0 or ±1 (clipped)."""
    if isinstance(rng, Drawn):
        return rng.edged(shape, lo, hi).astype(dtype)
    x = rng.integers(lo, hi, size=shape, endpoint=True, dtype=np.int64)
    edge = np.clip(np.array([lo, hi, 0, 1, -1]), lo, hi)
    mask = rng.random(size=shape) < 0.125
    x[mask] = rng.choice(edge, size=int(mask.sum()))
    return x.astype(dtype)


def rq_pairs(rng: Rng, n: int, s_max: int = 62) -> np.ndarray:
    """Requant pairs as the converter makes them (m near 2^30..2^31) or anywhere in range."""
    m = np.where(rng.random(n) < 0.5, rng.integers(1 << 30, 1 << 31, n), rng.integers(0, 1 << 31, n))
    return np.stack([m, rng.integers(1, s_max + 1, n)], axis=1).astype(I32)


def i8(rng: Rng, shape) -> np.ndarray:  # type: ignore[no-untyped-def]
    return arr(rng, shape, -128, 127, I8)


def embed(rng: Rng) -> Case:
    v, d = rng.integers(1, 9), rng.integers(1, 40)
    table, rq, tok = i8(rng, (v, d)), rq_pairs(rng, v, 40), int(rng.integers(0, v))
    return R.embed(table, rq, tok), ops.canonical_bytes(ops.embed(table, rq, tok))


def rmsnorm(rng: Rng) -> Case:
    d = int(rng.integers(1, 64))
    lim = (1 << 24) - 1
    x, g = arr(rng, d, -lim, lim), arr(rng, d, -lim, lim)
    if rng.random() < 0.3:  # small residuals: the norm then depends on eps
        x = arr(rng, d, -300, 300)
    eps = int(rng.choice([1, int(rng.integers(1, 1 << 32))]))
    return R.rmsnorm(x, g, eps), ops.canonical_bytes(ops.rmsnorm(x, g, eps))


def linear(rng: Rng, mode: int | None = None) -> Case:
    mode = R.LinearMode(int(rng.integers(0, 5)) if mode is None else mode)
    n, k = int(rng.integers(1, 13)), int(rng.integers(1, 70))
    w, x, rq = i8(rng, (n, k)), i8(rng, k), rq_pairs(rng, n, 40)
    r0 = int(rng.integers(0, n))
    nr = int(rng.integers(1, n - r0 + 1)) if rng.random() < 0.3 else n - r0
    if rng.random() < 0.5:
        r0, nr = 0, n
    acc = ops.matmul_i8_reference(w, x)
    extra = None
    if mode == R.LinearMode.INT8:
        y = ops.sat8(ops.requant(acc, rq[:, 0], rq[:, 1]))
    elif mode == R.LinearMode.RESIDUAL:
        extra = arr(rng, n, -((1 << 24) - 1), (1 << 24) - 1)
        y = ops.residual_add(extra, acc, rq)
    elif mode == R.LinearMode.LOGITS:
        y = ops.logits(acc, rq)
    else:
        extra = arr(rng, n, -(1 << 30), 1 << 30)
        if mode == R.LinearMode.MLP_RELU:
            y = ops.relu_requant(acc, extra, rq)
        else:
            y = ops.logits(acc.astype(np.int64) + extra, rq)
    node = R.linear(w, x, rq, mode, extra, (r0, nr))
    return node, ops.canonical_bytes(y[r0 : r0 + nr])


def rope(rng: Rng) -> Case:
    heads, hd, s = int(rng.integers(1, 5)), 2 * int(rng.integers(1, 9)), int(rng.integers(1, 6))
    lim = (1 << 31) - 1 if rng.random() < 0.2 else 1 << 15
    x, cos, sin = i8(rng, (heads, hd)), arr(rng, (s, hd // 2), -lim, lim), arr(rng, (s, hd // 2), -lim, lim)
    pos = int(rng.integers(0, s))
    return R.rope(x, cos, sin, pos), ops.canonical_bytes(ops.rope(x, cos[pos], sin[pos]))


def kv_append(rng: Rng) -> Case:
    s, g, hd = int(rng.integers(1, 7)), int(rng.integers(1, 4)), int(rng.integers(1, 11))
    pos = int(rng.integers(0, s))
    cache = np.zeros((s, g, hd), I8) if pos == 0 else i8(rng, (s, g, hd))
    row = i8(rng, (g, hd))
    out = cache.copy()
    out[pos] = row
    return R.kv_append(cache, row, pos), ops.canonical_bytes(out)


def _heads(rng: Rng) -> tuple[int, int, int, int, int]:
    g = int(rng.integers(1, 4))
    h = g * int(rng.integers(1, 4))
    hd, s = int(rng.integers(1, 17)), int(rng.integers(1, 9))
    return h, g, hd, s, int(rng.integers(0, s))


def scores(rng: Rng) -> Case:
    h, g, hd, s, pos = _heads(rng)
    q, kc = i8(rng, (h, hd)), i8(rng, (s, g, hd))
    return R.scores(q, kc, pos), ops.canonical_bytes(ops.attention_scores(q, kc, pos + 1))


def softmax(rng: Rng) -> Case:
    h, t, length = int(rng.integers(1, 5)), int(rng.integers(1, 12)), int(rng.integers(1, 40))
    lim = (1 << 30) - 1 if rng.random() < 0.3 else 1 << 16  # a row spreads by < 2^31 (requant's domain)
    sc = arr(rng, (h, t), -lim, lim)
    table = arr(rng, length, 0, (1 << 31) - 1 if rng.random() < 0.3 else 1 << 15)
    table[0] = max(int(table[0]), 1)
    rq = rq_pairs(rng, 1)[0]
    return R.softmax(sc, rq, table), ops.canonical_bytes(ops.softmax(sc, rq, table).astype(I32))


def attn_values(rng: Rng) -> Case:
    h, g, hd, s, pos = _heads(rng)
    probs = arr(rng, (h, pos + 1), 0, 1 << 15)
    vc, rq = i8(rng, (s, g, hd)), rq_pairs(rng, 1, 40)[0]
    return R.attn_values(probs, vc, rq), ops.canonical_bytes(ops.attention_values(probs, vc, rq))


def swiglu(rng: Rng) -> Case:
    f = int(rng.integers(1, 50))
    lim = (1 << 31) - 1 if rng.random() < 0.2 else 1 << 15  # full range: the int64 product wraps alike
    gate, up, table, rq = i8(rng, f), i8(rng, f), arr(rng, 256, -lim, lim), rq_pairs(rng, 1)[0]
    return R.swiglu(gate, up, table, rq), ops.canonical_bytes(ops.swiglu(gate, up, table, rq))


def argmax(rng: Rng) -> Case:
    n = int(rng.integers(1, 40))
    z = arr(rng, n, -3, 3) if rng.random() < 0.5 else arr(rng, n, -(1 << 31), (1 << 31) - 1)  # ties
    return R.argmax(z), ops.canonical_bytes(np.array([ops.argmax(z)], I32))


def mlp_input(rng: Rng) -> Case:
    k = int(rng.integers(1, 60))
    p, rq = arr(rng, k, 0, 255, np.uint8), rq_pairs(rng, 1)[0]
    return R.mlp_input(p, rq), ops.canonical_bytes(ops.sat8(ops.requant(p.astype(np.int64), rq[0], rq[1])))


def random_mlp(rng: Rng, widths: list[int]) -> IntModel:
    cfg = Config(arch=ARCH_MLP, dims=tuple(widths))
    t = {"config": cfg.words(), "input.rq": rq_pairs(rng, 1, 20)[0]}
    for j in range(len(widths) - 1):
        n, k = widths[j + 1], widths[j]
        t[f"fc{j}.weight"] = i8(rng, (n, k))
        t[f"fc{j}.bias"] = arr(rng, n, -(1 << 16), 1 << 16)
        t[f"fc{j}.rq"] = rq_pairs(rng, n, 30)
    return IntModel(cfg, t, {"kind": "none"})


def mlp_full(rng: Rng) -> Case:
    widths = [int(w) for w in rng.integers(1, 24, size=int(rng.integers(2, 5)))]
    model = random_mlp(rng, widths)
    p = arr(rng, widths[0], 0, 255, np.uint8)
    _, cls = run_mlp(model, p)
    return R.mlp_full(model.tensors, widths, p), ops.canonical_bytes(np.array([cls], I32))


CASES: dict[R.Op, Callable[[Rng], Case]] = {
    R.Op.EMBED: embed,
    R.Op.RMSNORM: rmsnorm,
    R.Op.LINEAR: linear,
    R.Op.ROPE: rope,
    R.Op.KV_APPEND: kv_append,
    R.Op.SCORES: scores,
    R.Op.SOFTMAX: softmax,
    R.Op.ATTN_VALUES: attn_values,
    R.Op.SWIGLU: swiglu,
    R.Op.ARGMAX: argmax,
    R.Op.MLP_INPUT: mlp_input,
    R.Op.MLP_FULL: mlp_full,
}

