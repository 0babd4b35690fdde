"""Every dishonest strategy loses for the cheater, on anvil, played by the real agents.

Each test posts a fresh task and runs the agents' own decision loop (`drive`, the daemons' tick
in one process) until every result is settled; then it checks who won, which node phase 2
found and where the bonds went. Timeouts are reached by advancing anvil's clock.
"""

from __future__ import annotations

import pytest

from offchain.agents.agent import Challenger, Submitter, drive
from offchain.agents.chain import head_number
from offchain.agents.requester import Terms, encode_input, outcome, post_task, settled
from offchain.agents.strategy import CHALLENGER_STRATEGIES, SUBMITTER_STRATEGIES, Strategy
from offchain.agents.views import GameView, ResultStatus, Stage

TERMS = Terms()
PROMPT, N_NEW = "RO", 3  # (2 + 3 − 1) · 72 = 288 nodes


def _post(world, model: str = "shakespeare") -> tuple[int, int]:  # type: ignore[no-untyped-def]
    entry = world.catalog.named(model)
    start = head_number(world.system(world.accounts[1]).tasks.backend) + 1
    data = encode_input(entry, PROMPT) if model == "shakespeare" else bytes(range(196)) * 4
    return post_task(world.system(world.accounts[1]), entry, data, N_NEW if model == "shakespeare" else 1, TERMS), start


def _settled(world, task_id: int):  # type: ignore[no-untyped-def]
    return lambda: settled(world.system(world.accounts[0]), task_id)


def _agents(world, start: int, sub: str | None, chal: str | None, sub_acct: int = 2, chal_acct: int = 3):  # type: ignore[no-untyped-def]
    s = Submitter(world.system(world.accounts[sub_acct]), world.catalog, world.store("submitter"),
                  Strategy.parse(sub, SUBMITTER_STRATEGIES), say=lambda m: None, from_block=start)
    c = Challenger(world.system(world.accounts[chal_acct]), world.catalog, world.store("challenger"),
                   Strategy.parse(chal, CHALLENGER_STRATEGIES), say=lambda m: None, from_block=start)
    return s, c


def _play(world, s, c, task_id: int) -> None:  # type: ignore[no-untyped-def]
    """Drive both until settled, advancing the clock past a silent party's time when both idle."""
    done = _settled(world, task_id)
    for _ in range(4):
        drive([s, c], done)
        if done():
            return
        world.chain.increase_time(TERMS.clock + 1)
    raise AssertionError("the game did not settle")


def _game(world, start: int) -> tuple[int, GameView]:  # type: ignore[no-untyped-def]
    games = world.system(world.accounts[0]).games
    opened = games.events("GameOpened", start)
    assert opened, "no game was opened"
    gid = opened[-1]["gameId"]
    return gid, GameView.of(games.call("game", gid))


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
    assert not world.system(world.accounts[0]).games.events("GameOpened", start), "no game was needed"
    assert world.credits(world.accounts[3]) - before == TERMS.submitter_bond // 2


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
    world.chain.increase_time(TERMS.window + 1)
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
