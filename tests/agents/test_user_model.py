"""A user's own model, end to end on anvil through the CLI (issue 16, item 5): a small LLaMA-family
GGUF of another shape than SmolLM2, written here with `gguf`, is registered with `opml model
register` (a re-run is a no-op), asked a chat question with `opml request --model FILE`, answered
with a lie by `opml serve --dishonest`, and disputed by `opml watch` to a challenger win, phase 2
finding exactly the lying node."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from offchain.agents.catalog import load_entry
from offchain.agents.requester import encode_input
from offchain.chain.client import RpcBackend, System
from offchain.chain.deployment import deploy
from offchain.chain.views import Stage
from offchain.cli import main as opml_main
from offchain.evm import Anvil, Chain
from tests.llm.gguf_toy import write_toy_gguf


def _opml(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = opml_main(list(argv))
    return code, out.getvalue()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):  # type: ignore[no-untyped-def]
    d = tmp_path_factory.mktemp("user")
    path = write_toy_gguf(d / "mine.gguf", n_layers=2)
    with Anvil(args=("--accounts", "4")) as node:
        chain = Chain(node)
        dep = deploy(chain)
        file = d / "deployment.json"
        file.write_text(json.dumps({"contracts": dep.addresses()}))
        yield node, chain, dep, path, file, d


def test_a_users_gguf_is_registered_requested_lied_about_and_disputed(setup) -> None:  # type: ignore[no-untyped-def]
    node, chain, dep, path, file, d = setup
    rpc = ("--rpc", node.url, "--deployment", str(file))
    accounts = chain.accounts()
    code, out = _opml("model", "register", str(path), *rpc)
    entry = load_entry(str(path))
    assert code == 0 and f"id 0x{entry.id.hex()} (registered now)" in out
    code, out = _opml("model", "register", str(path), *rpc)
    assert code == 0 and "already registered" in out
    assert entry.spec.nF == 1 + 2 * 15 + 3 and entry.spec.context == 64  # no tiles at this size

    code, out = _opml("request", "--model", str(path), "--prompt", "hello", "--tokens", "2", *rpc, "--from", accounts[1])
    assert code == 0 and out.startswith("task 1:"), out
    p = len(encode_input(entry, "hello")) // 4  # the chat template around the message
    lie = (p + 2 - 2) * entry.spec.nF + entry.graph.index("blk.1.attn")  # the last position
    daemons = [("serve", "--dishonest", f"wrong-node:{lie}", "--from", accounts[2]), ("watch", "--from", accounts[3])]
    games = System.at(RpcBackend(node.rpc, accounts[0]), dep.addresses()).games
    for _ in range(40):
        before = node.rpc.request("eth_blockNumber")
        for role, *rest in daemons:
            code, _ = _opml(role, "--model", str(path), "--once", "--state", str(d / role), *rpc, *rest)
            assert code == 0
        opened = games.events("GameOpened", 0)
        if opened and games.game(opened[-1]["gameId"]).stage in (Stage.CHALLENGER_WON,
                                                                                        Stage.SUBMITTER_WON):
            break
        if node.rpc.request("eth_blockNumber") == before:  # nobody acted: let the clocks run
            chain.increase_time(3600)
    g = games.game(games.events("GameOpened", 0)[-1]["gameId"])
    assert g.stage == Stage.CHALLENGER_WON
    assert g.node == lie, "phase 2 finds exactly the lying node"
    assert games.events("StepVerified", 0), "MIPS.step decided"
