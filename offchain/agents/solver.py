"""Decide: the honest player's rules, as pure functions of what the chain shows, a trace and the time.

Each rule takes typed views of chain state (`views.py`), a trace provider (`trace.py`) and the
head's timestamp, and returns the actions due (dataclasses below); nothing here reads the chain or
sends anything (`responder.py` acts, `agent.py` loops). A dishonest player is a subclass that
overrides a rule, or an honest solver given a lying trace (offchain/testing), so these rules stay
the honest ones. The bisection arithmetic (which index a move is at, which side a response keeps)
is `offchain/game/bisect.py`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from offchain.agents.trace import TaskTrace, TraceProvider
from offchain.chain.views import GameView, ResultStatus, ResultView, Stage, TaskStatus, TaskView
from offchain.constants import INCLUSION_LATENCY, RERUN_STEPS_PER_SECOND, REVEAL_PERIOD
from offchain.game.bisect import Level, challenger_move, submitter_move
from offchain.game.bounds import max_moves, min_clock, min_window
from offchain.game.phase1 import StepWitness
from offchain.game.task import AnyTask
from offchain.game.tokens import TokenMismatch
from offchain.game.transition import TransitionProof
from offchain.mipsemu import hash_packed

# -- actions -----------------------------------------------------------------------------------------
# Each carries what its transaction needs and `note`, the line the agent says before sending it.


@dataclass(frozen=True)
class Action:
    note: str = field(default="", kw_only=True)


@dataclass(frozen=True)
class Refuse(Action):
    """Say once why a task (submitter) or a result (challenger) is not taken on; nothing is sent."""

    key: int


@dataclass(frozen=True)
class GiveUp(Action):
    """Stop moving in a game whose claims cannot be proven (it is then lost on time)."""

    game: int


@dataclass(frozen=True)
class Commit(Action):
    """commitResult: the commitment is made from these, the agent's address and its salt."""

    task_id: int
    tokens: tuple[int, ...]
    final_state: bytes
    bond: int


@dataclass(frozen=True)
class Reveal(Action):
    """revealResult of a mined commitment (with the task's salt)."""

    result_id: int
    task_id: int
    tokens: tuple[int, ...]
    final_state: bytes


@dataclass(frozen=True)
class Finalize(Action):
    result_id: int


@dataclass(frozen=True)
class ReleaseBond(Action):
    result_id: int


@dataclass(frozen=True)
class Move(Action):
    """bisect: the submitter's claim at the level's midpoint."""

    game: int
    round: int
    level: int
    claim: bytes


@dataclass(frozen=True)
class Respond(Action):
    """respond: the challenger agrees or not with the posted midpoint claim."""

    game: int
    round: int
    level: int
    agree: bool


@dataclass(frozen=True)
class Transition(Action):
    """transition: phase 2 ended on node `node`; link S_node to S_node+1 on chain."""

    game: int
    round: int
    node: int
    proof: TransitionProof


@dataclass(frozen=True)
class Step(Action):
    """step: MIPS.step runs the disputed instruction on chain."""

    game: int
    witness: StepWitness


@dataclass(frozen=True)
class Timeout(Action):
    """timeout: the other side's clock ran out; claim the game."""

    game: int


@dataclass(frozen=True)
class Challenge(Action):
    result_id: int
    bond: int


@dataclass(frozen=True)
class ProveTokenMismatch(Action):
    """proveTokenMismatch, bound to the challenger's own game on the result (SPEC §6.3)."""

    result_id: int
    tokens: bytes
    proof: TokenMismatch


@dataclass(frozen=True)
class SlashDisproven(Action):
    result_id: int


@dataclass(frozen=True)
class Abandon(Action):
    game: int


@dataclass(frozen=True)
class Withdraw(Action):
    pass


# -- what the solver is shown ------------------------------------------------------------------------


@dataclass(frozen=True)
class Settling:
    """A submitter's own result, and the facts a finalize depends on (read only for a pending one)."""

    result_id: int
    result: ResultView
    task: TaskView
    #: its claim was proven wrong on another result (SPEC §6.11)
    disproven: bool = False
    #: an earlier, still pending, commitment of the same claim is the one to be paid (§6.3)
    earlier_pending: bool = False


@dataclass(frozen=True)
class Revealed:
    """A revealed result, as a challenger sees it."""

    result_id: int
    result: ResultView
    task: TaskView
    tokens: bytes  # as revealed: 4 bytes per token
    disproven: bool = False
    #: the challenger's own game on this result (0: none)
    my_game: int = 0

    @property
    def token_list(self) -> tuple[int, ...]:
        return tuple(int.from_bytes(self.tokens[k:k + 4], "big") for k in range(0, len(self.tokens), 4))


