"""The committed forge vectors (test/vectors/game_*.json) are what the generator makes today, and
their last step, run by MIPS.sol, shows the lie."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offchain.game.vectors import mnist_vector, shakespeare_vector, smollm2_vector
from offchain.llm.format import read_model
from offchain.llm.known_models import SMOLLM2
from offchain.mipsemu import hash_packed
from tests.budget import LONG_RUN

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "test" / "vectors"


def _load(name: str) -> dict:
    return json.loads((VECTORS / f"game_{name}.json").read_text())


def _b(x: str) -> bytes:
    return bytes.fromhex(x[2:])


def test_the_shakespeare_vector_is_a_fresh_generation():
    assert shakespeare_vector(read_model(ROOT / "models" / "shakespeare.opml")) == _load("shakespeare")


def test_the_mnist_vector_is_a_fresh_generation():
    v = _load("mnist")  # the image is the task's input, so the test reads no outside data
    assert mnist_vector(read_model(ROOT / "models" / "mnist.opml"), _b(v["input"])) == v
    assert v["honestTokens"] == "0x00000007" and v["tokens"] == "0x00000003"


@pytest.mark.skipif(not (LONG_RUN and SMOLLM2.path().exists()), reason="~30 s: make fuzz (OPML_FUZZ=1), with SmolLM2")
def test_the_smollm2_vector_is_a_fresh_generation():
    """The real model's game (spec v2): phase 2 must find exactly the lying node."""
    v = _load("smollm2")
    assert smollm2_vector(str(SMOLLM2.path())) == v


def test_the_smollm2_vector_lies_at_the_node_it_names():
    v = _load("smollm2")
    n_f = v["model"]["nF"]
    p = len(_b(v["input"])) // 4
    assert v["node"] == (p + v["N"] - 2) * n_f + 1 + 7 * 26 + 25  # blk.7.ffn_residual at the last position
    assert v["finalState"] != v["honestFinalState"] and v["tokens"] == v["honestTokens"]


@pytest.mark.parametrize("name", ["shakespeare", "mnist", "smollm2"])
def test_mips_sol_runs_the_last_step_to_a_state_other_than_the_liars(chain, name):
    v = _load(name)
    mips = chain.deploy("MIPS")
    pre, proof, compact = _b(v["step"]["preState"]), _b(v["step"]["proof"]), _b(v["step"]["proofCompact"])
    post = mips.call("step", pre, proof, bytes(32))
    assert mips.call("stepCompact", pre, compact, bytes(32)) == post
    assert post != hash_packed(_b(v["transition"]["finalState"])) and v["challengerWins"]
    steps = int.from_bytes(_b(v["transition"]["finalState"])[90:98], "big")
    assert v["step"]["lo"] == steps - 1 and len(v["phase1"]["midHashes"]) == (steps - 1).bit_length()
