"""Peers in the same run (issue 10, item 5), opt-in: OPML_BENCH_PEERS=1.

The peers are installed by this bench into its own folder, bench/.peers (a venv of its own,
never the project's pinned one), from PyPI with pinned versions. A peer that cannot be
installed or run here is reported in one line and the bench goes on.
- EZKL on the same MNIST MLP (784-500-10): setup, prove and verify seconds, against our plain
  native inference and our single-phase VM run of the same network (bench/kernels). The ONNX
  graph is built with the `onnx` package (no torch); its float weights are the integer model's
  int8 values and biases at their scale (same shapes: proving time does not depend on values).
- llama.cpp (PyPI llama-cpp-python, built here from its sdist: CPU only, -march=native, without
  its multimodal library) on a LLaMA GGUF of the 7B shape of bench/llm_7b (dim 4096, 32 layers,
  ffn 11008, vocab 32000, context 64) whose matrices are all Q8_0, written by bench/_peer_llama.py
  with `gguf` from random blocks and deleted afterwards (~7.2 GB on disk, under bench/.peers).
  Seconds per decoded token (one warm-up token, then the median of 4 single-token decodes, 2
  threads) against ours on the same synthetic shape, measured right after it in the same run
  (bench.llm_7b --decode-only: same warm-up and median), never both models in memory at once.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
PEERS = HERE / ".peers"
EZKL_PINS = ["ezkl==23.0.5", "onnx==1.23.1", "numpy==1.26.4"]
LLAMA_PINS = ["llama-cpp-python==0.3.36", "gguf==0.19.0", "numpy==1.26.4"]
#: llama-cpp-python builds llama.cpp with CMake: CPU only (the default), tuned to this CPU, and
#: without the multimodal library (mtmd), which the bench does not use (about a third of the build).
LLAMA_CMAKE_ARGS = "-DGGML_NATIVE=ON -DLLAVA_BUILD=OFF"


def _one_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip() and "is ignored" not in ln]
    return (lines[-1] if lines else "no output")[:200]


def _first_build_error(text: str) -> str:
    """The first compiler or CMake error of a failed source build in pip's output, or ''."""
    for ln in text.splitlines():
        ln = ln.strip()
        if re.search(r"CMake Error|fatal error|\berror:", ln) and "subprocess-exited-with-error" not in ln:
            return ln[:160]
    return ""


def _stamp(pins: list[str]) -> Path:
    return PEERS / ("installed-" + "-".join(p.replace("==", "_") for p in pins))


def peer_python(pins: list[str], env: dict[str, str] | None = None) -> Path:
    """The peers' venv Python with `pins` installed (idempotent); raises RuntimeError(one line).
    `env`: extra environment for pip (e.g. a source build's CMake flags)."""
    py = PEERS / "bin" / "python"
    if not py.exists():
        venv.create(PEERS, with_pip=True)
    stamp = _stamp(pins)
    if not stamp.exists():
        r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *pins],
                           capture_output=True, text=True, env=dict(os.environ, **(env or {})))
        if r.returncode != 0:
            why = _one_line(r.stderr or r.stdout)
            detail = _first_build_error(r.stderr or r.stdout)
            raise RuntimeError(f"pip install {' '.join(pins)} failed: {why}" + (f" ({detail})" if detail else ""))
        stamp.touch()
    return py


def _mnist_inputs(folder: Path) -> float:
    """Write the MLP's float weights and the test image for the peer; return our plain inference
    time of the same network (seconds, best of 20)."""
    from offchain.llm.kernels.mnist import load_image, load_model
    from offchain.llm.runner import run_mlp

    m = load_model()
    t = m.tensors
    img = load_image()
    np.save(folder / "w0.npy", (t["fc0.weight"].astype(np.float32) / 128))
    np.save(folder / "b0.npy", np.zeros(t["fc0.bias"].shape, np.float32))
    np.save(folder / "w1.npy", (t["fc1.weight"].astype(np.float32) / 128))
    np.save(folder / "b1.npy", np.zeros(t["fc1.bias"].shape, np.float32))
    np.save(folder / "x.npy", (img.astype(np.float32) / 255).reshape(1, -1))
    best = float("inf")
    for _ in range(20):
        t0 = time.perf_counter()
        run_mlp(m, img)
        best = min(best, time.perf_counter() - t0)
    return best


def ezkl() -> dict[str, Any]:
    py = peer_python(EZKL_PINS)
    with tempfile.TemporaryDirectory(prefix="opml-ezkl-") as d:
        plain = _mnist_inputs(Path(d))
        r = subprocess.run([str(py), str(HERE / "_peer_ezkl.py"), d], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"EZKL run failed: {_one_line(r.stderr or r.stdout)}")
        e = json.loads(r.stdout.strip().splitlines()[-1])
    cond = f"EZKL {e['version']}, logrows {e['logrows']}, SRS generated locally, same run"
    return {
        "ezkl_setup_s": {"value": e["setup_s"], "unit": "s", "note": f"{cond}; settings, calibrate, compile, keys"},
        "ezkl_srs_s": {"value": e["srs_s"], "unit": "s", "note": "gen_srs (local)"},
        "ezkl_prove_s": {"value": e["prove_s"], "unit": "s", "anchor": "ezkl_prove", "note": cond},
        "ezkl_verify_s": {"value": e["verify_s"], "unit": "s", "note": f"verified: {e['verified']}"},
        "ezkl_proof_bytes": {"value": e["proof_bytes"], "unit": "bytes", "note": "proof.json"},
        "ezkl_prove_over_plain_inference": {"value": e["prove_s"] / plain, "unit": "x", "anchor": "ezkl_overhead",
                                            "note": f"our plain native MLP inference: {plain * 1e6:.0f} us"},
    }


