"""Every dishonest strategy loses for the cheater, on anvil, played by the real agents.

Each test posts a fresh task and runs the agents' own decision loop (`drive`, the daemons' tick
in one process) until every result is settled; then it checks who won, which node phase 2
found and where the bonds went. Timeouts are reached by advancing anvil's clock.
"""

from __future__ import annotations

import pytest

from offchain.agents.agent import Challenger, Submitter, drive
from offchain.agents.requester import Terms, encode_input, outcome, post_task, settled
from offchain.chain.client import head_number
from offchain.chain.views import GameView, ResultStatus, Stage, TaskView
from offchain.constants import CLOCK_INCREMENT
from offchain.game.bounds import max_moves, min_clock, min_window
from offchain.testing.strategies import challenger, submitter

TERMS = Terms()
PROMPT, N_NEW = "RO", 3  # (2 + 3 − 1) · 72 = 288 nodes


def _post(world, model: str = "shakespeare") -> tuple[int, int]:  # type: ignore[no-untyped-def]
    entry = world.catalog.named(model)
    start = head_number(world.system(world.accounts[1]).tasks.backend) + 1
    data = encode_input(entry, PROMPT) if model == "shakespeare" else bytes(range(196)) * 4
    return post_task(world.system(world.accounts[1]), entry, data, N_NEW if model == "shakespeare" else 1, TERMS), start


def _task(world, task_id: int) -> TaskView:  # type: ignore[no-untyped-def]
    return world.system(world.accounts[0]).tasks.task(task_id)


def _settled(world, task_id: int):  # type: ignore[no-untyped-def]
    return lambda: settled(world.system(world.accounts[0]), task_id)


def _agents(world, start: int, sub: str | None, chal: str | None, sub_acct: int = 2, chal_acct: int = 3):  # type: ignore[no-untyped-def]
    s = Submitter(world.system(world.accounts[sub_acct]), world.catalog, world.store("submitter"),
                  say=lambda m: None, from_block=start, solver=submitter(sub))
    c = Challenger(world.system(world.accounts[chal_acct]), world.catalog, world.store("challenger"),
                   say=lambda m: None, from_block=start, solver=challenger(chal))
    return s, c


def _play(world, s, c, task_id: int) -> None:  # type: ignore[no-untyped-def]
    """Drive both until settled, advancing the clock past a silent party's time when both idle."""
    done = _settled(world, task_id)
    tv = _task(world, task_id)
    # A party's whole budget: its clock plus an increment per move it can make (SPEC §6.4).
    budget = tv.clock + max_moves(tv.nodes, 48) * CLOCK_INCREMENT
    for _ in range(4):
        drive([s, c], done)
        if done():
            return
        world.chain.increase_time(budget + 1)
    raise AssertionError("the game did not settle")


def _game(world, start: int) -> tuple[int, GameView]:  # type: ignore[no-untyped-def]
    games = world.system(world.accounts[0]).games
    opened = games.events("GameOpened", start)
    assert opened, "no game was opened"
    gid = opened[-1]["gameId"]
    return gid, games.game(gid)


@pytest.mark.parametrize("strategy", ["wrong-node:150", "bogus-final:150", "steps-short:150", "steps-long:150",
                                      "lie-mid1:150", "wrong-node:10"])
def test_a_lie_at_one_node_loses_in_the_vm(world, strategy: str) -> None:  # type: ignore[no-untyped-def]
    task_id, start = _post(world)
    s, c = _agents(world, start, strategy, None)
    before = world.credits(world.accounts[3])
    _play(world, s, c, task_id)
    gid, g = _game(world, start)
    assert g.stage == Stage.CHALLENGER_WON
    node = int(strategy.split(":")[1])
    assert g.node == node, "phase 2 must find exactly the lying node"
    steps = world.system(world.accounts[0]).games.events("StepVerified", start)
    assert [e["gameId"] for e in steps] == [gid], "MIPS.step decided"
    assert world.credits(world.accounts[3]) - before == TERMS.challenger_bond + TERMS.submitter_bond // 2


