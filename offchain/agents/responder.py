"""Act: the solver's actions as transactions (as op-challenger's responder does).

The responder encodes each action as its contract call, says the action's note first, sends it,
and records the transaction (`Tx`, for summaries and `opml status`) and its hash in the store's
journal. It decides nothing: what to send, and when, is the solver's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import astuple, dataclass, field
from typing import Any

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
from offchain.chain.client import Bound, System
from offchain.game.bounds import commitment
from offchain.game.tokens import tokens_bytes

#: Phases of the game for the summaries: which phase a move belongs to.
PHASES = ("result", "challenge", "phase 2", "transition", "phase 1", "step", "settle")


@dataclass
class Tx:
    """One transaction an agent sent, for summaries and `opml status`."""

    role: str
    fn: str
    phase: str
    game: int
    gas: int
    seconds: float
    block: int
    done_at: float = 0.0  # perf_counter when the receipt arrived (phase wall times in summaries)


def _level_phase(level: int) -> str:
    return "phase 2" if level == 0 else "phase 1"


@dataclass
class Responder:
    """Sends one agent's actions from its account."""

    system: System
    store: Store
    say: Callable[[str], None] = print
    role: str = "agent"
    txs: list[Tx] = field(default_factory=list)

    @property
    def me(self) -> str:
        return self.system.tasks.backend.sender.lower()

    def salt(self, task_id: int) -> bytes:
        """The salt of this agent's commitment on a task (kept in the store: a lost salt is a
        result that can never be revealed, SPEC §6.3)."""
        return self.store.salt(f"{self.system.tasks.address.lower()}:{task_id}")

    def perform(self, action: Action) -> int:
        """Say the action's note, then send its transaction; returns the transactions sent (0
        or 1). A call the chain would refuse raises ContractRevert and sends nothing."""
        if action.note:
            self.say(action.note)
        tasks, games = self.system.tasks, self.system.games
        match action:
            case Refuse() | GiveUp():
                return 0
            case Commit(task_id, tokens, final_state, bond):
                c = commitment(tokens_bytes(tokens), final_state, self.me, self.salt(task_id))
                self._send(tasks, "commitResult", task_id, c, value=bond, phase="result")
            case Reveal(rid, task_id, tokens, final_state):
                self._send(tasks, "revealResult", rid, tokens_bytes(tokens), final_state, self.salt(task_id),
                           phase="result")
            case ReleaseBond(rid):
                self._send(tasks, "releaseBond", rid)
            case Finalize(rid):
                self._send(tasks, "finalize", rid)
            case Move(gid, rnd, level, claim):
                self._send(games, "bisect", gid, rnd, claim, phase=_level_phase(level), game=gid)
            case Respond(gid, rnd, level, agree):
                self._send(games, "respond", gid, rnd, agree, phase=_level_phase(level), game=gid)
            case Transition(gid, rnd, _node, proof):
                self._send(games, "transition", gid, rnd, astuple(proof), phase="transition", game=gid)
            case Step(gid, w):
                self._send(games, "step", gid, w.pre_state, w.proof_compact, True, phase="step", game=gid)
            case Timeout(gid):
                self._send(games, "timeout", gid, phase="settle", game=gid)
            case Challenge(rid, bond):
                self._send(tasks, "challenge", rid, value=bond, phase="challenge")
            case ProveTokenMismatch(rid, tokens, p):
                self._send(tasks, "proveTokenMismatch", rid, tokens, p.k, p.leaf, p.path, self.me, phase="challenge")
            case SlashDisproven(rid):
                self._send(tasks, "slashDisproven", rid, phase="settle")
            case Abandon(gid):
                self._send(games, "abandon", gid, game=gid)
            case Withdraw():
                self._send(tasks, "withdraw")
            case _:
                raise TypeError(f"no transaction for {type(action).__name__}")
        return 1

    def _send(self, c: Bound, fn: str, *args: Any, value: int = 0, phase: str = "settle", game: int = 0) -> dict:
        t0 = time.perf_counter()
        receipt = c.send(fn, *args, value=value)
        t1 = time.perf_counter()
        self.txs.append(Tx(self.role, fn, phase, game, int(receipt["gasUsed"], 16), t1 - t0,
                           int(receipt["blockNumber"], 16), t1))
        self.store.log(f"{fn} game={game}", receipt["transactionHash"])
        return receipt