def llama_cpp() -> dict[str, Any]:
    from bench.llm_7b import SHAPE, child_env

    built = not _stamp(LLAMA_PINS).exists()
    t0 = time.perf_counter()
    py = peer_python(LLAMA_PINS, {"CMAKE_ARGS": LLAMA_CMAKE_ARGS,
                                  "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 2)})
    build_s = time.perf_counter() - t0
    # theirs, then ours: one 7B-shaped model in memory at a time
    with tempfile.TemporaryDirectory(prefix="llama-gguf-", dir=PEERS) as d:
        r = subprocess.run([str(py), str(HERE / "_peer_llama.py"), d, json.dumps(SHAPE)], capture_output=True,
                           text=True)
    if r.returncode != 0:
        raise RuntimeError(f"run failed: {_one_line(r.stderr or r.stdout)}")
    t = json.loads(r.stdout.strip().splitlines()[-1])
    o = subprocess.run([sys.executable, "-m", "bench.llm_7b", "--decode-only"], capture_output=True, text=True,
                       env=child_env(), cwd=HERE.parent)
    if o.returncode != 0:
        raise RuntimeError(f"our decode failed: {_one_line(o.stderr or o.stdout)}")
    ours = json.loads(o.stdout.strip().splitlines()[-1])
    shape = f"dim {SHAPE['dim']}, {SHAPE['n_layers']} layers, ffn {SHAPE['hidden_dim']}, vocab {SHAPE['vocab_size']}"
    cond = (f"llama-cpp-python {t['version']} (built here from the sdist, {LLAMA_CMAKE_ARGS}), CPU, "
            f"{t['threads']} threads, all matrices Q8_0, 7B shape ({shape}); one warm-up token, median of "
            f"{len(t['times'])} single-token decodes; same machine, same run")
    out = {
        "llama_cpp_s_per_token": {"value": t["s_per_token"], "unit": "s", "note": cond},
        "ours_s_per_token": {"value": ours["s_per_token"], "unit": "s",
                             "note": f"our Runner.step on the same shape, int8 exact, matvec {ours['matvec']}, 2 "
                                     f"threads; one warm-up step, median of {len(ours['times'])}; right after "
                                     "llama.cpp, same run"},
        "llama_cpp_ratio": {"value": ours["s_per_token"] / t["s_per_token"], "unit": "x", "anchor": "llama_cpp",
                            "target": "aim <= 1.5",
                            "note": f"ours / llama.cpp seconds per decoded token, both on 2 threads, same shape, "
                                    f"same run (llama.cpp on one thread: {t['s_per_token_1thread']:.3g} s)"},
        "llama_cpp_1thread_s_per_token": {"value": t["s_per_token_1thread"], "unit": "s",
                                          "note": "the same context set to one thread, 4 more tokens right after: "
                                                  "near the 2-thread figure on a quiet machine, below it when the "
                                                  "cores are busy (llama.cpp's threads wait on each other per op)"},
        "llama_cpp_gguf_bytes": {"value": t["gguf_bytes"], "unit": "bytes",
                                 "note": f"written with gguf {t['gguf_version']} in {t['gguf_write_s']:.0f} s "
                                         f"(deleted after the run); ours reads {ours['weight_bytes'] / 1e9:.2f} GB "
                                         "of int8 matrices per token"},
        "llama_cpp_gguf_write_s": {"value": t["gguf_write_s"], "unit": "s",
                                   "note": "random Q8_0 blocks, tensor by tensor"},
        "llama_cpp_load_s": {"value": t["load_s"], "unit": "s", "note": "model (mmap) and context"},
        "llama_cpp_peak_rss": {"value": t["peak_rss_GiB"], "unit": "GiB", "note": "llama.cpp's child process"},
        "ours_weight_bytes": {"value": ours["weight_bytes"], "unit": "bytes",
                              "note": "int8 matrices our decode step reads (the figure's x for both points)"},
    }
    if not t["logits_finite"]:
        out["llama_cpp_s_per_token"]["note"] += "; NOTE: its logits were not all finite"
    if built:
        out["llama_cpp_build_s"] = {"value": build_s, "unit": "s",
                                    "note": f"pip install {' '.join(LLAMA_PINS)} into bench/.peers in this run "
                                            "(a source build, or quick when pip's wheel cache holds the wheel)"}
    return out


def run() -> dict[str, Any]:
    if not os.environ.get("OPML_BENCH_PEERS"):
        return {"skipped": "set OPML_BENCH_PEERS=1 (installs EZKL and builds llama.cpp into bench/.peers: "
                           "~20 min for EZKL and ~16 min to build llama.cpp the first time on a busy 2-core machine; "
                           "then llama.cpp's part is ~1-2 min a run, with ~7.2 GB of disk and ~7 GiB of RAM)"}
    out: dict[str, Any] = {}
    try:
        out.update(ezkl())
    except (RuntimeError, OSError, ValueError, KeyError) as e:
        print(f"bench peers: EZKL skipped: {e}", file=sys.stderr)
        out["ezkl_skipped"] = f"EZKL: {e}"
    try:
        out.update(llama_cpp())
    except (RuntimeError, OSError, ValueError, KeyError, json.JSONDecodeError) as e:
        print(f"bench peers: llama.cpp skipped: {e}", file=sys.stderr)
        out["llama_cpp_skipped"] = f"llama.cpp: {e}"
    return out
