"""The submitter (`opml serve`) and challenger (`opml watch`) daemons.

Each `tick()` reads the chain, decides every move from chain state alone (as op-challenger does),
and sends what is due; nothing about a game lives only in memory, so a daemon killed and
restarted mid-game resumes where the chain is. The native traces are cached on disk (`Store`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import astuple, dataclass, field
from typing import Any

from offchain.agents.catalog import Catalog, Entry
from offchain.agents.chain import Bound, System, head_timestamp
from offchain.agents.store import Store
from offchain.agents.strategy import Plan, Strategy, plan_for
from offchain.agents.views import GameView, ResultStatus, ResultView, Stage, TaskStatus, TaskView
from offchain.constants import INCLUSION_LATENCY, RERUN_STEPS_PER_SECOND, REVEAL_PERIOD
from offchain.evm import ContractRevert
from offchain.game.bounds import commitment, max_moves, min_clock, min_window
from offchain.game.phase1 import NodeRun
from offchain.game.task import Claims, Task
from offchain.game.tokens import token_mismatch, tokens_bytes
from offchain.game.transition import build, node_run
from offchain.merkle import keccak
from offchain.mipsemu import hash_packed

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


@dataclass
class Agent:
    """Common to both daemons: the chain, the models, the trace store, the transaction log."""

    system: System
    catalog: Catalog
    store: Store
    strategy: Strategy = field(default_factory=Strategy)
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

    @property
    def me(self) -> str:
        return self.system.tasks.backend.sender.lower()

    def now(self) -> int:
        return head_timestamp(self.system.tasks.backend)

    def send(self, c: Bound, fn: str, *args: Any, value: int = 0, phase: str = "settle", game: int = 0) -> dict:
        t0 = time.perf_counter()
        receipt = c.send(fn, *args, value=value)
        t1 = time.perf_counter()
        self.txs.append(Tx(self.role, fn, phase, game, int(receipt["gasUsed"], 16), t1 - t0,
                           int(receipt["blockNumber"], 16), t1))
        self.store.log(f"{fn} game={game}", receipt["transactionHash"])
        return receipt

    def task_of(self, task_id: int) -> tuple[TaskView, Entry | None, Task | None]:
        """A task's view, its model entry and its honest trace (None if we do not run the model)."""
        tv = TaskView.of(self.system.tasks.call("task", task_id))
        entry = self.catalog.get(tv.model)
        if entry is None:
            return tv, None, None
        if task_id not in self.inputs:  # a task's input never changes: scan its event once
            ev = [e for e in self.system.tasks.events("TaskCreated", self.from_block) if e["taskId"] == task_id]
            if not ev:
                return tv, entry, None
            self.inputs[task_id] = (ev[0]["input"], ev[0]["newTokens"])
        data, n_new = self.inputs[task_id]
        return tv, entry, self.store.task(entry, data, n_new)

    def my_games(self, side: str) -> list[tuple[int, GameView]]:
        out = []
        for e in self.system.games.events("GameOpened", self.from_block):
            if e[side].lower() == self.me:
                g = GameView.of(self.system.games.call("game", e["gameId"]))
                if not g.stage.over:
                    out.append((e["gameId"], g))
        return out

    def claim_timeout(self, gid: int, g: GameView, opponent_moves: bool) -> bool:
        if opponent_moves and g.overdrawn(self.now()):
            self.say(f"game {gid}: the other side's clock ran out; claiming the timeout")
            self.send(self.system.games, "timeout", gid, phase="settle", game=gid)
            return True
        return False

    def withdraw(self) -> None:
        if self.system.tasks.call("credits", self.me):
            self.send(self.system.tasks, "withdraw")


def _phase(g: GameView) -> str:
    return "phase 2" if g.level == 0 else "phase 1"