@pytest.mark.parametrize("strategy", ["inconsistent:150", "lie-mid2:150", "silent:150"])
def test_a_submitter_that_cannot_link_or_stops_loses_on_time(world, strategy: str) -> None:  # type: ignore[no-untyped-def]
    task_id, start = _post(world)
    s, c = _agents(world, start, strategy, None)
    _play(world, s, c, task_id)
    _, g = _game(world, start)
    assert g.stage == Stage.CHALLENGER_WON
    resolved = world.system(world.accounts[0]).games.events("GameResolved", start)
    assert resolved[-1]["reason"] == 1, "won by timeout"


def test_a_wrong_token_with_the_honest_commitment_falls_to_the_token_proof(world) -> None:  # type: ignore[no-untyped-def]
    task_id, start = _post(world)
    s, c = _agents(world, start, "wrong-token:1", None)
    before = world.credits(world.accounts[3])
    _play(world, s, c, task_id)
    _, results = outcome(world.system(world.accounts[0]), task_id)
    assert results[-1][1].status == ResultStatus.REJECTED
    # The proof is bound to the watcher's own game (M-2), which it then abandons for a refund.
    opened = world.system(world.accounts[0]).games.events("GameOpened", start)
    assert [e["challenger"].lower() for e in opened] == [world.accounts[3].lower()]
    assert [tx.fn for tx in c.txs if tx.fn != "respond"] == ["challenge", "proveTokenMismatch", "abandon"]
    assert world.credits(world.accounts[3]) - before == TERMS.submitter_bond // 2 + TERMS.challenger_bond


@pytest.mark.parametrize("strategy", ["contrarian", "silent"])
def test_a_dishonest_challenger_loses_against_an_honest_submitter(world, strategy: str) -> None:  # type: ignore[no-untyped-def]
    task_id, start = _post(world)
    s, c = _agents(world, start, None, strategy)
    before = world.credits(world.accounts[2])
    _play(world, s, c, task_id)
    _, g = _game(world, start)
    assert g.stage == Stage.SUBMITTER_WON
    tv, _ = outcome(world.system(world.accounts[0]), task_id)
    # The challenger's bond goes to the submitter; if the clock passed the window, it also finalized.
    paid = TERMS.reward + TERMS.submitter_bond if tv.status.name == "FINALIZED" else 0
    assert world.credits(world.accounts[2]) - before == TERMS.challenger_bond + paid


def test_the_honest_result_finalizes_and_pays_the_reward(world) -> None:  # type: ignore[no-untyped-def]
    task_id, start = _post(world)
    s, c = _agents(world, start, None, None)
    before = world.credits(world.accounts[2])
    drive([s, c], lambda: False, limit=3)
    assert [tx.fn for tx in s.txs] == ["commitResult", "revealResult"], "commit, then reveal a block later"
    world.chain.increase_time(_task(world, task_id).window + 1)
    drive([s, c], lambda: False, limit=3)
    tv, results = outcome(world.system(world.accounts[0]), task_id)
    assert tv.status.name == "FINALIZED" and results[-1][1].status == ResultStatus.FINALIZED
    assert world.credits(world.accounts[2]) - before == TERMS.reward + TERMS.submitter_bond
    assert not world.system(world.accounts[0]).games.events("GameOpened", start)


def test_a_self_challenging_liar_recovers_at_most_half_its_bond(world) -> None:  # type: ignore[no-untyped-def]
    """The liar also challenges its own wrong result from a second account, racing the watcher."""
    task_id, start = _post(world)
    liar, watcher = _agents(world, start, "wrong-node:150", None)
    accomplice = Challenger(world.system(world.accounts[5]), world.catalog, world.store("challenger"),
                            say=lambda m: None, from_block=start)
    cheater = [world.accounts[2], world.accounts[5]]
    spent = TERMS.submitter_bond + TERMS.challenger_bond
    before = sum(world.credits(a) for a in cheater)
    done = _settled(world, task_id)
    drive([liar, accomplice, watcher], done)
    assert done()
    recovered = sum(world.credits(a) for a in cheater) - before
    assert recovered <= spent - TERMS.submitter_bond // 2
    # The honest watcher loses nothing: it won, or its game was refunded.
    assert world.credits(world.accounts[3]) >= TERMS.challenger_bond


