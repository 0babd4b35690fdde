"""Run by bench/peers.py with the peers' own Python (bench/.peers): EZKL on the MNIST MLP.

argv: a folder holding w0.npy, b0.npy, w1.npy, b1.npy (float32) and x.npy (the input, float32).
Builds the ONNX graph with the `onnx` package (Gemm, Relu, Gemm; no torch), then times EZKL's
settings, compile, SRS generation (local: nothing is downloaded), setup, witness, prove and
verify. Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def _call(f: Any, *args: Any) -> Any:
    r = f(*args)
    return asyncio.run(r) if inspect.isawaitable(r) else r


def _onnx(folder: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w0, b0, w1, b1 = (np.load(folder / f"{n}.npy") for n in ("w0", "b0", "w1", "b1"))
    inits = [numpy_helper.from_array(a, name) for a, name in ((w0, "w0"), (b0, "b0"), (w1, "w1"), (b1, "b1"))]
    nodes = [helper.make_node("Gemm", ["x", "w0", "b0"], ["h"], transB=1), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Gemm", ["r", "w1", "b1"], ["y"], transB=1)]
    graph = helper.make_graph(nodes, "mnist_mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, w0.shape[1]])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, w1.shape[0]])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    path = folder / "mnist.onnx"
    onnx.save(model, str(path))
    return path


def main(folder: Path) -> dict[str, Any]:
    import ezkl

    f = {k: str(folder / k) for k in ("settings.json", "net.ezkl", "kzg.srs", "pk.key", "vk.key", "input.json",
                                        "witness.json", "proof.json")}
    model = str(_onnx(folder))
    x = np.load(folder / "x.npy")
    Path(f["input.json"]).write_text(json.dumps({"input_data": [x.reshape(-1).tolist()]}))
    times: dict[str, float] = {}

    def timed(name: str, fn: Any, *args: Any) -> Any:
        t0 = time.perf_counter()
        r = _call(fn, *args)
        times[name] = times.get(name, 0.0) + time.perf_counter() - t0
        return r

    timed("setup", ezkl.gen_settings, model, f["settings.json"])
    timed("setup", ezkl.calibrate_settings, f["input.json"], model, f["settings.json"], "resources")
    timed("setup", ezkl.compile_circuit, model, f["net.ezkl"], f["settings.json"])
    logrows = json.loads(Path(f["settings.json"]).read_text())["run_args"]["logrows"]
    timed("srs", ezkl.gen_srs, f["kzg.srs"], logrows)
    timed("setup", ezkl.setup, f["net.ezkl"], f["vk.key"], f["pk.key"], f["kzg.srs"])
    timed("witness", ezkl.gen_witness, f["input.json"], f["net.ezkl"], f["witness.json"])
    timed("prove", ezkl.prove, f["witness.json"], f["net.ezkl"], f["pk.key"], f["proof.json"], f["kzg.srs"])
    ok = timed("verify", ezkl.verify, f["proof.json"], f["settings.json"], f["vk.key"], f["kzg.srs"])
    return {"version": getattr(ezkl, "__version__", "?"), "logrows": logrows, "verified": bool(ok),
            "proof_bytes": Path(f["proof.json"]).stat().st_size, **{f"{k}_s": v for k, v in times.items()}}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
