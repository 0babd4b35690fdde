"""src/lib/MIPSMemoryProof.sol's unrolled walks are scripts/gen_memory_proof.py's output, and its
zero hashes are the Python Merkle memory's (`make gen-check` runs the same comparison)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from offchain.merkle.hashing import ZERO_HASHES

ROOT = Path(__file__).resolve().parents[1]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_memory_proof", ROOT / "scripts" / "gen_memory_proof.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


gen = _generator()


def test_the_committed_file_is_the_generators_output() -> None:
    text = gen.TARGET.read_text()
    assert gen.render(text) == text
    assert gen.main(["--check"]) == 0


def test_the_zero_hashes_are_the_merkle_memorys() -> None:
    assert gen.zero_hashes() == list(ZERO_HASHES[: gen.HEIGHT])


def test_every_level_appears_once_per_walk_with_its_zero_hash() -> None:
    text = gen.TARGET.read_text()
    for h, z in enumerate(gen.zero_hashes()):
        literal = "0" if h == 0 else "0x" + z.hex()
        assert len(re.findall(rf"// height {h}\n\s+s := {literal}\n", text)) == 2, h


def test_a_hand_edit_inside_a_region_is_caught(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    text = gen.TARGET.read_text()
    edited = tmp_path / "MIPSMemoryProof.sol"
    edited.write_text(text.replace("sib := add(sib, 32)", "sib := add(sib, 31)", 1))
    monkeypatch.setattr(gen, "TARGET", edited)
    monkeypatch.setattr(gen, "ROOT", tmp_path)
    assert gen.main(["--check"]) == 1
    assert gen.main([]) == 0 and edited.read_text() == text  # regenerating restores it


def test_a_missing_marker_is_an_error() -> None:
    with pytest.raises(SystemExit, match="expected one"):
        gen.render(gen.TARGET.read_text().replace("// END generated (walk)", ""))
