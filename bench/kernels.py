"""Op kernels in the VM: matmul cost per multiply-accumulate, and the single-phase MNIST run.

steps/MAC is a VM step count, so it is exact and machine-independent; seconds are wall clock on
this (shared) machine, the median of a few runs.
"""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np

from offchain.llm import ops
from offchain.llm.kernels import output
from offchain.llm.kernels import registry as R
from offchain.llm.kernels import run as run_node
from offchain.llm.kernels.mnist import classify, load_image, load_model


def _linear_steps(n: int, k: int, seed: int = 0) -> int:
    rng = np.random.default_rng(seed)
    w = rng.integers(-128, 128, (n, k), dtype=np.int8)
    x = rng.integers(-128, 128, k, dtype=np.int8)
    rq = np.stack([rng.integers(1 << 30, 1 << 31, n), rng.integers(20, 30, n)], 1).astype(np.int32)
    node = R.linear(w, x, rq, R.LinearMode.INT8)
    vm = run_node(node)
    if vm.exit_code != 0 or output(node, vm) != ops.canonical_bytes(ops.linear_i8(w, rq, x)[1]):
        raise RuntimeError("linear kernel output differs from ops.linear_i8")
    return vm.step_count


def _shipped_model_nodes() -> dict[str, R.Node]:
    """One node of each kind at the shipped Shakespeare model's shapes (d 128, f 384, 4 heads of 32,
    256 positions, 256 tokens, 2841-entry exp table), at the last position (the longest attention)."""
    rng = np.random.default_rng(1)
    d, f, h, hd, s, v, length = 128, 384, 4, 32, 256, 256, 2841
    pos = s - 1

    def i8(*shape: int) -> np.ndarray:
        return rng.integers(-128, 128, shape, dtype=np.int8)

    def i32(lo: int, hi: int, *shape: int) -> np.ndarray:
        return rng.integers(lo, hi, shape).astype(np.int32)

    def rq(n: int) -> np.ndarray:
        return np.stack([rng.integers(1 << 30, 1 << 31, n), rng.integers(20, 40, n)], 1).astype(np.int32)

    table = np.round(2**15 * np.exp(-np.arange(length) / 256)).astype(np.int32)
    return {
        "embed": R.embed(i8(v, d), rq(v), 3),
        "rmsnorm": R.rmsnorm(i32(-(1 << 20), 1 << 20, d), i32(1 << 15, 1 << 17, d), 168),
        "linear_q": R.linear(i8(d, d), i8(d), rq(d), R.LinearMode.INT8),
        "linear_w1": R.linear(i8(f, d), i8(d), rq(f), R.LinearMode.INT8),
        "linear_w2_residual": R.linear(i8(d, f), i8(f), rq(d), R.LinearMode.RESIDUAL, i32(-(1 << 20), 1 << 20, d)),
        "linear_logits": R.linear(i8(v, d), i8(d), rq(v), R.LinearMode.LOGITS),
        "rope": R.rope(i8(h, hd), i32(-(1 << 15), 1 << 15, s, hd // 2), i32(-(1 << 15), 1 << 15, s, hd // 2), pos),
        "kv_append": R.kv_append(i8(s, h, hd), i8(h, hd), pos),
        "scores": R.scores(i8(h, hd), i8(s, h, hd), pos),
        "softmax": R.softmax(i32(-(1 << 16), 1 << 16, h, pos + 1), rq(1)[0], table),
        "attn_values": R.attn_values(i32(0, 1 << 8, h, pos + 1), i8(s, h, hd), rq(1)[0]),
        "swiglu": R.swiglu(i8(f), i8(f), i32(-(1 << 15), 1 << 15, 256), rq(1)[0]),
        "argmax": R.argmax(i32(-(1 << 20), 1 << 20, v)),
    }


def run() -> dict[str, Any]:
    n, k = 256, 1024
    whole = _linear_steps(n, k)
    longer = _linear_steps(n, 2 * k)
    model, img = load_model(), load_image()
    fast = [classify(model, img) for _ in range(5)]
    exact = classify(model, img, exact=True)
    if {r.digit for r in fast} != {7} or exact.digit != 7 or exact.steps != fast[0].steps:
        raise RuntimeError("single-phase MNIST did not read the 7 the same way on both engines")
    macs = sum(a * b for a, b in zip(model.config.dims, model.config.dims[1:]))
    per_op = {}
    for name, node in _shipped_model_nodes().items():
        vm = run_node(node)
        if vm.exit_code != 0:
            raise RuntimeError(f"{name} exited with code {vm.exit_code}")
        per_op[name] = vm.step_count
    return {
        "shipped_model_max_node_steps": {"value": max(per_op.values()), "unit": "steps", "target": "<= 2^22",
                                         "note": ", ".join(f"{k} {v:,}" for k, v in per_op.items())},
        "linear_steps_per_mac": {"value": round(whole / (n * k), 3), "unit": "steps/MAC", "target": "<= 5",
                                 "note": f"whole int8 linear node, N={n} K={k} ({whole:,} steps)"},
        "linear_inner_steps_per_mac": {"value": round((longer - whole) / (n * k), 3), "unit": "steps/MAC",
                                       "target": "floor ~4 (one row at a time)",
                                       "note": "marginal cost: K doubled"},
        "mnist_single_phase_steps": {"value": fast[0].steps, "unit": "steps",
                                     "note": f"784-500-10 MLP, one mlp_full node "
                                             f"({fast[0].steps / macs:.2f} steps/MAC)"},
        "mnist_single_phase_seconds": {"value": round(statistics.median(r.seconds for r in fast), 4), "unit": "s",
                                       "target": "<= 0.2 (OPML published: < 2 s)", "note": "fast-forward, median of 5"},
        "mnist_single_phase_exact_seconds": {"value": round(exact.seconds, 3), "unit": "s",
                                             "note": "exact Python stepper, one run"},
    }
