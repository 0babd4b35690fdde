"""`opml demo` (what `make demo` runs): real disputes, end to end, on a local anvil chain.

Story 1, two-phase, a real chat model: the requester asks SmolLM2-135M-Instruct (spec v2, the GGUF
`make setup` installs) a question; a dishonest submitter posts a result with one wrong intermediate
tensor (node I) and a different answer; the watcher re-runs it, challenges, phase 2 finds node I
among ~33,000, the transition is proven on chain, phase 1 finds one instruction and MIPS.step
decides; bonds move. Then an honest result for the same task finalizes after the window and the
requester reads the model's answer. `--model shakespeare` plays it on the shipped toy LLaMA.

Story 2, single-phase, the OPML demo's MNIST net: a wrong digit is posted and disproven in the VM.

Story 3, the quorum fast path (SPEC §6.11): the requester asks for three submitters; three honest
ones commit and reveal, and the task is soft-final at the last honest reveal; a fourth, lying,
submitter is no member and loses its bond in a game.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import astuple, dataclass, field
from pathlib import Path

from offchain.agents.agent import Challenger, Submitter, Tx, drive
from offchain.agents.catalog import Catalog
from offchain.agents.requester import (
    Terms,
    decode_tokens,
    encode_input,
    finalized_tokens,
    outcome,
    post_task,
    settled,
    soft_final,
)
from offchain.agents.solver import SubmitterSolver
from offchain.agents.store import Store
from offchain.chain.anvil import Anvil, Chain
from offchain.chain.client import RpcBackend, System
from offchain.chain.deployment import deploy
from offchain.chain.views import ResultStatus, Stage
from offchain.testing.strategies import LyingSubmitter

ETH = 10**18
DEFAULT_QUESTION = "What is the largest planet in the solar system?"


@dataclass
class Story:
    title: str
    model: str
    prompt: str | bytes
    n_new: int
    lie: SubmitterSolver
    txs: list[Tx] = field(default_factory=list)
    game: int = 0
    rounds: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    wall: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _credits(system: System, accounts: dict[str, str]) -> dict[str, int]:
    return {name: int(system.tasks.call("credits", a)) for name, a in accounts.items()}


def play_story(chain: Chain, system_at: Callable[[str], System], catalog: Catalog, story: Story, state: Path,
               accounts: dict[str, str], say: Callable[[str], None]) -> Story:
    entry = catalog.named(story.model)
    requester = system_at(accounts["requester"])
    data = encode_input(entry, story.prompt)
    t0 = time.perf_counter()
    task_id = post_task(requester, entry, data, story.n_new, Terms())
    say(f"  requester: task {task_id} on {entry.name}, {story.n_new} new token(s), reward 0.1 ETH")
    liar = Submitter(system_at(accounts["liar"]), catalog, Store(state / f"{story.model}-liar.sqlite"),
                     say=lambda m: say("  liar:      " + m), solver=story.lie)
    watcher = Challenger(system_at(accounts["watcher"]), catalog, Store(state / f"{story.model}-watcher.sqlite"),
                         say=lambda m: say("  watcher:   " + m))
    before = _credits(requester, accounts)
    games = requester.games

    def disputed() -> bool:
        return settled(requester, task_id) and any(tx.fn in ("challenge", "proveTokenMismatch") for tx in watcher.txs)

    drive([liar, watcher], disputed)
    story.txs = liar.txs + watcher.txs
    opened = games.events("GameOpened")
    if opened:
        story.game = opened[-1]["gameId"]
        story.rounds[0] = [(0, opened[-1]["nodes"])]  # the starting intervals, then one per round
        for e in games.events("TransitionProven"):
            if e["gameId"] == story.game:
                story.rounds[1] = [(0, e["steps"])]
        for e in games.events("Responded"):
            if e["gameId"] == story.game:
                story.rounds.setdefault(e["level"], []).append((e["lo"], e["hi"]))
        g = games.game(story.game)
        story.notes.append(f"phase 2 found node {g.node} "
                           f"({entry.graph.descriptors[g.node % entry.graph.n_f].name} at t = {g.node // entry.graph.n_f}); "
                           f"phase 1 found step {g.lo} of its run")
        story.notes.append(f"winner: {'the watcher (challenger)' if g.stage == Stage.CHALLENGER_WON else g.stage.name}")
    moved = {k: v - before[k] for k, v in _credits(requester, accounts).items()}
    story.notes.append("credits moved: " + ", ".join(f"{k} {v / ETH:+.3f} ETH" for k, v in moved.items() if v))
    story.wall["dispute"] = time.perf_counter() - t0
    if not entry.mlp:
        honest = Submitter(system_at(accounts["honest"]), catalog, Store(state / "honest.sqlite"),
                           say=lambda m: say("  honest:    " + m))
        drive([honest, watcher], lambda: False, limit=3)
        chain.increase_time(requester.tasks.task(task_id).window + 1)
        say("  (anvil's clock advanced past the challenge window)")
        drive([honest, watcher], lambda: finalized_tokens(requester, task_id) is not None)
        tokens = finalized_tokens(requester, task_id)
        if tokens is None:
            raise RuntimeError("the honest result did not finalize")
        text = decode_tokens(entry, tokens)
        story.notes.append(f"finalized: the model's answer {text!r}" if entry.v2 else
                           f"finalized: {story.prompt!r} + {text!r}")
    return story


def play_quorum(system_at: Callable[[str], System], catalog: Catalog, prompt: str, n_new: int, lie: SubmitterSolver,
                state: Path, accounts: dict[str, str], say: Callable[[str], None]) -> list[str]:
    """Story 3: k = 3 honest submitters make the task soft-final; a fourth, lying, loses a game.
    Returns the story's summary lines, with the time to soft finality in blocks and seconds."""
    entry = catalog.named("shakespeare")
    requester = system_at(accounts["requester"])
    t0 = time.perf_counter()
    task_id = post_task(requester, entry, encode_input(entry, prompt), n_new, Terms(quorum=3))
    created = requester.tasks.events("TaskCreated")[-1]
    say(f"  requester: task {task_id} on {entry.name}, {n_new} new token(s), a quorum of 3")
    start = created["blockNumber"]  # the agents look at this story's task only
    honest = [Submitter(system_at(accounts[f"honest{k}"]), catalog, Store(state / f"quorum-honest{k}.sqlite"),
                        say=lambda m, k=k: say(f"  honest {k}:  " + m), from_block=start) for k in (1, 2, 3)]
    for h in honest:  # each commits, then reveals a block later, in its own tick
        h.tick()
    soft = soft_final(requester, task_id)
    if soft is None:
        raise RuntimeError("three agreeing members did not make the task soft-final")
    t_soft = time.perf_counter() - t0
    blocks = soft["blockNumber"] - created["blockNumber"]
    seconds = int(requester.tasks.call("softFinalAt", task_id)) - _block_time(requester, created["blockNumber"])
    say(f"  chain:     SoftFinal for task {task_id}: all 3 members agree, {blocks} blocks after the task")
    liar = Submitter(system_at(accounts["liar"]), catalog, Store(state / "quorum-liar.sqlite"),
                     say=lambda m: say("  liar:      " + m), from_block=start, solver=lie)
    watcher = Challenger(system_at(accounts["watcher"]), catalog, Store(state / "quorum-watcher.sqlite"),
                         say=lambda m: say("  watcher:   " + m), from_block=start)
    before = int(requester.tasks.call("credits", accounts["liar"]))
    drive([liar, watcher], lambda: settled(requester, task_id) and any(t.fn == "challenge" for t in watcher.txs))
    lost = [rid for rid, r, _ in outcome(requester, task_id)[1]
            if r.submitter.lower() == accounts["liar"].lower() and r.status == ResultStatus.REJECTED]
    if not lost or int(requester.tasks.call("credits", accounts["liar"])) != before:
        raise RuntimeError("the lying non-member did not lose its bond")
    still = soft_final(requester, task_id) is not None
    return [f"  time to soft finality: {blocks} blocks from the task ({seconds} s of chain time; {t_soft:.2f} s wall on anvil,"
            " one block per transaction: the members' 3 commitments and 3 reveals; sent in parallel, 2 blocks)",
            f"  the liar's result {lost[0]} was rejected in a game and its bond lost; the soft-final claim "
            f"{'stands' if still else 'fell'}"]


