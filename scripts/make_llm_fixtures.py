"""Regenerate the torch-written test fixtures under tests/llm/data/ (needs torch==2.13.0).

The tests themselves do not need torch: they read these real `torch.save` archives with our
restricted unpickler and compare against the arrays torch itself loaded (views.npz) or against
the generator (tiny.pt holds tests/llm/helpers.tiny_llama(seed=3, dim=32, hidden=32)).
"""

import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.llm.helpers import FIXTURE_ARGS, tiny_llama  # noqa: E402

OUT = ROOT / "tests" / "llm" / "data"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    m = tiny_llama(**FIXTURE_ARGS)
    torch.save({k: torch.from_numpy(v.copy()) for k, v in m.weights.items()}, OUT / "tiny.pt")
    base = torch.arange(60, dtype=torch.float32).reshape(6, 10) / 7
    # views share one storage: transposes, offsets, fp16/bf16 storages and a Parameter
    sd = {"a": base, "t": base.t(), "slice": base[2:4, 3:], "half": base.half(), "bf16": base.bfloat16(),
          "param": torch.nn.Parameter(base[1]), "ints": torch.arange(5)}
    torch.save(sd, OUT / "views.pt")
    back = torch.load(OUT / "views.pt")
    np.savez(OUT / "views.npz", **{k: v.detach().float().numpy() if v.dtype == torch.bfloat16 else v.detach().numpy()
                                   for k, v in back.items()})
    print("wrote", *sorted(p.name for p in OUT.iterdir()))


if __name__ == "__main__":
    main()