@dataclass
class Submitter(Agent):
    """Posts results for the tasks of the models it serves and defends them in every game."""

    role: str = "submitter"
    plans: dict[int, Plan] = field(default_factory=dict)
    gave_up: set[int] = field(default_factory=set)

    def indefensible(self, tv: TaskView, entry: Entry) -> str | None:
        """Why this submitter cannot defend a task's clock at its own latency (None: it can)."""
        moves = max_moves(tv.nodes, entry.spec.stepCap)
        need = min_clock(tv.nodes, entry.spec.stepCap, self.latency)
        if tv.clock < need:
            return f"its {tv.clock} s clock cannot cover {moves} moves at {self.latency} s each ({need} s)"
        return None

    def salt(self, task_id: int) -> bytes:
        return self.store.salt(f"{self.system.tasks.address.lower()}:{task_id}")

    def plan(self, task_id: int) -> Plan | None:
        if task_id not in self.plans:
            _, _, task = self.task_of(task_id)
            if task is None:
                return None
            self.plans[task_id] = plan_for(task, self.strategy)
        return self.plans[task_id]

    def tick(self) -> int:
        """One pass: answer new tasks, move in every game, finalize, withdraw. Returns actions taken."""
        acted = 0
        tasks = self.system.tasks
        for e in tasks.events("TaskCreated", self.from_block):
            tid = e["taskId"]
            if tasks.call("resultOf", tid, self.me) or self.catalog.get(e["model"]) is None:
                continue
            tv = TaskView.of(tasks.call("task", tid))
            if tv.status != TaskStatus.OPEN or self.now() > tv.deadline or tid in self.refused:
                continue
            why = self.indefensible(tv, self.catalog.get(e["model"]))  # type: ignore[arg-type]
            if why:
                self.say(f"task {tid}: refused: {why}")
                self.refused.add(tid)
                continue
            plan = self.plan(tid)
            assert plan is not None
            self.say(f"task {tid}: committing to {'an honest' if self.strategy.honest else 'a ' + self.strategy.name} "
                     f"result, S_n = 0x{plan.final_state.hex()[:16]}…")
            c = commitment(tokens_bytes(plan.tokens), plan.final_state, self.me, self.salt(tid))
            self.send(tasks, "commitResult", tid, c, value=tv.submitter_bond, phase="result")
            acted += 1
        for gid, g in self.my_games("submitter"):
            acted += self.move(gid, g)
        for e in tasks.events("ResultCommitted", self.from_block):
            if e["submitter"].lower() != self.me:
                continue
            acted += self.settle(e["resultId"])
        return acted

    def settle(self, rid: int) -> int:
        """Reveal a mined commitment; finalize or release a result whose window has passed."""
        tasks = self.system.tasks
        r = ResultView.of(tasks.call("result", rid))
        tv = TaskView.of(tasks.call("task", r.task_id))
        now = self.now()
        if r.status == ResultStatus.COMMITTED and now < r.committed_at + REVEAL_PERIOD:
            # The commitment is mined, so this transaction lands in a later block (§6.3).
            plan = self.plan(r.task_id)
            assert plan is not None
            self.say(f"result {rid}: revealing its commitment")
            self.send(tasks, "revealResult", rid, tokens_bytes(plan.tokens), plan.final_state, self.salt(r.task_id),
                      phase="result")
            return 1
        if r.status != ResultStatus.PENDING or r.live_games or now < r.submitted_at + tv.window:
            return 0
        if tv.status == TaskStatus.FINALIZED:
            self.send(tasks, "releaseBond", rid)
            return 1
        if tv.status != TaskStatus.OPEN:
            return 0
        claim = keccak(r.tokens_hash + r.final_state)
        if int(tasks.call("disprover", r.task_id, claim), 16):
            return 0  # the claim was proven wrong on another result: it can never finalize (§6.11)
        earliest = int(tasks.call("earliestOf", r.task_id, claim))
        if earliest != rid and ResultView.of(tasks.call("result", earliest)).status == ResultStatus.PENDING:
            return 0  # an earlier commitment of the same claim is the one to be paid (§6.3)
        self.say(f"result {rid}: window passed with no live game; finalizing task {r.task_id}")
        self.send(tasks, "finalize", rid)
        return 1

    def move(self, gid: int, g: GameView) -> int:
        plan = self.plan(g.task_id)
        if plan is None or gid in self.gave_up:
            return 0
        if self.strategy.name == "silent" and g.round >= 8:
            return 0
        games = self.system.games
        if g.stage == Stage.BISECT and not g.mid_pending:
            claim = plan.phase2(g.mid) if g.level == 0 else plan.phase1(g.node, g.mid)
            self.send(games, "bisect", gid, g.round, claim, phase=_phase(g), game=gid)
            return 1
        if g.stage == Stage.TRANSITION:
            i = g.lo
            try:
                proof = build(plan.task, plan.claims, i, plan.final(i))
                self.say(f"game {gid}: phase 2 ended on node {i} ({plan.task.graph.descriptors[i % plan.task.graph.n_f].name}); "
                         f"proving the transition")
                self.send(games, "transition", gid, g.round, astuple(proof), phase="transition", game=gid)
                return 1
            except (ContractRevert, ValueError, IndexError) as e:
                self.say(f"game {gid}: cannot link node {i}: {e}")
                self.gave_up.add(gid)
                return 0
        if g.stage == Stage.STEP:
            w = plan.run(g.node).witness(g.lo)
            if hash_packed(w.pre_state) == g.lo_hash and w.post_hash == g.hi_hash:
                self.say(f"game {gid}: phase 1 ended on step {g.lo}; running it on chain")
                self.send(games, "step", gid, w.pre_state, w.proof_compact, True, phase="step", game=gid)
                return 1
        return int(self.claim_timeout(gid, g, not g.submitter_to_move))


