"""Made-up chain views and a made-up trace, for the solver's tests that run without a chain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from offchain.agents.solver import Revealed
from offchain.chain.views import GameView, ResultStatus, ResultView, Stage, TaskStatus, TaskView
from offchain.game.bounds import min_clock, min_window
from offchain.game.phase1 import StepWitness
from offchain.game.tokens import TokenMismatch, tokens_bytes
from offchain.merkle import keccak

SUB, CHAL = "0x" + "aa" * 20, "0x" + "cc" * 20
NODES, STEP_CAP = 288, 48
NOW = 10**10  # later than a whole window (min_window is ~4.8e9 s for these tasks)


def h(tag: str) -> bytes:
    return keccak(tag.encode())


PRE = bytes(range(256)) * 2  # a packed pre-state: only its hash_packed matters here
POST = h("post")


@dataclass
class FakeTrace:
    """A trace whose every claim is a distinct hash, so a test can tell which one was used."""

    tokens: tuple[int, ...] = (5, 6, 7)
    unlinkable: set[int] = field(default_factory=set)
    bad_token: TokenMismatch | None = None
    asked: list[str] = field(default_factory=list)

    @property
    def final_state(self) -> bytes:
        return self.phase2(NODES)

    def phase2(self, k: int) -> bytes:
        self.asked.append(f"phase2({k})")
        return h(f"S{k}")

    def phase1(self, i: int, k: int) -> bytes:
        self.asked.append(f"phase1({i},{k})")
        return h(f"node{i}:{k}")

    def transition(self, i: int) -> Any:
        if i in self.unlinkable:
            raise ValueError("the claims do not link")
        return ("proof", i)

    def step(self, i: int, k: int) -> StepWitness:
        return StepWitness(k, PRE, b"proof", b"compact", POST)

    def token_proof(self, tokens: Sequence[int]) -> TokenMismatch | None:
        return None if tuple(tokens) == self.tokens else self.bad_token

    def node_name(self, i: int) -> str:
        return "matmul"


def game(**kw: Any) -> GameView:
    base: dict[str, Any] = dict(stage=Stage.BISECT, level=0, mid_pending=False, round=3, last_move=NOW - 10,
                                submitter_clock=500, challenger_clock=500, challenger=CHAL, result_id=1,
                                submitter=SUB, task_id=7, lo=0, hi=NODES, node=0, lo_hash=h("lo"),
                                hi_hash=h("hi"), mid_hash=h("mid"))
    return GameView(**{**base, **kw})


def task(**kw: Any) -> TaskView:
    base: dict[str, Any] = dict(requester="0x01", status=TaskStatus.OPEN, prompt_length=2, new_tokens=3,
                                deadline=NOW + 3600, window=min_window(NODES, STEP_CAP),
                                clock=min_clock(NODES, STEP_CAP), nodes=NODES, pending_results=1, unrevealed=0,
                                winning_result=0, reward=10**17, vocab=65, submitter_bond=10**17,
                                challenger_bond=5 * 10**16, model=h("model"), input_root=h("input"))
    return TaskView(**{**base, **kw})


PAST = NOW - task().window - 1  # a result whose window has passed


def result(**kw: Any) -> ResultView:
    base: dict[str, Any] = dict(task_id=7, submitter=SUB, status=ResultStatus.PENDING, submitted_at=NOW - 100,
                                live_games=0, committed_block=5, committed_at=NOW - 200, first_live=0,
                                commitment=h("c"), final_state=h(f"S{NODES}"), tokens_hash=h("t"))
    return ResultView(**{**base, **kw})


TOKENS = tokens_bytes((5, 6, 7))
WRONG_TOKENS = tokens_bytes((5, 9, 7))
PROOF = TokenMismatch(1, h("leaf"), b"path", 217)


def revealed(**kw: Any) -> Revealed:
    base: dict[str, Any] = dict(result_id=2, result=result(), task=task(), tokens=TOKENS)
    return Revealed(**{**base, **kw})
