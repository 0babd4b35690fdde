"""The submitter (`opml serve`) and challenger (`opml watch`) daemons: the loop.

Each `tick()` reads the chain into typed views, asks the solver what is due (`solver.py`: pure,
the honest rules) and has the responder send it (`responder.py`); nothing about a game lives
only in memory, so a daemon killed and restarted mid-game resumes where the chain is (as
op-challenger does). What an agent keeps is what is costly to recompute: the native traces
(cached on disk, `Store`) and the trace providers built on them, plus what it has already said.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from offchain.agents.catalog import Catalog, Entry
from offchain.agents.responder import PHASES, Responder, Tx
from offchain.agents.solver import (
    Action,
    ChallengerSolver,
    GiveUp,
    Refuse,
    Revealed,
    Settling,
    SubmitterSolver,
    Transition,
    withdraw,
)
from offchain.agents.store import Store
from offchain.agents.trace import TaskTrace, TraceProvider
from offchain.chain.client import System, head_timestamp
from offchain.chain.rpc import ContractRevert
from offchain.chain.views import GameView, ResultStatus, TaskView
from offchain.constants import INCLUSION_LATENCY, RERUN_STEPS_PER_SECOND
from offchain.game.task import AnyTask
from offchain.merkle import keccak


@dataclass
class Agent:
    """Common to both daemons: the chain, the models, the trace store, the transaction log."""

    system: System
    catalog: Catalog
    store: Store
    say: Callable[[str], None] = print
    txs: list[Tx] = field(default_factory=list)
    from_block: int = 0
    role: str = "agent"
    #: task id → (input, N) from its TaskCreated event
    inputs: dict[int, tuple[bytes, int]] = field(default_factory=dict)
    #: this agent's worst-case inclusion time per move, seconds (§6.8)
    latency: int = INCLUSION_LATENCY
    #: the MIPS steps per second this agent re-runs a task at (§6.8)
    rerun_rate: int = RERUN_STEPS_PER_SECOND
    #: tasks or results this agent said it will not take on (said once)
    refused: set[int] = field(default_factory=set)
    #: games whose claims this agent cannot prove: it stops moving in them
    gave_up: set[int] = field(default_factory=set)
    #: task id → the trace provider this agent plays from
    traces: dict[int, TraceProvider] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.responder = Responder(self.system, self.store, self.say, self.role, self.txs)

    @property
    def me(self) -> str:
        return self.system.tasks.backend.sender.lower()

    def now(self) -> int:
        return head_timestamp(self.system.tasks.backend)

    def act(self, actions: list[Action]) -> int:
        """Send the actions; returns the transactions sent. What the agent must remember of an
        action (a refusal said, a game given up) is kept here."""
        sent = 0
        for a in actions:
            if isinstance(a, Refuse):
                self.refused.add(a.key)
            elif isinstance(a, GiveUp):
                self.gave_up.add(a.game)
            try:
                sent += self.responder.perform(a)
            except ContractRevert as e:
                if not isinstance(a, Transition):
                    raise
                # The chain refuses the link: the claims cannot be proven, so stop moving (the
                # game is then lost on time, as it must be).
                self.say(f"game {a.game}: cannot link node {a.node}: {e}")
                self.gave_up.add(a.game)
        return sent

    def task_of(self, task_id: int) -> tuple[TaskView, Entry | None, AnyTask | None]:
        """A task's view, its model entry and its native run (None if we do not run the model)."""
        tv = self.system.tasks.task(task_id)
        entry = self.catalog.get(tv.model)
        if entry is None:
            return tv, None, None
        if task_id not in self.inputs:  # a task's input never changes: scan its event once
            ev = self.system.tasks.events("TaskCreated", self.from_block, taskId=task_id)
            if not ev:
                return tv, entry, None
            self.inputs[task_id] = (ev[0]["input"], ev[0]["newTokens"])
        data, n_new = self.inputs[task_id]
        return tv, entry, self.store.task(entry, data, n_new)

    def trace(self, task_id: int) -> TraceProvider | None:
        """The trace this agent plays a task from (built once), None if it cannot run the task."""
        if task_id not in self.traces:
            _, _, task = self.task_of(task_id)
            if task is None:
                return None
            self.traces[task_id] = self.trace_for(task)
        return self.traces[task_id]

    def trace_for(self, task: AnyTask) -> TraceProvider:
        return TaskTrace.honest(task)

    def my_games(self, side: str) -> list[tuple[int, GameView]]:
        """The live games this agent plays as `side` (the node filters a challenger's; the
        submitter is not an indexed field of GameOpened)."""
        out = []
        where = {"challenger": self.me} if side == "challenger" else {}
        for e in self.system.games.events("GameOpened", self.from_block, **where):
            if e[side].lower() == self.me:
                g = self.system.games.game(e["gameId"])
                if not g.stage.over:
                    out.append((e["gameId"], g))
        return out

    def withdraw(self) -> None:
        self.act(withdraw(int(self.system.tasks.call("credits", self.me))))


