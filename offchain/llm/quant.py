"""From float weights to an integer model: scales, (multiplier, shift) pairs and tables.

This is the only place floats meet the integer model. Its output is plain integers; once written,
the model file alone defines the computation (SPEC §3), whatever float rounding happened here.
Activation scales are static, picked from the float model's activations on calibration tokens.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from offchain.llm.model import ARCH_LLAMA, ARCH_MLP, Config, IntModel
from offchain.llm.ops import EXP_STEP_FRAC, GAIN_FRAC, PROB_FRAC, RES_FRAC, ROPE_FRAC, SILU_FRAC
from offchain.llm.reference import FloatLlama, FloatRunner, rope_angles, silu


def rq_pair(factor: float) -> tuple[int, int]:
    """(m, s) with m / 2^s ≈ factor, m < 2^31, 1 <= s <= 62, m as large as those allow."""
    if not (factor >= 0 and math.isfinite(factor)):
        raise ValueError(f"requant factor {factor} is not a finite nonnegative number")
    if factor == 0:
        return 0, 1
    s = min(62, max(1, 30 - math.frexp(factor)[1] + 1))  # m in [2^30, 2^31) when s is unclamped
    m = round(factor * 2.0**s)
    if m >= 1 << 31:
        if s > 1:
            s -= 1
            m = round(factor * 2.0**s)
        if m >= 1 << 31:
            raise ValueError(f"requant factor {factor} is too large for m < 2^31 at s = 1")
    return int(m), int(s)


def rq_rows(factors: np.ndarray) -> np.ndarray:
    return np.array([rq_pair(float(f)) for f in factors], dtype=np.int32).reshape(-1, 2)


def quantize_rows(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-row int8: w ≈ q · scale[row], scale = max|row| / 127."""
    w = np.asarray(w, dtype=np.float64)
    scale = np.abs(w).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(w / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale


def exp_table() -> np.ndarray:
    """exp_table[i] = round(2^15 · exp(−i / 2^8)), up to the first entry that rounds to 0."""
    n = int(math.ceil(math.log(2 * (1 << PROB_FRAC)) * (1 << EXP_STEP_FRAC))) + 1
    t = np.rint((1 << PROB_FRAC) * np.exp(-np.arange(n) / (1 << EXP_STEP_FRAC))).astype(np.int32)
    return t


def rope_tables(max_seq: int, head_dim: int, theta: float) -> tuple[np.ndarray, np.ndarray]:
    c, s = rope_angles(max_seq, head_dim, theta)
    return (np.rint(c * (1 << ROPE_FRAC)).astype(np.int32), np.rint(s * (1 << ROPE_FRAC)).astype(np.int32))


def default_calibration(vocab_size: int, n: int = 96, seed: int = 0) -> list[int]:
    """Calibration tokens when the caller has no text: a fixed pseudo-random token sequence."""
    return [int(t) for t in np.random.default_rng(seed).integers(0, vocab_size, n)]


def calibrate(m: FloatLlama, tokens: Sequence[int], window: int | None = None,
              quantile: float = 1.0) -> dict[str, float]:
    """Peak |activation| at each quantization point (the `quantile` of |values|; 1.0 = the maximum).

    q/k use the norms of rotated pairs, so that RoPE does not saturate within the peak.
    """
    seen: dict[str, list[np.ndarray]] = defaultdict(list)

    def hook(name: str, x: np.ndarray) -> None:
        seen[name].append(np.hypot(x[0::2], x[1::2]) if name.endswith((".q", ".k")) else np.abs(x))

    run = FloatRunner(m, hook)
    window = window or m.max_seq_len
    for i, t in enumerate(tokens):
        if i % window == 0:
            run.reset()
        run.step(int(t), i % window)
    return {k: float(np.quantile(np.concatenate(v), quantile)) for k, v in seen.items()}


def quantize_llama(m: FloatLlama, calib_tokens: Sequence[int] | None = None, tokenizer: dict | None = None,
                   meta: dict | None = None, quantile: float = 0.9999) -> IntModel:
    """Integer model of `m`, with activation scales calibrated on `calib_tokens`."""
    toks = list(calib_tokens) if calib_tokens else default_calibration(m.vocab_size)
    peak = calibrate(m, toks, quantile=quantile)

    def act_scale(name: str) -> float:
        return max(peak.get(name, 0.0), 1e-6) / 127.0

    w = m.weights
    hd = m.head_dim
    et = exp_table()
    cfg = Config(arch=ARCH_LLAMA, dim=m.dim, hidden_dim=m.hidden_dim, n_layers=m.n_layers, n_heads=m.n_heads,
                 n_kv_heads=m.n_kv_heads, vocab_size=m.vocab_size, max_seq_len=m.max_seq_len,
                 norm_eps=max(1, round(m.norm_eps * 2.0 ** (2 * RES_FRAC))), exp_len=int(et.shape[0]))
    T: dict[str, np.ndarray] = {"config": cfg.words()}
    res = 2.0**RES_FRAC

    e, es = quantize_rows(w["tok_embeddings.weight"])
    T["tok_embeddings.weight"], T["tok_embeddings.rq"] = e, rq_rows(es * res)

    def gain(g: np.ndarray, s_out: float) -> np.ndarray:
        return np.rint(np.asarray(g, np.float64) / s_out * 2.0**GAIN_FRAC).astype(np.int32)

    def lin(name: str, s_in: float, s_out: float | None) -> None:
        """int8 weights; rq to int8 at scale s_out, or to the residual/logit domain when None."""
        q, sw = quantize_rows(w[f"{name}.weight"])
        T[f"{name}.weight"] = q
        T[f"{name}.rq"] = rq_rows(sw * s_in * (res if s_out is None else 1.0 / s_out))

    for i in range(m.n_layers):
        p = f"layers.{i}"
        s_a, s_q, s_k, s_v = (act_scale(f"{p}.{n}") for n in ("attn_in", "q", "k", "v"))
        s_o, s_f, s_g, s_u, s_h = (act_scale(f"{p}.{n}") for n in ("attn_out", "ffn_in", "gate", "up", "ffn_hidden"))
        T[f"{p}.attention_norm.weight"] = gain(w[f"{p}.attention_norm.weight"], s_a)
        lin(f"{p}.attention.wq", s_a, s_q)
        lin(f"{p}.attention.wk", s_a, s_k)
        lin(f"{p}.attention.wv", s_a, s_v)
        T[f"{p}.attention.softmax.rq"] = np.array(rq_pair(s_q * s_k / math.sqrt(hd) * 2.0**EXP_STEP_FRAC), np.int32)
        T[f"{p}.attention.av.rq"] = np.array(rq_pair(s_v / (2.0**PROB_FRAC * s_o)), np.int32)
        lin(f"{p}.attention.wo", s_o, None)
        T[f"{p}.ffn_norm.weight"] = gain(w[f"{p}.ffn_norm.weight"], s_f)
        lin(f"{p}.feed_forward.w1", s_f, s_g)
        lin(f"{p}.feed_forward.w3", s_f, s_u)
        gv = np.arange(-128, 128, dtype=np.float64) * s_g
        T[f"{p}.feed_forward.silu_table"] = np.rint(silu(gv) / s_g * 2.0**SILU_FRAC).astype(np.int32)
        T[f"{p}.feed_forward.swiglu.rq"] = np.array(rq_pair(s_g * s_u / (2.0**SILU_FRAC * s_h)), np.int32)
        lin(f"{p}.feed_forward.w2", s_h, None)
    s_fin = act_scale("final_norm")
    T["norm.weight"] = gain(w["norm.weight"], s_fin)
    lin("output", s_fin, None)
    T["rope_cos"], T["rope_sin"] = rope_tables(m.max_seq_len, hd, m.rope_theta)
    T["exp_table"] = et
    model = IntModel(cfg, T, tokenizer or {"kind": "bytes"}, dict(meta or {}, calibration_tokens=len(toks)))
    model.check()
    return model


def quantize_mlp(layers: list[tuple[np.ndarray, np.ndarray]], input_scale: float, input_max: int,
                 calib_inputs: np.ndarray, meta: dict | None = None) -> IntModel:
    """Integer MLP (ReLU between layers) for unsigned integer inputs p, real input = p·input_scale.

    The input op maps p to int8 x = sat8(requant(p, input.rq)) with x ≈ p·127/input_max. Biases
    become int32 in accumulator units. Hidden activation scales come from `calib_inputs`.
    """
    dims = (layers[0][0].shape[1],) + tuple(wt.shape[0] for wt, _ in layers)
    cfg = Config(arch=ARCH_MLP, dims=dims)
    T: dict[str, np.ndarray] = {"config": cfg.words()}
    T["input.rq"] = np.array(rq_pair(127.0 / input_max), np.int32)
    s_x = input_max * input_scale / 127.0
    # float activations on calibration data pick the hidden scales
    a = np.asarray(calib_inputs, np.float64) * input_scale
    for i, (wt, b) in enumerate(layers):
        q, sw = quantize_rows(wt)
        T[f"fc{i}.weight"] = q
        T[f"fc{i}.bias"] = np.rint(np.asarray(b, np.float64) / (sw * s_x)).astype(np.int32)
        a = a @ np.asarray(wt, np.float64).T + b
        last = i == len(layers) - 1
        if not last:
            a = np.maximum(a, 0)
            s_y = max(float(a.max()), 1e-6) / 127.0
            T[f"fc{i}.rq"] = rq_rows(sw * s_x / s_y)
            s_x = s_y
        else:
            T[f"fc{i}.rq"] = rq_rows(sw * s_x * 2.0**RES_FRAC)
    model = IntModel(cfg, T, {"kind": "none"}, dict(meta or {}))
    model.check()
    return model