def level_of(g: GameView) -> Level:
    """The game's current level as `offchain/game/bisect.py` plays it."""
    return Level(g.lo, g.hi, g.mid_pending, g.mid_hash)


def claims_of(g: GameView, trace: TraceProvider) -> Callable[[int], bytes]:
    """The trace's claims at this game's level: S_k in phase 2, node `g.node`'s steps in phase 1."""
    return trace.phase2 if g.level == 0 else partial(trace.phase1, g.node)


def timeout(gid: int, g: GameView, now: int, opponent_moves: bool) -> list[Action]:
    """Claim the game when the side to move is the other one and its clock has run out."""
    if opponent_moves and g.overdrawn(now):
        return [Timeout(gid, note=f"game {gid}: the other side's clock ran out; claiming the timeout")]
    return []


def withdraw(credits: int) -> list[Action]:
    return [Withdraw()] if credits else []


# -- the submitter -----------------------------------------------------------------------------------


class SubmitterSolver:
    """The honest submitter: post the trace's result for every task it can defend, defend it in
    every game, then reveal, finalize, release."""

    name = "honest"

    @property
    def honest(self) -> bool:
        return self.name == "honest"

    def trace(self, task: AnyTask) -> TraceProvider:
        """The trace it posts and defends: the task's honest one (a liar's differs)."""
        return TaskTrace.honest(task)

    @staticmethod
    def indefensible(tv: TaskView, step_cap: int, latency: int = INCLUSION_LATENCY) -> str | None:
        """Why a submitter whose moves take up to `latency` s to be mined cannot defend a task's
        clock (None: it can; SPEC §6.8)."""
        need = min_clock(tv.nodes, step_cap, latency)
        if tv.clock < need:
            return f"its {tv.clock} s clock cannot cover {max_moves(tv.nodes, step_cap)} moves at {latency} s each ({need} s)"
        return None

    def answer(self, task_id: int, tv: TaskView, step_cap: int, now: int, trace: Callable[[], TraceProvider],
               latency: int = INCLUSION_LATENCY) -> list[Action]:
        """A task it serves and has no result on: commit to the trace's result, or refuse it.
        `trace` is called only when the task is taken on (a native run can take minutes)."""
        if tv.status != TaskStatus.OPEN or now > tv.deadline:
            return []
        why = self.indefensible(tv, step_cap, latency)
        if why:
            return [Refuse(task_id, note=f"task {task_id}: refused: {why}")]
        t = trace()
        kind = "an honest" if self.honest else "a " + self.name
        return [Commit(task_id, t.tokens, t.final_state, tv.submitter_bond,
                       note=f"task {task_id}: committing to {kind} result, S_n = 0x{t.final_state.hex()[:16]}…")]

    def settle(self, s: Settling, now: int, trace: Callable[[], TraceProvider]) -> list[Action]:
        """Reveal a mined commitment in its reveal period; finalize, or release the bond of, a
        result whose window passed with no live game."""
        r, tv = s.result, s.task
        if r.status == ResultStatus.COMMITTED and now < r.committed_at + REVEAL_PERIOD:
            # The commitment is mined, so the reveal lands in a later block (SPEC §6.3).
            t = trace()
            return [Reveal(s.result_id, r.task_id, t.tokens, t.final_state,
                           note=f"result {s.result_id}: revealing its commitment")]
        if r.status != ResultStatus.PENDING or r.live_games or now < r.submitted_at + tv.window:
            return []
        if tv.status == TaskStatus.FINALIZED:
            return [ReleaseBond(s.result_id)]
        if tv.status != TaskStatus.OPEN or s.disproven or s.earlier_pending:
            return []
        return [Finalize(s.result_id,
                         note=f"result {s.result_id}: window passed with no live game; finalizing task {r.task_id}")]

    def move(self, gid: int, g: GameView, now: int, trace: TraceProvider) -> list[Action]:
        """Its move in a game on its result: a midpoint claim, the transition, the step, or a
        timeout when the challenger's clock ran out."""
        if g.stage == Stage.BISECT and not g.mid_pending:
            return [Move(gid, g.round, g.level, submitter_move(level_of(g), claims_of(g, trace)))]
        if g.stage == Stage.TRANSITION:
            i = g.lo
            try:
                proof = trace.transition(i)
            except (ValueError, IndexError) as e:
                return [GiveUp(gid, note=f"game {gid}: cannot link node {i}: {e}")]
            return [Transition(gid, g.round, i, proof,
                               note=f"game {gid}: phase 2 ended on node {i} ({trace.node_name(i)}); proving the transition")]
        if g.stage == Stage.STEP:
            w = trace.step(g.node, g.lo)
            # Its own claims are the interval's two ends; the step proves hi from lo.
            if hash_packed(w.pre_state) == g.lo_hash and w.post_hash == g.hi_hash:
                return [Step(gid, w, note=f"game {gid}: phase 1 ended on step {g.lo}; running it on chain")]
        return timeout(gid, g, now, not g.submitter_to_move)


