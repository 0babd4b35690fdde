"""The responder turns each action into its one contract call, says the action's note first and
logs the transaction; no chain: the contracts are recorders."""

from __future__ import annotations

from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any

import pytest

from offchain.agents.responder import Responder
from offchain.agents.solver import (
    Abandon,
    Action,
    Challenge,
    Commit,
    Finalize,
    GiveUp,
    Move,
    ProveTokenMismatch,
    Refuse,
    ReleaseBond,
    Respond,
    Reveal,
    SlashDisproven,
    Step,
    Timeout,
    Transition,
    Withdraw,
)
from offchain.agents.store import Store
from offchain.chain.client import System
from offchain.game.bounds import commitment
from offchain.game.phase1 import StepWitness
from offchain.game.tokens import tokens_bytes
from offchain.game.transition import TransitionProof
from tests.agents.fakes import PROOF, h

ME = "0x" + "ab" * 20


@dataclass
class Backend:
    sender: str = ME


@dataclass
class Recorder:
    """A contract that records what is sent to it and mines it at once."""

    name: str
    sent: list[tuple[str, str, tuple[Any, ...], int]]
    address: str = "0x" + "11" * 20
    backend: Backend = field(default_factory=Backend)

    def send(self, fn: str, *args: Any, value: int = 0) -> dict[str, Any]:
        self.sent.append((self.name, fn, args, value))
        return {"gasUsed": "0x5208", "blockNumber": "0x7", "transactionHash": "0x" + "22" * 32}


WITNESS = StepWitness(41, b"pre", b"proof", b"compact", h("post"))
PROOF_T = TransitionProof(h("out"), b"acc", b"desc", b"graph", h("r0"), 4, b"prog", (h("in"),), (b"p",), b"final", b"region")


@pytest.fixture
def responder(tmp_path: Path) -> tuple[Responder, list]:
    sent: list = []
    system = System(*(Recorder(n, sent) for n in ("mips", "models", "link", "tasks", "games")))  # type: ignore[arg-type]
    return Responder(system, Store(tmp_path / "s.sqlite"), say=lambda m: sent.append(("said", m)), role="r"), sent


@pytest.mark.parametrize("action,call,phase", [
    (Move(3, 5, 0, h("c")), ("games", "bisect", (3, 5, h("c")), 0), "phase 2"),
    (Move(3, 5, 1, h("c")), ("games", "bisect", (3, 5, h("c")), 0), "phase 1"),
    (Respond(3, 6, 1, False), ("games", "respond", (3, 6, False), 0), "phase 1"),
    (Transition(3, 7, 150, PROOF_T), ("games", "transition", (3, 7, astuple(PROOF_T)), 0), "transition"),
    (Step(3, WITNESS), ("games", "step", (3, b"pre", b"compact", True), 0), "step"),
    (Timeout(3), ("games", "timeout", (3,), 0), "settle"),
    (Abandon(3), ("games", "abandon", (3,), 0), "settle"),
    (Challenge(2, 50), ("tasks", "challenge", (2,), 50), "challenge"),
    (ProveTokenMismatch(2, b"toks", PROOF), ("tasks", "proveTokenMismatch", (2, b"toks", PROOF.k, PROOF.leaf, PROOF.path, ME),
                                              0), "challenge"),
    (SlashDisproven(2), ("tasks", "slashDisproven", (2,), 0), "settle"),
    (Finalize(2), ("tasks", "finalize", (2,), 0), "settle"),
    (ReleaseBond(2), ("tasks", "releaseBond", (2,), 0), "settle"),
    (Withdraw(), ("tasks", "withdraw", (), 0), "settle"),
])
def test_each_action_is_one_call(responder, action: Action, call: tuple, phase: str) -> None:  # type: ignore[no-untyped-def]
    r, sent = responder
    assert r.perform(action) == 1
    assert sent == [call]
    assert [(t.fn, t.phase, t.gas, t.block) for t in r.txs] == [(call[1], phase, 21000, 7)]
    assert r.store.journal()[0][2] == "0x" + "22" * 32


def test_a_commitment_and_its_reveal_use_the_same_kept_salt(responder) -> None:  # type: ignore[no-untyped-def]
    r, sent = responder
    r.perform(Commit(7, (5, 6), h("S"), 10, note="committing"))
    r.perform(Reveal(9, 7, (5, 6), h("S")))
    salt = r.salt(7)
    assert sent == [("said", "committing"),
                    ("tasks", "commitResult", (7, commitment(tokens_bytes((5, 6)), h("S"), ME, salt)), 10),
                    ("tasks", "revealResult", (9, tokens_bytes((5, 6)), h("S"), salt), 0)]
    assert [t.phase for t in r.txs] == ["result", "result"]


def test_refusals_and_giving_up_are_said_and_send_nothing(responder) -> None:  # type: ignore[no-untyped-def]
    r, sent = responder
    assert r.perform(Refuse(7, note="task 7: refused")) == 0
    assert r.perform(GiveUp(3, note="game 3: cannot link")) == 0
    assert sent == [("said", "task 7: refused"), ("said", "game 3: cannot link")] and r.txs == []
