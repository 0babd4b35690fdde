"""Run by bench/peers.py in a child process (the project's Python): our spec v2 runner on the very
GGUF file llama.cpp was just timed on, timed the same way.

`python -m bench._ours_v2 PATH CONTEXT` prints one JSON line: `load_gguf` (a memory map; it reads
every block scale to check it, so the load touches the whole file) and RunnerV2 on 2 threads: one
warm-up token, then the median of 4 single-token decodes (tokens and positions as llama.cpp's: 1 at
0, then 7·pos at pos), then 4 more on one thread (wall and CPU time), then 2 more on one thread with
each matrix kind's CPU time (where the time goes), and the process's peak RSS. Nothing else is held in this process.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

#: the matrix kinds a decode step multiplies, in graph order (token_embd is a row lookup, not a matmul)
KINDS = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down", "output")


def peak_rss_gib() -> float:
    """This process's own peak resident set (VmHWM: reset at exec), in GiB. ru_maxrss would do on its
    own but for one Linux detail: a child keeps the parent's peak from the moment it was forked."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def kind_of(name: str) -> str:
    """'blk.3.ffn_up.weight' -> 'ffn_up'; 'output.weight' -> 'output'."""
    parts = name.split(".")
    return parts[2] if parts[0] == "blk" else parts[0]


def matmul_bytes(model: Any) -> dict[str, int]:
    """Bytes of the file's blocks each matrix kind reads per token."""
    out: dict[str, int] = defaultdict(int)
    for key, w in model.mats.items():
        if key != "token_embd" or model.shape.tied:
            out[kind_of(w.name)] += int(w.raw.nbytes)
    return dict(out)


def profile(runner: Any, tokens: list[tuple[int, int]]) -> dict[str, Any]:
    """Per matrix kind, the median over `tokens` of the CPU seconds its matmuls took in one step, on
    one thread (so the calling thread does all the work and its CPU time is that work, however busy
    the machine), and the rest of the step (norms, RoPE, attention, SwiGLU, activation quantization,
    Python). The timer wraps the runner's matmul for these steps only: the figures above run without it."""
    from offchain.llm.v2 import ops as v2ops

    ops = runner.ops  # the native ops class, or ops.py itself where no C compiler works
    original: Callable[..., np.ndarray] = ops.matmul_acc
    spent: dict[str, float] = defaultdict(float)

    def timed(w: Any, a: Any) -> np.ndarray:
        t0 = time.thread_time()
        acc = original(w, a)
        spent[kind_of(w.name)] += time.thread_time() - t0
        return acc

    per_step: list[dict[str, float]] = []
    wrap = staticmethod if isinstance(ops, type) else (lambda f: f)
    threads = v2ops.WORKERS
    original_many = ops.matmul_acc_many
    ops.matmul_acc = wrap(timed)
    ops.matmul_acc_many = wrap(lambda ws, a: [timed(w, a) for w in ws])  # each product of a group alone
    v2ops.WORKERS = 1
    fused, runner.fused = runner.fused, None  # op by op through Python, where the wrapper sees each product
    try:
        for tok, pos in tokens:
            spent.clear()
            t0 = time.thread_time()
            runner.step(tok, pos)
            total = time.thread_time() - t0
            per_step.append({**spent, "other": total - sum(spent.values()), "total": total})
    finally:
        ops.matmul_acc = wrap(original)
        ops.matmul_acc_many = wrap(original_many)
        v2ops.WORKERS = threads
        runner.fused = fused
    keys = per_step[0].keys()
    return {k: float(np.median([s[k] for s in per_step])) for k in keys}


def decode(path: Path, max_seq_len: int, steps: int = 4) -> dict[str, Any]:
    from offchain.llm.v2 import RunnerV2, load_gguf, native
    from offchain.llm.v2 import ops as v2ops

    t0 = time.perf_counter()
    m = load_gguf(path, max_seq_len)
    load_s = time.perf_counter() - t0
    r = RunnerV2(m)
    cpu: list[float] = []
    last: list[np.ndarray] = []

    def one(tok: int, pos: int) -> float:
        t1, c1 = time.perf_counter(), time.process_time()
        last[:] = [r.step(tok, pos)]
        cpu.append(time.process_time() - c1)  # every thread of the process: the work, apart from waiting
        return time.perf_counter() - t1

    warm = one(1, 0)  # first touch of the mapped weights not already read by the load
    times = [one(pos * 7, pos) for pos in range(1, steps + 1)]
    cpu_s = float(np.median(cpu[1:]))
    # The same decode on one thread, after (as llama.cpp's side): how much of the figure above is
    # two threads waiting on each other on a busy machine.
    threads = v2ops.WORKERS
    v2ops.WORKERS = 1
    try:
        times_1 = [one(pos * 7, pos) for pos in range(steps + 1, 2 * steps + 1)]
    finally:
        v2ops.WORKERS = threads
    cpu_1 = float(np.median(cpu[steps + 1 :]))  # one thread: its CPU time is the work itself, whatever the load
    z = last[0]
    prof = profile(r, [(pos * 7, pos) for pos in range(2 * steps + 1, 2 * steps + 3)])
    nbytes = matmul_bytes(m)
    kinds = sorted({w.kind for w in m.mats.values()})
    return {"s_per_token": float(np.median(times)), "times": times, "warmup_s": warm, "cpu_s_per_token": cpu_s,
            "s_per_token_1thread": float(np.median(times_1)), "cpu_s_per_token_1thread": cpu_1, "load_s": load_s,
            "threads": threads,
            "native": bool(native.NATIVE), "weight_types": kinds, "matmul_bytes": sum(nbytes.values()),
            "bytes_by_kind": nbytes, "profile_s": prof,
            "logits_spread": int(z.max()) - int(z.min()), "logits_size": int(z.size),
            "peak_rss_GiB": peak_rss_gib(),
            "ru_maxrss_GiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m bench._ours_v2 PATH CONTEXT")
    print(json.dumps(decode(Path(sys.argv[1]), int(sys.argv[2]))))