@dataclass
class Challenger(Agent):
    """Re-runs every result of the models it watches and disputes any it disagrees with."""

    role: str = "challenger"
    runs: dict[tuple[int, int], NodeRun] = field(default_factory=dict)
    _honest: dict[int, Claims] = field(default_factory=dict)

    def honest(self, task_id: int, task: Task) -> Claims:
        """The honest claims of a task (its accumulator built once)."""
        if task_id not in self._honest:
            self._honest[task_id] = task.honest()
        return self._honest[task_id]

    def run(self, task: Task, task_id: int, i: int) -> NodeRun:
        if (task_id, i) not in self.runs:
            self.runs[(task_id, i)] = node_run(task, i)
        return self.runs[(task_id, i)]

    def tick(self) -> int:
        acted = 0
        tasks = self.system.tasks
        for e in tasks.events("ResultRevealed", self.from_block):
            rid = e["resultId"]
            r = ResultView.of(tasks.call("result", rid))
            if r.status != ResultStatus.PENDING:
                continue
            disprover = tasks.call("disprover", r.task_id, keccak(r.tokens_hash + r.final_state))
            if int(disprover, 16):  # an address: 0 until the claim is disproven
                self.say(f"result {rid}: its claim was proven wrong on another result; slashing it (SPEC §6.11)")
                self.send(tasks, "slashDisproven", rid, phase="settle")
                acted += 1
                continue
            mine = int(tasks.call("gameOf", rid, self.me))
            tv, entry, task = self.task_of(r.task_id)
            if entry is None or (not mine and self.now() >= r.submitted_at + tv.window):
                continue
            if not mine and rid not in self.refused and tv.window < min_window(tv.nodes, entry.spec.stepCap, self.rerun_rate):
                need = min_window(tv.nodes, entry.spec.stepCap, self.rerun_rate)
                self.say(f"result {rid}: not watched: its {tv.window} s window is shorter than re-running "
                         f"{tv.nodes} nodes at {self.rerun_rate} steps/s ({need} s)")
                self.refused.add(rid)
            if task is None or rid in self.refused:
                continue
            tokens = [int.from_bytes(e["tokens"][k:k + 4], "big") for k in range(0, len(e["tokens"]), 4)]
            honest = self.honest(r.task_id, task)
            contrarian = self.strategy.name in ("contrarian", "silent")
            if r.final_state == honest.final_state and tuple(tokens) == honest.tokens and not contrarian:
                continue
            if r.final_state == honest.final_state and not contrarian:
                p = token_mismatch(honest.accumulator, tokens, task.n_prompt, task.graph.n_f, task.graph.j_argmax)
                if p is not None and mine:
                    self.say(f"result {rid}: token {p.k} is not its own argmax leaf; token proof, bound to game {mine}")
                    self.send(tasks, "proveTokenMismatch", rid, e["tokens"], p.k, p.leaf, p.path, self.me, phase="challenge")
                    acted += 1
                    continue
                if p is not None:
                    # A token proof must name a challenger whose game is from an earlier block (§6.3).
                    self.say(f"result {rid}: token {p.k} is not its own argmax leaf; opening a game to bind the proof to")
                    self.send(tasks, "challenge", rid, value=tv.challenger_bond, phase="challenge")
                    acted += 1
                    continue
            if mine:
                continue
            self.say(f"result {rid}: S_n differs from ours (0x{honest.final_state.hex()[:16]}…); challenging")
            self.send(tasks, "challenge", rid, value=tv.challenger_bond, phase="challenge")
            acted += 1
        for gid, g in self.my_games("challenger"):
            acted += self.move(gid, g)
        for e in self.system.games.events("GameOpened", self.from_block):
            if e["challenger"].lower() != self.me:
                continue
            g = GameView.of(self.system.games.call("game", e["gameId"]))
            if not g.stage.over and not tasks.call("resultPending", g.result_id):
                self.say(f"game {e['gameId']}: the result was already rejected; abandoning for a refund")
                self.send(self.system.games, "abandon", e["gameId"], game=e["gameId"])
                acted += 1
        return acted

    def move(self, gid: int, g: GameView) -> int:
        _, _, task = self.task_of(g.task_id)
        if task is None:
            return 0
        if self.strategy.name == "silent" and g.round >= 4:
            return 0
        games = self.system.games
        if g.stage == Stage.BISECT and g.mid_pending:
            if self.strategy.name == "contrarian":
                agree = False
            elif g.level == 0:
                agree = self.honest(g.task_id, task).state(g.mid) == g.mid_hash
            else:
                agree = self.run(task, g.task_id, g.node).state_hash(g.mid) == g.mid_hash
            self.send(games, "respond", gid, g.round, agree, phase=_phase(g), game=gid)
            return 1
        if g.stage == Stage.STEP and self.strategy.honest:
            w = self.run(task, g.task_id, g.node).witness(g.lo)
            if hash_packed(w.pre_state) == g.lo_hash and w.post_hash != g.hi_hash:
                self.say(f"game {gid}: phase 1 ended on step {g.lo} of node {g.node}; MIPS.step decides")
                self.send(games, "step", gid, w.pre_state, w.proof_compact, True, phase="step", game=gid)
                return 1
        return int(self.claim_timeout(gid, g, g.submitter_to_move))


def drive(agents: list[Agent], done: Callable[[], bool], limit: int = 2000) -> None:
    """Tick every agent in turn until `done()` holds or nobody has anything left to do (the
    daemons' loop, in one process: demos and tests)."""
    for _ in range(limit):
        acted = sum(a.tick() for a in agents)
        if done() or not acted:
            return
    raise RuntimeError("the agents did not finish within the tick limit")


__all__ = ["Agent", "Challenger", "Submitter", "Tx", "PHASES", "drive"]
