"""Build the shipped integer models from their float checkpoints (deterministic, no torch needed).

- models/shakespeare.opml from models/shakespeare-float.pt (scripts/train_shakespeare.py), with
  activation scales calibrated on fixed windows of the *training* part of the corpus;
- models/mnist.opml from the OPML demo's MNIST state_dict (784→500→10, saved on cuda:0), input
  bytes scaled by 1/255 (the float model reads 7 from input_7 that way), calibrated on input_7.

    .venv/bin/python scripts/build_models.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from train_shakespeare import corpus_bytes, split  # noqa: E402

from offchain.llm.convert import convert_mlp, load_float  # noqa: E402
from offchain.llm.format import write_model  # noqa: E402
from offchain.llm.kernels.mnist import IMAGE, STATE_DICT  # noqa: E402
from offchain.llm.quant import quantize_llama  # noqa: E402

CALIB_WINDOWS = 24


def calibration_tokens(train: bytes, window: int) -> list[int]:
    """CALIB_WINDOWS windows of `window` bytes at evenly spaced offsets of the training text."""
    step = (len(train) - window) // CALIB_WINDOWS
    return [b for i in range(CALIB_WINDOWS) for b in train[i * step : i * step + window]]


def main() -> int:
    fm, _ = load_float(ROOT / "models" / "shakespeare-float.pt")
    train, _ = split(corpus_bytes(ROOT / ".cache" / "shakespeare"))
    model = quantize_llama(fm, calibration_tokens(train, fm.max_seq_len), {"kind": "bytes"},
                           {"source": "shakespeare-float.pt", "trained_by": "scripts/train_shakespeare.py"})
    print("shakespeare.opml weight_root 0x" + write_model(ROOT / "models" / "shakespeare.opml", model).hex())
    img = np.frombuffer(IMAGE.read_bytes(), np.uint8)
    mlp = convert_mlp(STATE_DICT, 1 / 255, 255, img[None, :])
    print("mnist.opml weight_root 0x" + write_model(ROOT / "models" / "mnist.opml", mlp).hex())
    return 0


if __name__ == "__main__":
    sys.exit(main())
