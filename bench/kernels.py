"""Op kernels in the VM: matmul cost per multiply-accumulate, and the single-phase MNIST run.

steps/MAC is a VM step count, so it is exact and machine-independent; seconds are wall clock on
this (shared) machine, the median of a few runs.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from offchain.llm import ops
from offchain.llm.kernels import output
from offchain.llm.kernels import run as run_node
from offchain.llm.kernels import registry as R
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
    return {
        "linear_steps_per_mac": {"value": round(whole / (n * k), 3), "unit": "steps/MAC", "target": "<= 5",
                                 "note": f"whole int8 linear node, N={n} K={k} ({whole:,} steps)"},
        "linear_inner_steps_per_mac": {"value": round((longer - whole) / (n * k), 3), "unit": "steps/MAC",
                                       "target": "floor ~4 (one row at a time)",
                                       "note": "marginal cost: K doubled"},
        "mnist_single_phase_steps": {"value": fast[0].steps, "unit": "steps",
                                     "note": f"784-500-10 MLP, one mlp_full node ({fast[0].steps / macs:.2f} steps/MAC)"},
        "mnist_single_phase_seconds": {"value": round(statistics.median(r.seconds for r in fast), 4), "unit": "s",
                                       "target": "<= 0.2 (OPML published: < 2 s)", "note": "fast-forward, median of 5"},
        "mnist_single_phase_exact_seconds": {"value": round(exact.seconds, 3), "unit": "s",
                                             "note": "exact Python stepper, one run"},
    }
