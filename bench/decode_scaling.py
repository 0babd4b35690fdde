"""Decode time against model size: synthetic int8 LLaMAs from 20 MB to ~0.5 GB of weights.

Each shape's median seconds per decoded token is set beside the time to merely read its weight
matrices (llm_7b.read_weights, measured between the steps): the memory-bandwidth line. The 7B
point comes from bench/llm_7b (OPML_BENCH_7B=1); scripts/perf_report.py draws them together.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench.llm_7b import read_weights, synthetic_model
from offchain.llm import matvec
from offchain.llm.runner import Runner

SHAPES = [
    dict(dim=512, n_layers=4, hidden_dim=1408, vocab_size=32000, n_heads=8, max_seq_len=16),
    dict(dim=1024, n_layers=6, hidden_dim=2816, vocab_size=32000, n_heads=16, max_seq_len=16),
    dict(dim=2048, n_layers=8, hidden_dim=5632, vocab_size=32000, n_heads=16, max_seq_len=16),
]


def run() -> dict[str, Any]:
    out: dict[str, Any] = {}
    series = []
    for shape in SHAPES:
        m = synthetic_model(1, shape)
        r = Runner(m, keep_float=False)
        weight_bytes = sum(lin.w.nbytes for lin in r.lin.values())
        r.step(1, 0)
        times, reads = [], []
        for pos in range(1, 6):
            t0 = time.perf_counter()
            r.step(pos, pos)
            times.append(time.perf_counter() - t0)
            reads.append(read_weights(r))
        per_token, bound = float(np.median(times)), float(np.median(reads))
        paired = float(np.median([t / rd for t, rd in zip(times, reads)]))
        series.append({"weight_bytes": weight_bytes, "s_per_token": per_token, "bound_s": bound})
        key = f"d{shape['dim']}_l{shape['n_layers']}"
        out[f"{key}_s_per_token"] = {"value": per_token, "unit": "s",
                                     "note": f"{weight_bytes / 1e6:.0f} MB of int8 weights, median of 5 steps, "
                                             f"matvec {matvec.KIND}"}
        out[f"{key}_ratio_to_bound"] = {"value": paired, "unit": "x", "anchor": "decode_bound",
                                        "note": f"bound {bound * 1e3:.1f} ms (median plain read of the same weights); "
                                                "median of step / the read right after it"}
        del r, m
    out["series"] = {"value": len(series), "unit": "shapes", "data": series,
                     "note": "weight bytes, s/token and bound per shape, for the decode figure"}
    return out
