"""Write the whole-game vectors forge replays (test/vectors/game_*.json), deterministically.

- game_shakespeare.json: the shipped model, prompt "ROMEO:", N = 4; the submitter lies about
  one byte of `layers.1.q` at the last position; the honest challenger bisects phase 2 to that
  node, the submitter links it to phase 1 with its (faked) final state, phase 1 bisects to the
  last step, and one MIPS step shows the lie.
- game_smollm2.json: SmolLM2-135M-Instruct (spec v2, installed by `make setup`), greedy, the chat
  question of offchain.game.vectors.SMOLLM2_CHAT, N = 3; the submitter lies about one byte of
  blk.7.ffn_residual at the last position;
- game_mnist.json: single-phase MNIST on input_7; the submitter posts digit 3 with an S_n
  consistent with 3 and a final state whose output region holds 3.

Usage: python scripts/make_game_vectors.py [--only shakespeare|mnist|smollm2] [--check]
(--check: regenerate in memory and fail if the committed files differ).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from offchain.game.vectors import mnist_vector, shakespeare_vector  # noqa: E402
from offchain.llm.format import read_model  # noqa: E402

OUT = ROOT / "test" / "vectors"


def mnist_image(root: Path) -> bytes:
    """input_7 of the OPML demo, shipped in the repo (models/opml-mnist/)."""
    from offchain.llm.kernels.mnist import IMAGE

    return Path(IMAGE).read_bytes()


def shakespeare() -> dict:
    return shakespeare_vector(read_model(ROOT / "models" / "shakespeare.opml"))


def mnist() -> dict:
    return mnist_vector(read_model(ROOT / "models" / "mnist.opml"), mnist_image(ROOT))


def smollm2() -> dict:
    from offchain.game.vectors import smollm2_vector
    from offchain.llm.known_models import SMOLLM2

    return smollm2_vector(str(SMOLLM2.path()))


VECTORS = {"shakespeare": shakespeare, "mnist": mnist, "smollm2": smollm2}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=sorted(VECTORS))
    ap.add_argument("--check", action="store_true", help="fail if a committed vector differs from a fresh one")
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    bad = 0
    for name, make in VECTORS.items():
        if args.only and name != args.only:
            continue
        text = json.dumps(make(), indent=1) + "\n"
        path = OUT / f"game_{name}.json"
        if args.check:
            same = path.exists() and path.read_text() == text
            print(f"{path.relative_to(ROOT)}: {'up to date' if same else 'DIFFERS'}")
            bad += not same
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
