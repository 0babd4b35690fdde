"""The dishonest strategies of test_strategies.py on a real chat model: SmolLM2-135M-Instruct
under spec v2 (SPEC §5.5), a greedy chat task of 37 prompt and 3 new tokens (39 positions × 832
nodes = 32,448), played by the real agents on anvil. Each lie loses as it does on the toy model.

`make test` plays a lie at one node (phase 2 must find exactly it, phase 1 the instruction,
MIPS.step decides) and a wrong token (the token proof); `make fuzz` (OPML_FUZZ=1) every strategy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import astuple

import pytest

from offchain.agents.agent import Challenger, Submitter, drive
from offchain.agents.catalog import Catalog
from offchain.agents.requester import Terms, encode_input, outcome, post_task, settled
from offchain.chain.client import head_number
from offchain.chain.deployment import deploy
from offchain.chain.views import ResultStatus, Stage
from offchain.constants import CLOCK_INCREMENT
from offchain.evm import Anvil, Chain
from offchain.game.bounds import max_moves
from offchain.llm.known_models import SMOLLM2
from offchain.testing.strategies import challenger, submitter
from tests.agents.conftest import World
from tests.budget import LONG_RUN

pytestmark = pytest.mark.skipif(not SMOLLM2.path().exists(), reason="SmolLM2 is not installed (make setup)")
TERMS = Terms()
QUESTION, N_NEW = "What is the capital of France?", 3
LONG = pytest.mark.skipif(not LONG_RUN, reason="~25 s a game: make fuzz (OPML_FUZZ=1)")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    state = tmp_path_factory.mktemp("smollm2")
    with Anvil(args=("--accounts", "8")) as node:
        chain = Chain(node)
        d = deploy(chain)
        catalog = Catalog(("smollm2",))
        d.models.send("register", astuple(catalog.entries[0].spec))
        dep = state / "deployment.json"
        dep.write_text(json.dumps({"contracts": d.addresses()}))
        yield World(node, chain, d, catalog, chain.accounts(), state, dep)


def _node(world: World, name: str, last: bool = True) -> int:
    """Global index of node `name` at the last position (or the first)."""
    e = world.catalog.entries[0]
    p = len(encode_input(e, QUESTION)) // 4
    return ((p + N_NEW - 2) if last else 0) * e.graph.n_f + e.graph.index(name)


def _play(world: World, sub: str | None, chal: str | None) -> tuple[int, int, Submitter, Challenger]:
    e = world.catalog.entries[0]
    start = head_number(world.system(world.accounts[1]).tasks.backend) + 1
    task_id = post_task(world.system(world.accounts[1]), e, encode_input(e, QUESTION), N_NEW, TERMS)
    s = Submitter(world.system(world.accounts[2]), world.catalog, world.store("submitter"), say=lambda m: None,
                  from_block=start, solver=submitter(sub))
    c = Challenger(world.system(world.accounts[3]), world.catalog, world.store("challenger"), say=lambda m: None,
                   from_block=start, solver=challenger(chal))
    tv = world.system(world.accounts[0]).tasks.task(task_id)
    budget = max(tv.clock + max_moves(tv.nodes, 48) * CLOCK_INCREMENT, tv.window)

    def done() -> bool:
        return settled(world.system(world.accounts[0]), task_id)

    for _ in range(4):
        drive([s, c], done)
        if done():
            return task_id, start, s, c
        world.chain.increase_time(budget + 1)
    raise AssertionError("the game did not settle")


def _game(world: World, start: int):  # type: ignore[no-untyped-def]
    games = world.system(world.accounts[0]).games
    gid = games.events("GameOpened", start)[-1]["gameId"]
    return gid, games.game(gid)


@pytest.mark.parametrize("strategy,node", [
    ("wrong-node", "blk.7.ffn_residual"),
    pytest.param("wrong-node", "logits[5]", marks=LONG), pytest.param("bogus-final", "blk.3.attn[2]", marks=LONG),
    pytest.param("steps-short", "blk.0.k_cache", marks=LONG), pytest.param("steps-long", "token", marks=LONG),
    pytest.param("lie-mid1", "blk.29.gate[0]", marks=LONG)])
def test_a_lie_at_one_node_of_a_chat_answer_loses_in_the_vm(world: World, strategy: str, node: str) -> None:
    lie = _node(world, node)
    before = world.credits(world.accounts[3])
    _, start, _, _ = _play(world, f"{strategy}:{lie}", None)
    gid, g = _game(world, start)
    assert g.stage == Stage.CHALLENGER_WON
    assert g.node == lie, "phase 2 must find exactly the lying node"
    steps = world.system(world.accounts[0]).games.events("StepVerified", start)
    assert [e["gameId"] for e in steps] == [gid], "MIPS.step decided"
    assert world.credits(world.accounts[3]) - before == TERMS.challenger_bond + TERMS.submitter_bond // 2


def test_a_wrong_token_with_the_honest_commitment_falls_to_the_token_proof(world: World) -> None:
    task_id, start, _, c = _play(world, "wrong-token:1", None)
    _, results = outcome(world.system(world.accounts[0]), task_id)
    assert results[-1][1].status == ResultStatus.REJECTED
    assert [tx.fn for tx in c.txs if tx.fn != "respond"] == ["challenge", "proveTokenMismatch", "abandon"]


@LONG
@pytest.mark.parametrize("strategy", ["inconsistent", "lie-mid2", "silent"])
def test_a_submitter_that_cannot_link_or_stops_loses_on_time(world: World, strategy: str) -> None:
    _, start, _, _ = _play(world, f"{strategy}:{_node(world, 'blk.7.ffn_residual')}", None)
    _, g = _game(world, start)
    assert g.stage == Stage.CHALLENGER_WON
    assert world.system(world.accounts[0]).games.events("GameResolved", start)[-1]["reason"] == 1, "won by timeout"


@LONG
@pytest.mark.parametrize("strategy", ["contrarian", "silent"])
def test_a_dishonest_challenger_loses_against_an_honest_submitter(world: World, strategy: str) -> None:
    _, start, _, _ = _play(world, None, strategy)
    _, g = _game(world, start)
    assert g.stage == Stage.SUBMITTER_WON
