"""Integer LLaMA on the shipped model: tokens/s, and the cost of emitting every node output.

The 7B-shaped decode bench lives in bench/llm_7b.py (opt-in: it needs ~7 GiB of RAM).
"""

from __future__ import annotations

import time
from typing import Any

from offchain.llm.cli import DEFAULT_MODEL
from offchain.llm.format import read_model
from offchain.llm.ops import canonical_bytes
from offchain.llm.runner import Runner
from offchain.llm.tokenizer import Tokenizer
from offchain.llm.trace import TraceRecorder
from offchain.merkle import tensor_root

PROMPT = "ROMEO:\n"
NEW_TOKENS = 128


def _timed(runner: Runner, prompt: list[int], emit: Any = None) -> tuple[float, int]:
    t0 = time.perf_counter()
    runner.generate(prompt, NEW_TOKENS, emit=emit)
    return time.perf_counter() - t0, len(prompt) + NEW_TOKENS - 1


def run() -> dict[str, Any]:
    t0 = time.perf_counter()
    model = read_model(DEFAULT_MODEL)
    load_s = time.perf_counter() - t0
    prompt = Tokenizer.from_json(model.tokenizer).encode(PROMPT)
    runner = Runner(model)
    runner.generate(prompt, 8)  # warm-up
    plain, steps = min(_timed(runner, prompt) for _ in range(3))
    nbytes = [0]
    nodes = [0]

    def encode(name: str, x: Any) -> None:
        nodes[0] += 1
        nbytes[0] += len(canonical_bytes(x))

    enc, _ = _timed(runner, prompt, encode)
    enc = min(enc, *(_timed(runner, prompt, lambda n, x: canonical_bytes(x))[0] for _ in range(2)))

    def commit(name: str, x: Any) -> None:
        tensor_root(canonical_bytes(x))

    com = min(_timed(runner, prompt, commit)[0] for _ in range(2))
    inc = min(_timed(runner, prompt, TraceRecorder())[0] for _ in range(2))
    return {
        "shipped_model_load": {"value": load_s * 1e3, "unit": "ms", "note": "read + verify every tensor root"},
        "shipped_tokens_per_s": {"value": steps / plain, "unit": "tok/s", "note": f"{steps} forward steps, greedy"},
        "emit_canonical_tokens_per_s": {"value": steps / enc, "unit": "tok/s",
                                        "note": f"every node output encoded: {nodes[0] // steps} nodes, "
                                                f"{nbytes[0] // steps} bytes per token"},
        "emit_overhead_encode": {"value": enc / plain, "unit": "x", "note": "vs no emission"},
        "emit_and_tensor_roots_tokens_per_s": {"value": steps / com, "unit": "tok/s",
                                               "note": "every node output encoded and Merkle-hashed"},
        "emit_overhead_roots": {"value": com / plain, "unit": "x", "note": "vs no emission"},
        "trace_recorder_tokens_per_s": {"value": steps / inc, "unit": "tok/s",
                                        "note": "every node root, KV-cache roots updated incrementally"},
        "trace_recorder_overhead": {"value": inc / plain, "unit": "x", "note": "vs no emission"},
    }