# -- the challenger ----------------------------------------------------------------------------------


class ChallengerSolver:
    """The honest challenger: re-run every revealed result, dispute the ones its trace disagrees
    with (a game, or a token proof), play every game to its end, abandon a game whose result fell."""

    name = "honest"

    @property
    def honest(self) -> bool:
        return self.name == "honest"

    @staticmethod
    def unwatchable(tv: TaskView, step_cap: int, rerun_rate: int = RERUN_STEPS_PER_SECOND) -> str | None:
        """Why a result's window is too short for a challenger re-running `rerun_rate` MIPS steps
        a second to re-run its task (None: it is not; SPEC §6.8)."""
        need = min_window(tv.nodes, step_cap, rerun_rate)
        if tv.window < need:
            return f"its {tv.window} s window is shorter than re-running {tv.nodes} nodes at {rerun_rate} steps/s ({need} s)"
        return None

    def disputes(self, r: Revealed, trace: TraceProvider) -> bool:
        """Whether it disagrees with the result's S_n (a contrarian says yes to all)."""
        return r.result.final_state != trace.final_state

    def trace(self, task: AnyTask) -> TraceProvider:
        """The trace it checks results against: the task's honest one."""
        return TaskTrace.honest(task)

    def review(self, r: Revealed, step_cap: int | None, now: int, trace: TraceProvider | None, refused: bool = False,
               rerun_rate: int = RERUN_STEPS_PER_SECOND) -> list[Action]:
        """A revealed result: slash it if its claim was disproven elsewhere; refuse to watch it
        if its window is too short; else challenge it, or prove a token wrong, when its trace
        disagrees. `step_cap` is None for a model it does not serve, `trace` None when it cannot run
        the task; `refused` when the refusal was already said."""
        rid, res, tv = r.result_id, r.result, r.task
        if res.status != ResultStatus.PENDING:
            return []
        if r.disproven:
            return [SlashDisproven(rid, note=f"result {rid}: its claim was proven wrong on another result; slashing it "
                                   "(SPEC §6.11)")]
        if step_cap is None or (not r.my_game and now >= res.submitted_at + tv.window):
            return []
        if not r.my_game and not refused and (why := self.unwatchable(tv, step_cap, rerun_rate)):
            return [Refuse(rid, note=f"result {rid}: not watched: {why}")]
        if trace is None or refused:
            return []
        if not self.disputes(r, trace):
            if r.token_list == trace.tokens:
                return []
            p = trace.token_proof(r.token_list)
            if p is not None and r.my_game:
                return [ProveTokenMismatch(rid, r.tokens, p, note=f"result {rid}: token {p.k} is not its own argmax "
                                           f"leaf; token proof, bound to game {r.my_game}")]
            if p is not None:
                # A token proof must name a challenger whose game is from an earlier block (§6.3).
                return [Challenge(rid, tv.challenger_bond, note=f"result {rid}: token {p.k} is not its own argmax "
                                  "leaf; opening a game to bind the proof to")]
        if r.my_game:
            return []
        return [Challenge(rid, tv.challenger_bond,
                          note=f"result {rid}: S_n differs from ours (0x{trace.final_state.hex()[:16]}…); challenging")]

    def move(self, gid: int, g: GameView, now: int, trace: TraceProvider) -> list[Action]:
        """Its move in a game it opened: agree or not with the midpoint claim, step when phase 1
        ends on a step whose post-state it disputes, or a timeout when the submitter's clock ran out."""
        if g.stage == Stage.BISECT and g.mid_pending:
            return [Respond(gid, g.round, g.level, self.agree(g, trace))]
        if g.stage == Stage.STEP and (w := self.witness(g, trace)) is not None:
            return [Step(gid, w, note=f"game {gid}: phase 1 ended on step {g.lo} of node {g.node}; MIPS.step decides")]
        return timeout(gid, g, now, g.submitter_to_move)

    def agree(self, g: GameView, trace: TraceProvider) -> bool:
        return challenger_move(level_of(g), claims_of(g, trace))

    def witness(self, g: GameView, trace: TraceProvider) -> StepWitness | None:
        """The step to run on chain: its pre-state is the agreed lo, its post-state not the claimed hi."""
        w = trace.step(g.node, g.lo)
        return w if hash_packed(w.pre_state) == g.lo_hash and w.post_hash != g.hi_hash else None

    def abandon(self, gid: int, g: GameView, result_pending: bool) -> list[Action]:
        """A live game on a result that was rejected meanwhile: abandon it for a refund."""
        if g.stage.over or result_pending:
            return []
        return [Abandon(gid, note=f"game {gid}: the result was already rejected; abandoning for a refund")]
