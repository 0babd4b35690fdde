"""The dishonest players are the honest rules with one thing changed, each exactly where its
description says (offchain/testing); that each of them loses on chain is tests/agents/test_strategies.py.
No chain here: a real task's native trace (the shipped LLaMA, 288 nodes) and made-up views."""

from __future__ import annotations

import pytest

from offchain.agents.catalog import Catalog
from offchain.agents.requester import encode_input
from offchain.agents.solver import Challenge, ChallengerSolver, Move, Respond, SubmitterSolver
from offchain.agents.trace import TaskTrace
from offchain.chain.views import Stage
from offchain.game.task import Task, trace
from offchain.mipsemu import hash_packed
from offchain.testing.lies import garbage
from offchain.testing.strategies import (
    CHALLENGER_STRATEGIES,
    SUBMITTER_STRATEGIES,
    ContrarianChallenger,
    SilentChallenger,
    challenger,
    submitter,
)
from tests.agents.fakes import NOW, PRE, FakeTrace, game, h, revealed

LIE = 150


@pytest.fixture(scope="module")
def task() -> Task:
    entry = Catalog().named("shakespeare")
    data = encode_input(entry, "RO")
    return trace(entry.model, entry.graph, [int.from_bytes(data[k:k + 4], "big") for k in range(0, len(data), 4)], 3)


def test_the_command_line_names_every_strategy_and_refuses_others() -> None:
    assert type(submitter(None)) is SubmitterSolver and type(challenger(None)) is ChallengerSolver
    assert [submitter(n).name for n in SUBMITTER_STRATEGIES] == list(SUBMITTER_STRATEGIES)
    assert [challenger(n).name for n in CHALLENGER_STRATEGIES] == list(CHALLENGER_STRATEGIES)
    assert not any(submitter(n).honest for n in SUBMITTER_STRATEGIES)
    with pytest.raises(ValueError, match="unknown strategy 'lie-everywhere': one of wrong-token"):
        submitter("lie-everywhere")
    with pytest.raises(ValueError, match="the argument after ':' is an integer"):
        submitter("wrong-node:x")
    with pytest.raises(ValueError, match="unknown strategy"):
        challenger("wrong-node")


def test_a_wrong_answer_differs_from_the_honest_trace_from_its_node_on(task: Task) -> None:
    honest, lie = TaskTrace.honest(task), submitter(f"wrong-node:{LIE}").trace(task)
    assert [k for k in range(task.n + 1) if lie.phase2(k) != honest.phase2(k)] == list(range(LIE + 1, task.n + 1))
    assert lie.tokens != honest.tokens
    assert lie.token_proof(lie.tokens) is None, "its tokens agree with its own argmax leaves: no token proof"


@pytest.mark.parametrize("name,garbled", [
    ("inconsistent", lambda k, n: k > LIE),
    ("lie-mid2", lambda k, n: 0 < k < LIE),
])
def test_phase_two_lies_post_garbage_exactly_where_described(task: Task, name: str, garbled) -> None:  # type: ignore[no-untyped-def]
    base, lie = submitter(f"wrong-node:{LIE}").trace(task), submitter(f"{name}:{LIE}").trace(task)
    for k in range(task.n + 1):
        assert lie.phase2(k) == (garbage("S", k) if garbled(k, task.n) else base.phase2(k)), k


@pytest.mark.parametrize("name,regs_differ,delta", [("bogus-final", True, 0), ("steps-short", False, -1000),
                                                    ("steps-long", False, 1000), ("wrong-node", False, 0)])
def test_final_state_lies_change_only_the_corrupted_nodes_claim(task: Task, name: str, regs_differ: bool, delta: int) -> None:
    base, lie = TaskTrace(task, submitter(f"wrong-node:{LIE}").trace(task).claims), submitter(f"{name}:{LIE}").trace(task)
    honest, told = base.final(LIE), lie.final(LIE)
    assert told.step_count - honest.step_count == delta
    assert (told.regs != honest.regs) == regs_differ
    assert lie.final(LIE - 1).state_hash() == base.final(LIE - 1).state_hash(), "an honest node is told as it ran"


def test_lie_mid1_garbles_the_second_half_of_its_nodes_run(task: Task) -> None:
    base, lie = submitter(f"wrong-node:{LIE}").trace(task), submitter(f"lie-mid1:{LIE}").trace(task)
    steps = base.final(LIE).step_count
    for k in (0, steps // 2 - 1, steps // 2, steps - 1, steps, steps + 5):
        assert (lie.phase1(LIE, k) == garbage("step", k)) == (steps // 2 <= k < steps), k
        if not steps // 2 <= k < steps:
            assert lie.phase1(LIE, k) == base.phase1(LIE, k)


def test_a_wrong_token_keeps_the_honest_s_n_and_falls_to_the_token_proof(task: Task) -> None:
    honest, lie = TaskTrace.honest(task), submitter("wrong-token:1").trace(task)
    assert lie.final_state == honest.final_state
    assert [k for k, (a, b) in enumerate(zip(lie.tokens, honest.tokens)) if a != b] == [1]
    p = honest.token_proof(lie.tokens)
    assert p is not None and p.k == 1


def test_a_lie_at_a_node_outside_the_task_is_refused(task: Task) -> None:
    with pytest.raises(ValueError, match=f"node {task.n} is outside this task's {task.n} nodes"):
        submitter(f"wrong-node:{task.n}").trace(task)


def test_dishonest_challengers_dispute_everything_and_never_step() -> None:
    agreeing = revealed()  # the made-up trace's own S_n and tokens
    assert ChallengerSolver().review(agreeing, 48, NOW, FakeTrace()) == []
    for c in (ContrarianChallenger(), SilentChallenger()):
        assert [type(a) for a in c.review(agreeing, 48, NOW, FakeTrace())] == [Challenge]
        step = game(stage=Stage.STEP, level=1, lo=4, hi=5, lo_hash=hash_packed(PRE), hi_hash=h("x"), last_move=NOW)
        assert c.move(1, step, NOW, FakeTrace()) == []
    mine = game(mid_pending=True, mid_hash=h("S144"), round=2)  # the trace's own claim
    assert ChallengerSolver().move(1, mine, NOW, FakeTrace()) == [Respond(1, 2, 0, True)]
    assert ContrarianChallenger().move(1, mine, NOW, FakeTrace()) == [Respond(1, 2, 0, False)]
    assert SilentChallenger().move(1, mine, NOW, FakeTrace()) == [Respond(1, 2, 0, True)]


@pytest.mark.parametrize("solver,last_live", [(SilentChallenger(), 3), (submitter("silent:150"), 7)])
def test_silent_players_stop_moving_and_claiming(solver, last_live: int) -> None:  # type: ignore[no-untyped-def]
    pending = isinstance(solver, ChallengerSolver)
    for rnd in range(last_live + 3):
        g = game(mid_pending=pending, round=rnd)
        acts = solver.move(1, g, NOW, FakeTrace())
        assert [type(a) for a in acts] == ([Respond if pending else Move] if rnd <= last_live else []), rnd
        overdrawn = game(mid_pending=not pending, round=rnd, last_move=0)
        assert bool(solver.move(1, overdrawn, NOW, FakeTrace())) == (rnd <= last_live), "no timeout claimed either"

