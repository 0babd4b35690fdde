"""Single-phase mode on the OPML demo's MNIST model: the whole MLP as one `mlp_full` node.

The model is models/mnist.opml when it exists, else the same conversion scripts/build_models.py
makes (the demo's state_dict, calibrated on its test image), so tests and the bench do not depend
on a generated file being present.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from offchain.llm.kernels import output, run
from offchain.llm.kernels.registry import mlp_full
from offchain.llm.model import IntModel

ROOT = Path(__file__).resolve().parents[3]
MODEL = ROOT / "models" / "mnist.opml"
DATA = ROOT / "models" / "opml-mnist"  # the OPML demo's state_dict and test image, committed
IMAGE = DATA / "input_7"


def load_model() -> IntModel:
    from offchain.llm.format import read_model

    if MODEL.exists():
        return read_model(MODEL)
    from offchain.llm.convert import convert_mlp

    return convert_mlp(DATA / "mnist_model.state_dict", 1 / 255, 255, load_image()[None, :])


def load_image(path: Path = IMAGE) -> np.ndarray:
    return np.frombuffer(path.read_bytes(), dtype=np.uint8)


@dataclass(frozen=True)
class Inference:
    digit: int
    steps: int
    seconds: float  # VM start state + run, wall clock


def classify(model: IntModel, pixels: np.ndarray, exact: bool = False) -> Inference:
    """Run the model on one image inside the VM (fast-forward unless `exact`)."""
    node = mlp_full(model.tensors, list(model.config.dims), pixels)
    t0 = time.perf_counter()
    vm = run(node, exact=exact)
    dt = time.perf_counter() - t0
    if not vm.exited or vm.exit_code != 0:
        raise RuntimeError(f"mlp_full exited with code {vm.exit_code}")
    return Inference(int.from_bytes(output(node, vm), "big", signed=True), vm.step_count, dt)


def main(argv: list[str] | None = None) -> int:
    """`python -m offchain.llm.kernels.mnist [IMAGE] [--exact]`: classify a 28x28 byte image in the VM."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m offchain.llm.kernels.mnist", description=main.__doc__)
    ap.add_argument("image", nargs="?", default=str(IMAGE), help="784 raw bytes (default: the demo's input_7)")
    ap.add_argument("--exact", action="store_true", help="exact Python stepper instead of the fast-forward")
    args = ap.parse_args(argv)
    r = classify(load_model(), load_image(Path(args.image)), exact=args.exact)
    print(f"digit {r.digit}  steps {r.steps:,}  seconds {r.seconds:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