def _needs_trace(trace: TraceProvider | None) -> TraceProvider:
    if trace is None:  # only asked for tasks whose trace was already built
        raise RuntimeError("the task's input is not known to this agent")
    return trace


@dataclass
class Submitter(Agent):
    """Posts results for the tasks of the models it serves and defends them in every game."""

    role: str = "submitter"
    solver: SubmitterSolver = field(default_factory=SubmitterSolver)

    def trace_for(self, task: AnyTask) -> TraceProvider:
        return self.solver.trace(task)

    def tick(self) -> int:
        """One pass: answer new tasks, move in every game, reveal and finalize. Returns transactions sent."""
        acted = 0
        tasks = self.system.tasks
        for e in tasks.events("TaskCreated", self.from_block, model=[m.id for m in self.catalog.entries]):
            tid = e["taskId"]
            entry = self.catalog.get(e["model"])
            if tasks.call("resultOf", tid, self.me) or entry is None or tid in self.refused:
                continue
            tv = tasks.task(tid)
            acted += self.act(self.solver.answer(tid, tv, entry.spec.stepCap, self.now(),
                                                 lambda tid=tid: _needs_trace(self.trace(tid)), self.latency))
        for gid, g in self.my_games("submitter"):
            trace = self.trace(g.task_id)
            if trace is not None and gid not in self.gave_up:
                acted += self.act(self.solver.move(gid, g, self.now(), trace))
        for e in tasks.events("ResultCommitted", self.from_block, submitter=self.me):
            s = self.settling(e["resultId"])
            acted += self.act(self.solver.settle(s, self.now(), lambda s=s: _needs_trace(self.trace(s.result.task_id))))
        return acted

    def settling(self, rid: int) -> Settling:
        """The chain's facts about one of its results; the finalize ones only for a pending result."""
        tasks = self.system.tasks
        r = tasks.result(rid)
        tv = tasks.task(r.task_id)
        if r.status != ResultStatus.PENDING or r.live_games:
            return Settling(rid, r, tv)
        claim = keccak(r.tokens_hash + r.final_state)
        disproven = bool(int(tasks.call("disprover", r.task_id, claim), 16))
        earliest = int(tasks.call("earliestOf", r.task_id, claim))
        earlier = earliest != rid and tasks.result(earliest).status == ResultStatus.PENDING
        return Settling(rid, r, tv, disproven, earlier)


@dataclass
class Challenger(Agent):
    """Re-runs every result of the models it watches and disputes any it disagrees with."""

    role: str = "challenger"
    solver: ChallengerSolver = field(default_factory=ChallengerSolver)

    def trace_for(self, task: AnyTask) -> TraceProvider:
        return self.solver.trace(task)

    def tick(self) -> int:
        acted = 0
        tasks = self.system.tasks
        for e in tasks.events("ResultRevealed", self.from_block):
            rid = e["resultId"]
            r = tasks.result(rid)
            if r.status != ResultStatus.PENDING:
                continue
            disproven = bool(int(tasks.call("disprover", r.task_id, keccak(r.tokens_hash + r.final_state)), 16))
            if disproven:  # nothing else matters (and the task need not be run)
                view = Revealed(rid, r, tasks.task(r.task_id), e["tokens"], disproven)
                acted += self.act(self.solver.review(view, None, self.now(), None))
                continue
            mine = int(tasks.call("gameOf", rid, self.me))
            tv, entry, _ = self.task_of(r.task_id)
            trace = self.trace(r.task_id) if entry is not None else None
            view = Revealed(rid, r, tv, e["tokens"], disproven, mine)
            acted += self.act(self.solver.review(view, entry.spec.stepCap if entry else None, self.now(), trace,
                                                 rid in self.refused, self.rerun_rate))
        for gid, g in self.my_games("challenger"):
            trace = self.trace(g.task_id)
            if trace is not None:
                acted += self.act(self.solver.move(gid, g, self.now(), trace))
        for e in self.system.games.events("GameOpened", self.from_block, challenger=self.me):
            g = self.system.games.game(e["gameId"])
            if not g.stage.over:
                acted += self.act(self.solver.abandon(e["gameId"], g, tasks.call("resultPending", g.result_id)))
        return acted


def drive(agents: list[Agent], done: Callable[[], bool], limit: int = 2000) -> None:
    """Tick every agent in turn until `done()` holds or nobody has anything left to do (the
    daemons' loop, in one process: demos and tests)."""
    for _ in range(limit):
        acted = sum(a.tick() for a in agents)
        if done() or not acted:
            return
    raise RuntimeError("the agents did not finish within the tick limit")


__all__ = ["Agent", "Challenger", "Submitter", "Tx", "PHASES", "drive"]
