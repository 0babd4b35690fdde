"""Peers in the same run (issue 10, item 5), opt-in: OPML_BENCH_PEERS=1.

The peers are installed by this bench into its own folder, bench/.peers (a venv of its own,
never the project's pinned one), from PyPI with pinned versions. A peer that cannot be
installed or run here is reported in one line and the bench goes on.
- EZKL on the same MNIST MLP (784-500-10): setup, prove and verify seconds, against our plain
  native inference and our single-phase VM run of the same network (bench/kernels). The ONNX
  graph is built with the `onnx` package (no torch); its float weights are the integer model's
  int8 values and biases at their scale (same shapes: proving time does not depend on values).
- llama.cpp (llama-cpp-python on a 7B-shaped Q8_0 GGUF): not wired yet; reported as missing.
"""

from __future__ import annotations

import json
import os
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


def _one_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip() and "is ignored" not in ln]
    return (lines[-1] if lines else "no output")[:200]


def peer_python(pins: list[str]) -> Path:
    """The peers' venv Python with `pins` installed (idempotent); raises RuntimeError(one line)."""
    py = PEERS / "bin" / "python"
    if not py.exists():
        venv.create(PEERS, with_pip=True)
    stamp = PEERS / ("installed-" + "-".join(p.replace("==", "_") for p in pins))
    if not stamp.exists():
        r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *pins],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"pip install {' '.join(pins)} failed: {_one_line(r.stderr or r.stdout)}")
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


def run() -> dict[str, Any]:
    if not os.environ.get("OPML_BENCH_PEERS"):
        return {"skipped": "set OPML_BENCH_PEERS=1 (installs EZKL into bench/.peers; ~20 min on a busy 2-core machine)"}
    out: dict[str, Any] = {}
    try:
        out.update(ezkl())
    except (RuntimeError, OSError, ValueError, KeyError) as e:
        print(f"bench peers: EZKL skipped: {e}", file=sys.stderr)
        out["ezkl_skipped"] = f"EZKL: {e}"
    out["llama_cpp_skipped"] = "llama.cpp: not wired into this bench yet (issue 10 item 5)"
    return out
