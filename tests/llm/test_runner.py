"""The runner against a second, deliberately naive implementation of SPEC §3 in Python integers."""

import math

import numpy as np
import pytest

from offchain.llm.model import IntModel
from offchain.llm.ops import canonical_bytes
from offchain.llm.quant import quantize_llama
from offchain.llm.reference import FloatRunner
from offchain.llm.runner import Runner

from .helpers import tiny_llama


@pytest.fixture(scope="module")
def tiny() -> IntModel:
    return quantize_llama(tiny_llama(seed=1), list(range(0, 48, 3)) * 2)


def _rq(x: int, m: int, s: int) -> int:
    return (x * m + (1 << (s - 1))) >> s


def _s8(x: int) -> int:
    return max(-128, min(127, x))


def _rdiv(n: int, d: int) -> int:
    return (2 * n + d) // (2 * d)


def naive_forward(m: IntModel, tokens: list[int]) -> list[list[int]]:
    """SPEC §3.3 line by line, Python ints and loops only; returns the logits at every position."""
    c, t = m.config, {k: v.tolist() for k, v in m.tensors.items()}
    H, KVH, hd, lim = c.n_heads, c.n_kv_heads, c.head_dim, (1 << 24) - 1
    kc = [[None] * c.max_seq_len for _ in range(c.n_layers)]
    vc = [[None] * c.max_seq_len for _ in range(c.n_layers)]

    def norm(x: list[int], g: list[int]) -> list[int]:
        r = math.isqrt(sum(v * v for v in x) // len(x) + c.norm_eps)
        return [_s8(_rdiv(v * gg, r << 16)) for v, gg in zip(x, g)]

    def lin(name: str, x: list[int]) -> list[int]:
        return [sum(a * b for a, b in zip(row, x)) for row in t[name + ".weight"]]

    def to8(name: str, x: list[int]) -> list[int]:
        return [_s8(_rq(a, m_, s_)) for a, (m_, s_) in zip(lin(name, x), t[name + ".rq"])]

    def rope(x: list[int], pos: int) -> list[int]:
        out = list(x)
        for h in range(len(x) // hd):
            for i in range(hd // 2):
                a, b = x[h * hd + 2 * i], x[h * hd + 2 * i + 1]
                co, si = t["rope_cos"][pos][i], t["rope_sin"][pos][i]
                out[h * hd + 2 * i] = _s8((a * co - b * si + (1 << 14)) >> 15)
                out[h * hd + 2 * i + 1] = _s8((a * si + b * co + (1 << 14)) >> 15)
        return out

    result = []
    for pos, tok in enumerate(tokens):
        em, es = t["tok_embeddings.rq"][tok]
        x = [max(-lim, min(lim, _rq(v, em, es))) for v in t["tok_embeddings.weight"][tok]]
        for li in range(c.n_layers):
            p = f"layers.{li}"
            a = norm(x, t[f"{p}.attention_norm.weight"])
            q = rope(to8(f"{p}.attention.wq", a), pos)
            kc[li][pos] = rope(to8(f"{p}.attention.wk", a), pos)
            vc[li][pos] = to8(f"{p}.attention.wv", a)
            o = []
            for h in range(H):
                g = h // (H // KVH)
                sc = [sum(q[h * hd + i] * kc[li][tt][g * hd + i] for i in range(hd)) for tt in range(pos + 1)]
                sm, ss = t[f"{p}.attention.softmax.rq"]
                pe = [t["exp_table"][min(_rq(max(sc) - s, sm, ss), c.exp_len - 1)] for s in sc]
                pr = [((e << 15) + sum(pe) // 2) // sum(pe) for e in pe]
                am, as_ = t[f"{p}.attention.av.rq"]
                o += [_s8(_rq(sum(pr[tt] * vc[li][tt][g * hd + i] for tt in range(pos + 1)), am, as_)) for i in range(hd)]
            x = [max(-lim, min(lim, v + _rq(a_, m_, s_))) for v, a_, (m_, s_) in
                 zip(x, lin(f"{p}.attention.wo", o), t[f"{p}.attention.wo.rq"])]
            f = norm(x, t[f"{p}.ffn_norm.weight"])
            gt, up = to8(f"{p}.feed_forward.w1", f), to8(f"{p}.feed_forward.w3", f)
            sm, ss = t[f"{p}.feed_forward.swiglu.rq"]
            hh = [_s8(_rq(t[f"{p}.feed_forward.silu_table"][g_ + 128] * u, sm, ss)) for g_, u in zip(gt, up)]
            x = [max(-lim, min(lim, v + _rq(a_, m_, s_))) for v, a_, (m_, s_) in
                 zip(x, lin(f"{p}.feed_forward.w2", hh), t[f"{p}.feed_forward.w2.rq"])]
        fx = norm(x, t["norm.weight"])
        result.append([_rq(a_, m_, s_) for a_, (m_, s_) in zip(lin("output", fx), t["output.rq"])])
    return result


def test_runner_equals_the_naive_spec(tiny: IntModel) -> None:
    tokens = [5, 17, 17, 40, 2, 33, 9, 47]
    want = naive_forward(tiny, tokens)
    r = Runner(tiny)
    got = [r.step(tok, pos).tolist() for pos, tok in enumerate(tokens)]
    assert got == want


def test_trace_emits_every_node_in_order_and_changes_nothing(tiny: IntModel) -> None:
    trace: list[tuple[str, bytes]] = []
    r = Runner(tiny)
    out1 = r.generate([1, 2, 3], 4, emit=lambda n, x: trace.append((n, canonical_bytes(x))))
    assert Runner(tiny).generate([1, 2, 3], 4) == out1
    per_token = 1 + 17 * tiny.config.n_layers + 3  # embed; 17 nodes per layer; norm, logits, argmax
    assert len(trace) == per_token * (3 + 4 - 1)
    names = [n for n, _ in trace[:per_token]]
    assert names[:3] == ["embed", "layers.0.attention_norm", "layers.0.q"]
    assert names[-3:] == ["norm", "logits", "argmax"]
    # the argmax node carries the next token, big-endian int32
    argmaxes = [int.from_bytes(b, "big") for n, b in trace if n == "argmax"]
    assert argmaxes[2:] == out1
    # KV caches are emitted whole (max_seq_len rows), zero beyond the current position
    kc = dict(trace[:per_token])["layers.0.k_cache"]
    assert len(kc) == tiny.config.max_seq_len * tiny.config.kv_dim and kc[tiny.config.kv_dim :] == bytes(len(kc) - tiny.config.kv_dim)


def test_greedy_ties_go_to_the_lowest_token(tiny: IntModel) -> None:
    flat = IntModel(tiny.config, dict(tiny.tensors), tiny.tokenizer)
    flat.tensors["output.weight"] = np.ones_like(tiny["output.weight"])
    flat.tensors["output.rq"] = np.tile(tiny["output.rq"][:1], (tiny.config.vocab_size, 1))
    assert Runner(flat).generate([7, 8], 3) == [0, 0, 0]


def test_integer_logits_track_the_float_model() -> None:
    fm = tiny_llama(seed=1)
    im = quantize_llama(fm, list(range(0, 48, 3)) * 2)
    fr, ir = FloatRunner(fm), Runner(im)
    tokens = [5, 17, 17, 40, 2, 33, 9, 47, 11, 30]
    agree = 0
    for pos, tok in enumerate(tokens):
        f = fr.step(tok, pos)
        i = ir.step(tok, pos) / 4096.0
        assert np.corrcoef(f, i)[0, 1] > 0.98
        agree += int(np.argmax(f) == np.argmax(i))
    assert agree >= 8


def test_context_and_vocabulary_limits(tiny: IntModel) -> None:
    r = Runner(tiny)
    with pytest.raises(ValueError, match="exceed the context of 32"):
        r.generate([1] * 30, 4)
    with pytest.raises(ValueError, match="token 48 is outside the vocabulary"):
        r.step(48, 0)