def test_agents_refuse_terms_they_cannot_defend_and_say_why(world) -> None:  # type: ignore[no-untyped-def]
    """H-1 (SPEC §6.10): a submitter slower than the protocol's latency refuses a task whose clock
    is only the registry's floor, and a watcher slower than the protocol's re-run rate does not
    take on a result whose window it cannot re-run in; each says so in one line."""
    task_id, start = _post(world)
    entry = world.catalog.named("shakespeare")
    tv = _task(world, task_id)
    assert tv.clock == min_clock(tv.nodes, entry.spec.stepCap), "the default terms are the registry's floors"
    assert tv.window == min_window(tv.nodes, entry.spec.stepCap)
    said: list[str] = []
    slow = Submitter(world.system(world.accounts[6]), world.catalog, world.store("slow-submitter"),
                     say=said.append, from_block=start, latency=60)
    slow.tick()
    assert world.system(world.accounts[0]).tasks.call("resultOf", task_id, world.accounts[6]) == 0
    assert said == [f"task {task_id}: refused: its {tv.clock} s clock cannot cover "
                    f"{max_moves(tv.nodes, entry.spec.stepCap)} moves at 60 s each "
                    f"({min_clock(tv.nodes, entry.spec.stepCap, 60)} s)"]
    # An honest submitter at the protocol's latency takes it; a watcher re-running 2^12 times
    # slower than the protocol assumes declines to watch the result.
    s, _ = _agents(world, start, "wrong-node:10", None)
    s.tick()
    said.clear()
    watcher = Challenger(world.system(world.accounts[7]), world.catalog, world.store("slow-watcher"),
                         say=said.append, from_block=start, rerun_rate=4096)
    assert watcher.tick() == 0
    assert len(said) == 1 and said[0].endswith(f"({min_window(tv.nodes, entry.spec.stepCap, 4096)} s)")
    assert "not watched: its" in said[0]
    assert not world.system(world.accounts[0]).games.events("GameOpened", start)


def test_a_soft_final_lie_proven_wrong_slashes_every_agreeing_submitter(world) -> None:  # type: ignore[no-untyped-def]
    """SPEC §6.11 with the real agents: two colluding members reveal the same lie, so the quorum
    task is soft-final on it; the watcher disproves it by MIPS.step on one result and slashes the
    other, and both liars lose their bonds."""
    from offchain.agents.requester import soft_final

    entry = world.catalog.named("shakespeare")
    start = head_number(world.system(world.accounts[1]).tasks.backend) + 1
    task_id = post_task(world.system(world.accounts[1]), entry, encode_input(entry, PROMPT), N_NEW,
                        Terms(quorum=2))
    liars = [Submitter(world.system(world.accounts[a]), world.catalog, world.store(f"colluder{a}"),
                       say=lambda m: None, from_block=start, solver=submitter("wrong-node:150"))
             for a in (10, 11)]
    for liar in liars:
        liar.tick()
    tasks = world.system(world.accounts[0]).tasks
    assert soft_final(world.system(world.accounts[0]), task_id) is not None, "two agreeing members"
    said: list[str] = []
    watcher = Challenger(world.system(world.accounts[3]), world.catalog, world.store("challenger"),
                         say=said.append, from_block=start)
    before = [world.credits(world.accounts[a]) for a in (10, 11)]
    _play(world, liars[0], watcher, task_id)
    drive([*liars, watcher], _settled(world, task_id))
    _, results = outcome(world.system(world.accounts[0]), task_id)
    assert [r.status for _, r, _ in results] == [ResultStatus.REJECTED, ResultStatus.REJECTED]
    assert [world.credits(world.accounts[a]) for a in (10, 11)] == before, "neither liar gets anything back"
    assert tasks.call("softFinal", task_id)[0] is False
    # One MIPS.step disproved the claim; the other result fell to slashDisproven, not a second game.
    assert len(world.system(world.accounts[0]).games.events("StepVerified", start)) == 1
    assert sum("proven wrong on another result; slashing it" in m for m in said) == 1