def _block_time(system: System, number: int) -> int:
    return int(system.tasks.backend.request("eth_getBlockByNumber", [hex(number), False])["timestamp"], 16)


def summary(story: Story) -> list[str]:
    phases = ("result", "challenge", "phase 2", "transition", "phase 1", "step", "settle")
    rows = [f"  {'phase':11s} {'rounds':>6s} {'txs':>4s} {'gas':>10s} {'wall s':>7s}"]
    dispute = [t for t in story.txs if t.game == story.game or t.phase in ("result", "challenge")]
    last = min((t.done_at - t.seconds for t in dispute), default=0.0)
    for ph in phases:
        txs = [t for t in dispute if t.phase == ph]
        if not txs:
            continue
        end = max(t.done_at for t in txs)
        level = {"phase 2": 0, "phase 1": 1}.get(ph)
        rounds = max(0, len(story.rounds.get(level, [])) - 1) if level is not None else ""
        rows.append(f"  {ph:11s} {rounds!s:>6s} {len(txs):4d} {sum(t.gas for t in txs):10,d} {end - last:7.2f}")
        last = end
    game = [t for t in dispute if t.phase != "result"]
    rows.append(f"  {'dispute':11s} {'':>6s} {len(game):4d} {sum(t.gas for t in game):10,d} {story.wall['dispute']:7.2f}"
                "   (challenge → step; the result's own gas is the honest path's)")
    return rows + ["  " + n for n in story.notes]


