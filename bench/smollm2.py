"""SmolLM2-135M-Instruct (Q4_1 GGUF): our integer runner against llama.cpp on the same file, same run.

Reported (issue 15, item 6): milliseconds per generated token (decode) and the prefill time of a
40-token chat prompt, for llama.cpp and for ours, and ours / llama.cpp for both; our trace (all
commitments) against plain generation when the runner has one.

- llama.cpp is llama-cpp-python from the peers' venv (bench/.peers, bench/peers.py), run as a child
  process with the peers' Python (bench/_peer_llama_acc.py) on 2 threads: the prompt in one
  batch from an empty cache (one warm-up, then the median of 5) and then single-token decodes
  (one warm-up, then the median of 16), each followed by llama_synchronize.
- Ours runs on the same ids (llama.cpp's tokenizer and the file's chat template) right after, in
  this process, generating as trace_task does without the commitments (plain_generate: the
  prompt through RunnerV2.prefill in batches, then one step per token, greedy):
  the prefill (the prompt's forward pass and the first argmax) and each of the 16 steps after it
  are timed in 3 runs, medians reported; trace = offchain.llm.v2.trace.trace_task against
  plain_generate, 17 new tokens, alternating, the best of 3 each.
- The llama.cpp half runs when bench/.peers already has it; building it (~16 min on this machine)
  is opt-in, as for bench/peers: OPML_BENCH_PEERS=1. The model comes from `make setup`.

The helpers here (model path, peer runs and their cache) are shared with scripts/accuracy_report.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MODEL = ROOT / "models" / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"
DATA = HERE / "data"
PEER = HERE / "_peer_llama_acc.py"
CACHE = ROOT / ".cache" / "llama_acc"
THREADS = 2
#: 40 tokens with the file's chat template and its default system message (llama.cpp's tokenizer)
TIMING_MESSAGE = "Explain in one sentence why the sky is blue."
DECODE_TOKENS = 16
PREFILL_REPEATS = 5
OUR_REPEATS = 3


def model_path() -> Path:
    if not MODEL.exists():
        raise RuntimeError(f"{MODEL.relative_to(ROOT)} is missing: run `make setup`")
    return MODEL


def llama_python(build: bool) -> Path:
    """The peers' Python with llama-cpp-python; builds it only when `build` (it takes ~16 min)."""
    from bench.peers import LLAMA_CMAKE_ARGS, LLAMA_PINS, _stamp, peer_python

    if not build and not _stamp(LLAMA_PINS).exists():
        raise RuntimeError("llama.cpp is not built in bench/.peers: set OPML_BENCH_PEERS=1 to build it (~16 min)")
    return peer_python(LLAMA_PINS, {"CMAKE_ARGS": LLAMA_CMAKE_ARGS,
                                    "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 2)})


def run_peer(py: Path, gguf: Path, jobs: dict[str, Any], out: Path) -> dict[str, Any]:
    """Run bench/_peer_llama_acc.py on `jobs`; its .npy files land in `out`. One-line RuntimeError."""
    from bench.peers import _one_line

    out.mkdir(parents=True, exist_ok=True)
    (out / "jobs.json").write_text(json.dumps(jobs))
    # llama.cpp at its own defaults, whatever this process set for our runner (offchain.llm.v2.native
    # sets OMP_WAIT_POLICY=PASSIVE on import), so its figures do not depend on what ran first
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    r = subprocess.run([str(py), str(PEER), str(gguf), str(out / "jobs.json"), str(out)], capture_output=True,
                       text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"llama.cpp peer failed: {_one_line(r.stderr or r.stdout)}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cached_peer(py: Path, gguf: Path, jobs: dict[str, Any]) -> tuple[dict[str, Any], Path]:
    """run_peer, cached under .cache/llama_acc/<key>: the key hashes the file's bytes, the jobs, the
    peer script and the pinned versions, so a re-run of `make accuracy` reuses llama.cpp's answers
    and logits and anything that changes them runs it again; a result read back has from_cache=True.
    (Timings are never cached.)"""
    from bench.peers import LLAMA_PINS

    key = hashlib.sha256(json.dumps([_file_sha256(gguf), jobs, PEER.read_text(), LLAMA_PINS],
                                    sort_keys=True).encode()).hexdigest()[:24]
    folder = CACHE / key
    done = folder / "summary.json"
    if done.exists():
        return dict(json.loads(done.read_text()), from_cache=True), folder
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="tmp-", dir=CACHE))
    try:
        res = run_peer(py, gguf, jobs, tmp)
        (tmp / "summary.json").write_text(json.dumps(res))
        os.replace(tmp, folder)  # whole or absent: an interrupted run leaves no half-written entry
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return res, folder


def plain_generate(r: Any, ids: list[int], n_new: int, times: list[float] | None = None) -> list[int]:
    """Greedy generation as trace_task runs it, without the commitments: the prompt through
    RunnerV2.prefill in batches (each weight read once per batch), then one step per token.
    `times`, if given, receives the prefill's seconds (with the first argmax), then each step's."""
    from offchain.llm.v2.trace import PREFILL_BATCH

    t0 = time.perf_counter()
    r.reset()
    z = None
    for start in range(0, len(ids), PREFILL_BATCH):
        z = r.prefill(ids[start : start + PREFILL_BATCH], start)[0][-1]
    out: list[int] = []
    pos = len(ids)
    while True:
        out.append(int(np.argmax(z)))
        if times is not None:
            t1 = time.perf_counter()
            times.append(t1 - t0)
            t0 = t1
        if len(out) == n_new:
            return out
        z = r.step(out[-1], pos)
        pos += 1


def ours_timing(gguf: Path, ids: list[int]) -> dict[str, Any]:
    """Our prefill and decode on `ids` (see the module docstring), and the trace against them."""
    from offchain.llm.v2 import RunnerV2, load_gguf
    from offchain.llm.v2.trace import trace_task

    n = 1 + DECODE_TOKENS
    t0 = time.perf_counter()
    m = load_gguf(str(gguf), max_seq_len=len(ids) + n + 8)
    load_s = time.perf_counter() - t0
    r = RunnerV2(m)
    # the timed path must give the runner's own greedy answer (and this warms it up)
    if plain_generate(r, ids, 4) != r.generate(ids, 4, []):
        raise RuntimeError("batched prefill + steps and RunnerV2.generate disagree on the greedy tokens")
    # plain generation (timing the prefill and every step) alternating with the trace (every
    # node's tensor root, the accumulator); the trace ratio uses the best whole run of each, as
    # bench/llm does on this shared machine
    prefill: list[float] = []
    steps: list[float] = []
    plain, trace = [], []
    for _ in range(OUR_REPEATS):
        times: list[float] = []
        t1 = time.perf_counter()
        plain_generate(r, ids, n, times)
        plain.append(time.perf_counter() - t1)
        prefill.append(times[0])
        steps += times[1:]
        t1 = time.perf_counter()
        trace_task(m, ids, n)
        trace.append(time.perf_counter() - t1)
    return {"load_s": load_s, "prefill_s": statistics.median(prefill), "prefill_best_s": min(prefill),
            "decode_s_per_token": statistics.median(steps), "decode_best_s": min(steps),
            "trace_plain_s": min(plain), "trace_s": min(trace), "load_end": os.getloadavg()[0]}


def run() -> dict[str, Any]:
    try:
        gguf = model_path()
        py = llama_python(build=bool(os.environ.get("OPML_BENCH_PEERS")))
    except RuntimeError as e:
        return {"skipped": str(e)}
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="opml-smollm2-") as d:
        t = run_peer(py, gguf, {"threads": THREADS, "timing": {"message": TIMING_MESSAGE,
                                                              "decode_tokens": DECODE_TOKENS,
                                                              "repeats": PREFILL_REPEATS}}, Path(d))
    lt = t["timing"]
    ids = lt["prompt_ids"]  # llama.cpp's ids, so both sides time the same prompt
    try:
        ours = ours_timing(gguf, ids)
    except ImportError as e:
        ours = None
        why = f"our v2 runner is not available: {e}"
    cond = (f"SmolLM2-135M-Instruct Q4_1 GGUF (the file `make setup` fetches), {lt['prompt_tokens']}-token chat "
            f"prompt (the file's template, default system message), llama-cpp-python {t['version']} CPU "
            f"{t['threads']} threads; load average {load0:.1f} at the start")
    out: dict[str, Any] = {
        "llama_cpp_decode_ms_per_token": {"value": lt["decode_s_per_token"] * 1e3, "unit": "ms",
                                          "note": f"{cond}; one warm-up token, median of {DECODE_TOKENS} "
                                                  "single-token decodes"},
        "llama_cpp_prefill_ms": {"value": lt["prefill_s"] * 1e3, "unit": "ms",
                                 "note": f"{cond}; the prompt in one batch from an empty cache, one warm-up, median "
                                         f"of {PREFILL_REPEATS} (best {min(lt['prefill_times']) * 1e3:.1f} ms)"},
        "llama_cpp_1thread_decode_ms_per_token": {
            "value": lt["decode_s_per_token_1thread"] * 1e3, "unit": "ms",
            "note": f"the same context set to one thread, {DECODE_TOKENS} more tokens right after: near the 2-thread "
                    "figure on a quiet machine, below it when the cores are busy (llama.cpp's threads wait on each "
                    "other per op)"},
        "llama_cpp_1thread_prefill_ms": {"value": lt["prefill_s_1thread"] * 1e3, "unit": "ms",
                                         "note": f"the same prompt on one thread, median of {PREFILL_REPEATS}, "
                                                 "right after"},
    }
    out["llama_cpp_decode_ms_per_token"]["note"] += f" (best {min(lt['decode_times']) * 1e3:.1f} ms)"
    if ours is None:
        out["ours_skipped"] = why
        return out
    ocond = (f"our RunnerV2 (offchain.llm.v2) on the same file and ids, right after llama.cpp, same run "
             f"(load average {ours['load_end']:.1f} at its end)")
    out.update({
        "ours_decode_ms_per_token": {"value": ours["decode_s_per_token"] * 1e3, "unit": "ms",
                                     "note": f"{ocond}; median of the {OUR_REPEATS}x{DECODE_TOKENS} single-token "
                                             f"steps of {OUR_REPEATS} greedy runs, argmax included (best "
                                             f"{ours['decode_best_s'] * 1e3:.1f} ms)"},
        "ours_prefill_ms": {"value": ours["prefill_s"] * 1e3, "unit": "ms",
                            "note": f"{ocond}; the prompt through RunnerV2.prefill in batches and the first argmax, "
                                    f"median of {OUR_REPEATS} (best {ours['prefill_best_s'] * 1e3:.1f} ms)"},
        "decode_ratio": {"value": ours["decode_s_per_token"] / lt["decode_s_per_token"], "unit": "x",
                         "anchor": "smollm2_llama_cpp", "target": "<= 1.5",
                         "note": "ours / llama.cpp ms per generated token (medians), same file, same run"},
        "decode_ratio_best": {"value": ours["decode_best_s"] / min(lt["decode_times"]), "unit": "x",
                              "note": "ours / llama.cpp, the fastest single-token step of each: what each does "
                                      "when it has the cores, the least distorted by a busy machine"},
        "decode_ratio_vs_1thread": {"value": ours["decode_s_per_token"] / lt["decode_s_per_token_1thread"],
                                    "unit": "x", "note": "ours / llama.cpp set to one thread (medians)"},
        "prefill_ratio": {"value": ours["prefill_s"] / lt["prefill_s"], "unit": "x",
                          "note": f"ours / llama.cpp prefill of the {lt['prompt_tokens']}-token chat prompt"},
        "ours_load_s": {"value": ours["load_s"], "unit": "s", "note": "load_gguf: read and prepare the file"},
    })
    out["trace_overhead"] = {"value": ours["trace_s"] / ours["trace_plain_s"], "unit": "x plain",
                             "anchor": "trace_target", "target": "<= 1.2",
                             "note": f"offchain.llm.v2.trace.trace_task (every node's tensor root, the accumulator) "
                                     f"vs plain_generate, {1 + DECODE_TOKENS} new tokens on the "
                                     f"{lt['prompt_tokens']}-token prompt; best of {OUR_REPEATS} alternating runs "
                                     f"each ({ours['trace_s']:.2f} s vs {ours['trace_plain_s']:.2f} s)"}
    return out
