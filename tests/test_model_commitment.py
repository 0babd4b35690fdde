"""SPEC §5.3: the model commitment and the programs root, as Python builds them and as the
ModelRegistry computes and records them on chain."""

from __future__ import annotations

from dataclasses import astuple, replace
from pathlib import Path

import pytest

from offchain.agents.catalog import SHIPPED, load_entry
from offchain.evm import ContractRevert
from offchain.llm.kernels import program
from offchain.merkle import keccak
from offchain.merkle.hashing import hash_pair
from offchain.node.graph import PROGRAMS, model_commitment, programs_root
from offchain.node.start import Program

KERNELS = Path(__file__).resolve().parent.parent / "offchain" / "llm" / "kernels" / "build"


@pytest.fixture(scope="module")
def registry(chain):  # type: ignore[no-untyped-def]
    return chain.deploy("ModelRegistry")


def test_programs_root_is_the_tree_over_region0_root_and_entry_of_each_kernel_elf() -> None:
    """Rebuilt from the committed ELFs (loaded afresh), leaf p = keccak(region0_root ‖ entry·2^224),
    the tensor root of the 36 bytes, zero-padded to 16 leaves."""
    leaves = []
    for name in PROGRAMS:
        p = Program.load(str(KERNELS / f"{name}.elf"))
        assert (p.region0_root, p.entry) == (program(name).region0_root, program(name).entry), name
        leaves.append(keccak(p.region0_root + p.entry.to_bytes(4, "big") + bytes(28)))
    leaves += [bytes(32)] * (16 - len(leaves))
    while len(leaves) > 1:
        leaves = [hash_pair(leaves[k], leaves[k + 1]) for k in range(0, len(leaves), 2)]
    assert leaves[0] == programs_root()


@pytest.mark.parametrize("ref", SHIPPED)
def test_the_registry_computes_pythons_commitment_and_records_the_spec(registry, ref: str) -> None:  # type: ignore[no-untyped-def]
    spec = load_entry(ref).spec
    assert spec.commitment == model_commitment(spec.weightRoot, spec.graphRoot, spec.programsRoot)
    assert registry.call("commitmentOf", spec.weightRoot, spec.graphRoot, spec.programsRoot) == spec.commitment
    if not registry.call("exists", spec.model_id):
        registry.send("register", astuple(spec))
    assert registry.call("model", spec.model_id) == astuple(spec)


@pytest.mark.parametrize("part", ["weightRoot", "graphRoot", "programsRoot", "commitment"])
def test_a_commitment_that_does_not_match_its_parts_is_refused(registry, part: str) -> None:  # type: ignore[no-untyped-def]
    spec = load_entry(SHIPPED[0]).spec
    bad = replace(spec, **{part: keccak(getattr(spec, part))})
    with pytest.raises(ContractRevert) as e:
        registry.send("register", astuple(bad))
    assert e.value.name == "CommitmentMismatch"
    expected = model_commitment(bad.weightRoot, bad.graphRoot, bad.programsRoot)
    assert e.value.args == (expected, bad.commitment)