def plot(stories: list[Story], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for s in stories:
        for level, name in ((0, "phase 2 (nodes)"), (1, "phase 1 (steps)")):
            widths = [hi - lo for lo, hi in s.rounds.get(level, [])]
            if len(widths) > 1:
                ax.plot(range(len(widths)), widths, marker="o", label=f"{s.model}: {name}")
    ax.set_yscale("log")
    ax.set_xlabel("round")
    ax.set_ylabel("disputed interval width")
    ax.set_title("OPML bisection: interval width per round")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="opml demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=("smollm2", "shakespeare"), default=None,
                    help="story 1's model: smollm2 (default when installed by make setup) or the shipped toy LLaMA")
    ap.add_argument("--chat", metavar="TEXT", default=DEFAULT_QUESTION,
                    help="smollm2: the requester's question (default %(default)r)")
    ap.add_argument("--prompt", default=None, help="shakespeare: the prompt to continue (default 'ROMEO:\\n'); "
                    "giving one picks the shakespeare model unless --model says otherwise")
    ap.add_argument("--tokens", type=int, default=None, help="new tokens to generate (default 10 for smollm2, 16 for "
                    "shakespeare)")
    ap.add_argument("--wrong-node", type=int, default=None, metavar="I",
                    help="the global node whose output the liar corrupts, t·n_f + j (default: smollm2 a layer's "
                    "ffn_residual at the last position, shakespeare one in the middle)")
    ap.add_argument("--plot", metavar="FILE.png", help="draw the bisection (interval width per round, both phases)")
    ap.add_argument("--state", default=".opml/demo", help="where the agents keep their traces (default %(default)s)")
    ap.add_argument("--only", choices=("llama", "mnist", "quorum"), help="run one story only")
    args = ap.parse_args(argv)
    say = print
    t_all = time.perf_counter()
    from offchain.agents.catalog import SHIPPED
    from offchain.llm.known_models import SMOLLM2

    model = args.model or ("smollm2" if SMOLLM2.path().exists() and args.prompt is None else "shakespeare")
    args.prompt = "ROMEO:\n" if args.prompt is None else args.prompt
    if model == "smollm2" and not SMOLLM2.path().exists():
        raise ValueError(f"SmolLM2 is not installed: run `make setup` (expected {SMOLLM2.relpath})")
    tokens = args.tokens if args.tokens is not None else (10 if model == "smollm2" else 16)
    catalog = Catalog(SHIPPED + (("smollm2",) if model == "smollm2" else ()))
    state = Path(args.state)
    for f in state.glob("*.sqlite"):
        f.unlink()
    with Anvil() as node:
        chain = Chain(node)
        d = deploy(chain)
        accts = chain.accounts()
        accounts = {"requester": accts[1], "liar": accts[2], "watcher": accts[3], "honest": accts[4],
                    "honest1": accts[5], "honest2": accts[6], "honest3": accts[7]}
        addresses = d.addresses()
        for e in catalog.entries:
            d.models.send("register", astuple(e.spec))
        say(f"[demo] anvil at {node.url}; contracts deployed, {len(catalog.entries)} models registered")

        def system_at(account: str) -> System:
            return System.at(RpcBackend(node.rpc, account), addresses)

        stories = []
        entry = catalog.named(model)
        if args.only in (None, "llama"):
            text = args.chat if entry.v2 else args.prompt
            p = len(encode_input(entry, text)) // 4
            n = (p + tokens - 1) * entry.graph.n_f
            if args.wrong_node is not None:
                wrong = args.wrong_node
            elif entry.v2:  # a layer's residual stream at the last position: the answer's last token changes
                wrong = (p + tokens - 2) * entry.graph.n_f + entry.graph.index("blk.7.ffn_residual")
            else:
                wrong = n // 2 + 5
            if not 0 <= wrong < n:
                raise ValueError(f"--wrong-node {wrong} is outside this task's {n} nodes (0 … {n - 1})")
            name = entry.graph.descriptors[wrong % entry.graph.n_f].name
            say(f"[demo 1/3] two-phase: {entry.name}, {'question' if entry.v2 else 'prompt'} {text!r}, {tokens} new "
                f"tokens, {n:,} nodes; a lie at node {wrong} ({name} at t = {wrong // entry.graph.n_f})")
            stories.append(play_story(chain, system_at, catalog, Story(f"two-phase {entry.name}", entry.name, text,
                                      tokens, LyingSubmitter("wrong-node", wrong)), state, accounts, say))
            say("\n".join(summary(stories[-1])))
        if args.only in (None, "mnist"):
            from offchain.llm.kernels.mnist import IMAGE

            say("[demo 2/3] single-phase: the OPML demo's MNIST net on input_7, a wrong digit posted")
            stories.append(play_story(chain, system_at, catalog, Story("single-phase MNIST", "mnist-single",
                                      Path(IMAGE).read_bytes(), 1, LyingSubmitter("wrong-node", 0)), state, accounts, say))
            say("\n".join(summary(stories[-1])))
        if args.only in (None, "quorum"):
            say("[demo 3/3] quorum fast path: shakespeare, three honest submitters and one liar")
            say("\n".join(play_quorum(system_at, catalog, args.prompt, 16 if args.tokens is None else args.tokens,
                                       LyingSubmitter("wrong-node", 3),
                                       state, accounts, say)))
    if args.plot:
        plot(stories, args.plot)
        say(f"[demo] bisection plot written to {args.plot}")
    say(f"[demo] done in {time.perf_counter() - t_all:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
