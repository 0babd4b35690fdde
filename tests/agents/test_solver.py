"""The honest player's rules, one table each, without a chain: typed views and a made-up trace in,
actions out (`offchain/agents/solver.py`). The same rules played on anvil: test_strategies.py."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from offchain.agents.solver import (
    Abandon,
    Challenge,
    ChallengerSolver,
    Commit,
    Finalize,
    GiveUp,
    Move,
    ProveTokenMismatch,
    Refuse,
    ReleaseBond,
    Respond,
    Reveal,
    Revealed,
    Settling,
    SlashDisproven,
    Step,
    SubmitterSolver,
    Timeout,
    Transition,
    Withdraw,
    withdraw,
)
from offchain.agents.trace import TraceProvider
from offchain.chain.views import GameView, ResultStatus, ResultView, Stage, TaskStatus, TaskView
from offchain.constants import REVEAL_PERIOD
from offchain.game.bounds import min_clock
from offchain.game.phase1 import StepWitness
from offchain.mipsemu import hash_packed
from tests.agents.fakes import (
    NODES,
    NOW,
    PAST,
    POST,
    PRE,
    PROOF,
    STEP_CAP,
    WRONG_TOKENS,
    FakeTrace,
    game,
    h,
    result,
    revealed,
    task,
)

# -- the submitter's moves in a game ------------------------------------------------------------------

SUBMITTER = SubmitterSolver()


@pytest.mark.parametrize("level,lo,hi,node,asked", [
    (0, 0, 288, 0, "phase2(144)"),      # phase 2: S_k at the midpoint of the nodes
    (0, 144, 288, 0, "phase2(216)"),
    (0, 150, 152, 0, "phase2(151)"),
    (0, 7, 10, 0, "phase2(8)"),         # the midpoint rounds down
    (1, 0, 9001, 150, "phase1(150,4500)"),  # phase 1: node 150's state after k steps
    (1, 4500, 4502, 150, "phase1(150,4501)"),
])
def test_the_submitter_posts_its_claim_at_the_midpoint(level: int, lo: int, hi: int, node: int, asked: str) -> None:
    t = FakeTrace()
    g = game(level=level, lo=lo, hi=hi, node=node, round=5)
    acts = SUBMITTER.move(4, g, NOW, t)
    mid = (lo + hi) // 2
    claim = h(f"S{mid}") if level == 0 else h(f"node{node}:{mid}")
    assert acts == [Move(4, 5, level, claim)]
    assert t.asked == [asked]


@pytest.mark.parametrize("elapsed,expected", [(499, []), (500, []), (501, [Timeout])])
def test_the_submitter_waits_for_the_challenger_and_claims_its_clock_once_run_out(elapsed: int, expected: list) -> None:
    g = game(mid_pending=True, last_move=NOW - elapsed, challenger_clock=500, submitter_clock=0)
    assert [type(a) for a in SUBMITTER.move(4, g, NOW, FakeTrace())] == expected


def test_the_submitter_never_claims_a_timeout_on_its_own_move() -> None:
    for g in (game(last_move=0, submitter_clock=1),
              game(stage=Stage.TRANSITION, lo=150, hi=151, last_move=0, submitter_clock=1, challenger_clock=0)):
        assert g.overdrawn(NOW)
        assert [type(a) for a in SUBMITTER.move(4, g, NOW, FakeTrace())] in ([Move], [Transition])


def test_the_submitter_proves_the_transition_of_the_node_phase_two_ended_on() -> None:
    g = game(stage=Stage.TRANSITION, lo=150, hi=151, round=9)
    [a] = SUBMITTER.move(4, g, NOW, FakeTrace())
    assert isinstance(a, Transition) and (a.game, a.round, a.node, a.proof) == (4, 9, 150, ("proof", 150))
    assert "node 150 (matmul)" in a.note


def test_the_submitter_gives_up_a_node_its_claims_cannot_link() -> None:
    g = game(stage=Stage.TRANSITION, lo=150, hi=151)
    assert SUBMITTER.move(4, g, NOW, FakeTrace(unlinkable={150})) == [
        GiveUp(4, note="game 4: cannot link node 150: the claims do not link")]


@pytest.mark.parametrize("lo_hash,hi_hash,steps", [
    (hash_packed(PRE), POST, True),     # both ends are its own claims: the step proves hi from lo
    (hash_packed(PRE), h("x"), False),  # the step would not reach the claimed hi
    (h("x"), POST, False),              # the agreed lo is not its pre-state
])
def test_the_submitter_steps_only_when_its_witness_joins_both_ends(lo_hash: bytes, hi_hash: bytes, steps: bool) -> None:
    g = game(stage=Stage.STEP, level=1, node=150, lo=41, hi=42, lo_hash=lo_hash, hi_hash=hi_hash)
    acts = SUBMITTER.move(4, g, NOW, FakeTrace())
    if steps:
        assert acts == [Step(4, StepWitness(41, PRE, b"proof", b"compact", POST), note=acts[0].note)]
    else:
        assert acts == []


# -- the submitter's tasks and results ----------------------------------------------------------------


def _never() -> TraceProvider:
    raise AssertionError("the trace is not needed to refuse or skip a task")


@pytest.mark.parametrize("view,latency,expected", [
    (task(), 30, Commit),                                         # the floor clock covers the protocol's latency
    (task(), 60, Refuse),                                         # not a slower submitter's
    (task(clock=min_clock(NODES, STEP_CAP, 60)), 60, Commit),     # unless the task pays for it
    (task(deadline=NOW - 1), 30, None),                           # too late to post
    (task(status=TaskStatus.FINALIZED), 30, None),
    (task(status=TaskStatus.REFUNDED), 30, None),
])
def test_the_submitter_commits_to_a_task_only_if_it_can_defend_its_clock(view: TaskView, latency: int,
                                                                       expected: type | None) -> None:
    t = FakeTrace()
    acts = SUBMITTER.answer(7, view, STEP_CAP, NOW, (lambda: t) if expected is Commit else _never, latency)
    assert [type(a) for a in acts] == ([expected] if expected else [])
    if expected is Commit:
        assert acts == [Commit(7, t.tokens, h(f"S{NODES}"), view.submitter_bond, note=acts[0].note)]
        assert acts[0].note.startswith("task 7: committing to an honest result, S_n = 0x")
    if expected is Refuse:
        assert acts[0].note.startswith("task 7: refused: its ") and "at 60 s each" in acts[0].note


@pytest.mark.parametrize("res,tv,facts,expected", [
    (result(status=ResultStatus.COMMITTED, committed_at=NOW - REVEAL_PERIOD + 1), task(), {}, Reveal),
    (result(status=ResultStatus.COMMITTED, committed_at=NOW - REVEAL_PERIOD), task(), {}, None),  # too late
    (result(submitted_at=NOW - task().window), task(), {}, Finalize),       # the window has passed
    (result(submitted_at=NOW - task().window + 1), task(), {}, None),       # not yet
    (result(submitted_at=PAST, live_games=1), task(), {}, None),               # a game is live
    (result(submitted_at=PAST), task(), {"disproven": True}, None),            # proven wrong elsewhere: never
    (result(submitted_at=PAST), task(), {"earlier_pending": True}, None),      # the earlier one is paid
    (result(submitted_at=PAST), task(status=TaskStatus.FINALIZED), {}, ReleaseBond),
    (result(submitted_at=PAST), task(status=TaskStatus.REFUNDED), {}, None),
    (result(submitted_at=PAST, status=ResultStatus.REJECTED), task(), {}, None),
])
def test_the_submitter_reveals_in_its_period_then_finalizes_or_releases(res: ResultView, tv: TaskView,
                                                                      facts: dict, expected: type | None) -> None:
    t = FakeTrace()
    acts = SUBMITTER.settle(Settling(3, res, tv, **facts), NOW, lambda: t)
    assert [type(a) for a in acts] == ([expected] if expected else [])
    if expected is Reveal:
        assert acts == [Reveal(3, 7, t.tokens, h(f"S{NODES}"), note="result 3: revealing its commitment")]


# -- the challenger -----------------------------------------------------------------------------------

CHALLENGER = ChallengerSolver()


@pytest.mark.parametrize("level,mid_hash,agree", [
    (0, h("S144"), True),          # its own S_144: keep the upper half
    (0, h("S143"), False),
    (1, h("node150:4500"), True),  # its own state of node 150 after 4500 steps
    (1, h("node151:4500"), False),
])
def test_the_challenger_agrees_exactly_with_its_own_claim_at_the_midpoint(level: int, mid_hash: bytes, agree: bool) -> None:
    hi = NODES if level == 0 else 9001
    g = game(level=level, mid_pending=True, lo=0, hi=hi, node=150, mid_hash=mid_hash, round=6)
    assert CHALLENGER.move(4, g, NOW, FakeTrace()) == [Respond(4, 6, level, agree)]


@pytest.mark.parametrize("elapsed,expected", [(500, []), (501, [Timeout])])
def test_the_challenger_claims_the_submitters_clock_once_run_out(elapsed: int, expected: list) -> None:
    for g in (game(last_move=NOW - elapsed, submitter_clock=500, challenger_clock=0),
              game(stage=Stage.TRANSITION, lo=3, hi=4, last_move=NOW - elapsed, submitter_clock=500)):
        assert [type(a) for a in CHALLENGER.move(4, g, NOW, FakeTrace())] == expected


@pytest.mark.parametrize("lo_hash,hi_hash,steps", [
    (hash_packed(PRE), h("claimed"), True),  # it agrees with lo and disputes hi: MIPS.step decides
    (hash_packed(PRE), POST, False),         # the submitter's hi is right: nothing to step
    (h("x"), h("claimed"), False),           # not its agreed pre-state
])
def test_the_challenger_steps_when_the_claimed_post_state_is_not_its_own(lo_hash: bytes, hi_hash: bytes, steps: bool) -> None:
    g = game(stage=Stage.STEP, level=1, node=150, lo=41, hi=42, lo_hash=lo_hash, hi_hash=hi_hash, last_move=NOW)
    acts = CHALLENGER.move(4, g, NOW, FakeTrace())
    assert [type(a) for a in acts] == ([Step] if steps else [])
    if steps:
        assert acts[0] == Step(4, StepWitness(41, PRE, b"proof", b"compact", POST), note=acts[0].note)


@pytest.mark.parametrize("view,kw,expected", [
    (revealed(), {}, []),                                                          # it agrees
    (revealed(result=result(final_state=h("lie"))), {}, [Challenge]),              # S_n differs
    (revealed(result=result(final_state=h("lie")), my_game=9), {}, []),            # already its game
    (revealed(result=result(status=ResultStatus.REJECTED, final_state=h("lie"))), {}, []),
    (revealed(result=result(final_state=h("lie")), disproven=True), {"step_cap": None}, [SlashDisproven]),
    (revealed(result=result(final_state=h("lie"))), {"step_cap": None}, []),       # a model it does not serve
    (revealed(result=result(final_state=h("lie"), submitted_at=NOW - task().window)), {}, []),  # window over
    (revealed(result=result(final_state=h("lie"), submitted_at=NOW - task().window), my_game=9), {}, []),
    (revealed(result=result(final_state=h("lie"))), {"rerun_rate": 4096}, [Refuse]),  # cannot re-run in time
    (revealed(result=result(final_state=h("lie"))), {"rerun_rate": 4096, "refused": True}, []),  # said once
    (revealed(result=result(final_state=h("lie"))), {"trace": None}, []),          # cannot run the task
    (revealed(tokens=WRONG_TOKENS), {}, [Challenge]),                              # a game to bind the proof to
    (revealed(tokens=WRONG_TOKENS, my_game=9), {}, [ProveTokenMismatch]),          # then the token proof
])
def test_the_challenger_disputes_what_its_trace_disagrees_with(view: Revealed, kw: dict, expected: list) -> None:
    t = FakeTrace(bad_token=PROOF)
    args: dict[str, Any] = {"step_cap": STEP_CAP, "trace": t, **kw}
    acts = CHALLENGER.review(view, args.pop("step_cap"), NOW, args.pop("trace"), **args)
    assert [type(a) for a in acts] == expected
    if expected == [Challenge]:
        assert acts[0] == Challenge(2, view.task.challenger_bond, note=acts[0].note)
    if expected == [ProveTokenMismatch]:
        assert acts[0] == ProveTokenMismatch(2, WRONG_TOKENS, PROOF, note=acts[0].note)
        assert "bound to game 9" in acts[0].note


@pytest.mark.parametrize("g,pending,expected", [
    (game(), False, [Abandon(4, note="game 4: the result was already rejected; abandoning for a refund")]),
    (game(), True, []),
    (game(stage=Stage.SUBMITTER_WON), False, []),
])
def test_the_challenger_abandons_a_live_game_whose_result_fell(g: GameView, pending: bool, expected: list) -> None:
    assert CHALLENGER.abandon(4, g, pending) == expected


def test_credits_are_withdrawn_when_there_are_any() -> None:
    assert withdraw(0) == [] and withdraw(1) == [Withdraw()]


def test_every_action_is_plain_data() -> None:
    """Actions compare by value and cannot be changed after the solver made them."""
    a = Move(1, 2, 0, h("x"))
    assert a == Move(1, 2, 0, h("x")) and a != replace(a, round=3)
    with pytest.raises(AttributeError):
        a.round = 5  # type: ignore[misc]

