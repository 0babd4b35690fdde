"""Known-answer vectors (tests/vectors/known_answers.json, made once by make_known_answers.py from
pycryptodome's keccak and a hand-checkable program): the implementation must give the same bytes.

Differential tests compare two implementations with each other; these pin both to values computed
without either, so a change that moves Python and Solidity together still fails here.
"""

import json
import struct
from pathlib import Path

import pytest

from offchain.merkle import ZERO_HASHES, SparseMemory, tensor_root
from offchain.merkle.accumulator import Accumulator
from offchain.mipsemu.witness import compact_proof
from tests.mipsemu.asm import vm_with

VECTORS = json.loads((Path(__file__).parent / "vectors" / "known_answers.json").read_text())
STEPS = VECTORS["steps"]


def _pattern(n: int, seed: int) -> bytes:
    return bytes((seed * 31 + i * 7 + (i >> 8)) & 0xFF for i in range(n))


@pytest.fixture(scope="module")
def mips(chain):  # type: ignore[no-untyped-def]
    return chain.deploy("MIPS")


def test_the_vectors_are_a_few_dozen_steps_and_a_handful_of_roots():
    assert len(STEPS) >= 25 and len(VECTORS["tensors"]) >= 5 and len(VECTORS["accumulator"]["roots"]) >= 5
    assert {len(bytes.fromhex(s["proof"])) for s in STEPS} == {0, 896, 1792}  # fixed point, plain, memory


def test_zero_hashes():
    assert [z.hex() for z in ZERO_HASHES] == VECTORS["zero_hashes"]


@pytest.mark.parametrize("t", VECTORS["tensors"], ids=lambda t: f"{t['length']}B")
def test_tensor_roots_and_their_place_in_memory(t, merkle_harness):
    data = _pattern(t["length"], t["seed"])
    assert tensor_root(data) == (bytes.fromhex(t["root"]), t["height"])
    assert merkle_harness.call("tensorRoot", data) == (bytes.fromhex(t["root"]), t["height"])
    for region, want in zip((0, 2, 15), t["memory_root_in_region"]):
        mem = SparseMemory()
        mem.write(region << 28, data)
        assert mem.root().hex() == want


def test_accumulator_roots():
    acc = VECTORS["accumulator"]
    a = Accumulator([bytes.fromhex(x) for x in acc["leaves"]])
    assert [a.root(i).hex() for i in range(a.n + 1)] == acc["roots"]


def test_the_emulator_reproduces_every_witness_and_post_state():
    prog = VECTORS["program"]
    vm = vm_with(prog["words"], prog["base"])
    for s in STEPS:
        pre, proof = vm.witness()
        assert pre.hex() == s["pre_state"], f"pre-state of step {s['step']}"
        if s["proof"]:  # an exited state reads no proof: any is accepted
            assert proof.hex() == s["proof"], f"proof of step {s['step']}"
        vm.step()
        assert vm.pack().hex() == s["post_state"], f"post-state of step {s['step']}"
        assert vm.state_hash().hex() == s["post_hash"], f"post hash of step {s['step']}"
    assert vm.exited and vm.exit_code == 3


@pytest.mark.parametrize("s", STEPS, ids=lambda s: f"step{s['step']}")
def test_mips_sol_gives_the_known_post_hash(mips, s):
    pre, proof = bytes.fromhex(s["pre_state"]), bytes.fromhex(s["proof"])
    assert mips.call("step", pre, proof, bytes(32)).hex() == s["post_hash"]
    if proof:
        assert mips.call("stepCompact", pre, compact_proof(proof), bytes(32)).hex() == s["post_hash"]


def test_the_program_is_the_one_described():
    # a few post-states decoded by hand from the comments in make_known_answers.py
    regs = {s["step"]: struct.unpack(">32I", bytes.fromhex(s["post_state"])[98:]) for s in STEPS}
    assert regs[1][8] == 0x12345678 and regs[3][10] == 0x12345677 and regs[6][12] == 0x12345677
    assert regs[8][13] == 0x00FF0000 and regs[10][14] == 7 and regs[12][24] == 0xEDCBA987
