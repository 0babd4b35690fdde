"""`opml request | serve | watch | status | witness | demo`: the roles, from the command line.

Every chain command connects through ape (`--network`, `--account`: ape's networks and accounts,
and the addresses `ape run deploy` wrote to deployments/) or, for scripts and tests against a
node that holds unlocked accounts (anvil), through `--rpc URL --deployment FILE`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from offchain.chain.rpc import ContractRevert, Rpc, RpcConnectionError, RpcError
from offchain.constants import INCLUSION_LATENCY, RERUN_STEPS_PER_SECOND

EPILOG = "Roles and examples: README.md; the protocol: docs/SPEC.md §6."


def _chain_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("chain")
    g.add_argument("--network", help="ape network choice, e.g. ethereum:local:foundry (default: ape's local network)")
    g.add_argument("--account", help="ape account alias to send from (default locally: test account 0; TEST::N for test account N)")
    g.add_argument("--deployments", metavar="DIR", help="with ape: the folder of deployments files (default: the repo's deployments/)")
    g.add_argument("--rpc", metavar="URL", help="instead of ape: a JSON-RPC node with unlocked accounts (anvil)")
    g.add_argument("--deployment", metavar="FILE", help="with --rpc: the deployments JSON (addresses)")
    g.add_argument("--from", dest="sender", metavar="ADDRESS", help="with --rpc: the unlocked account (default: the node's first)")
    g.add_argument("-v", "--verbose", action="store_true", help="with ape: show ape's log, such as its line per confirmed transaction")


@contextlib.contextmanager
def connect(args: argparse.Namespace) -> Iterator[Any]:
    """The System (bound contracts) for the command's account, through --rpc or ape."""
    from offchain.chain.client import RpcBackend, System

    if args.rpc:
        if not args.deployment:
            raise ValueError("--rpc needs --deployment FILE (the addresses written by the deployment)")
        try:
            dep = json.loads(Path(args.deployment).read_text())
        except (OSError, ValueError) as e:
            raise ValueError(f"{args.deployment}: cannot read the deployment ({e})") from None
        rpc = Rpc(args.rpc)
        accounts = rpc.request("eth_accounts")
        sender = args.sender or (accounts[0] if accounts else None)
        if sender is None:
            raise ValueError(f"{args.rpc} holds no unlocked account; pass --from or use ape's --account")
        yield System.at(RpcBackend(rpc, sender), dep["contracts"] if "contracts" in dep else dep)
        return
    from offchain.chain.ape import connect as ape_connect
    from offchain.chain.ape import quiet_ape

    quiet_ape(not args.verbose)
    with ape_connect(args.network, args.account, Path(args.deployments) if args.deployments else None) as (_backend, system, _dep):
        yield system


def _catalog(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from offchain.agents.catalog import SHIPPED, Catalog

    return Catalog(tuple(args.model) if getattr(args, "model", None) else SHIPPED)


def _cmd_model_register(args: argparse.Namespace) -> int:
    """`opml model register FILE`: import, verify and register a model; a re-run is a no-op."""
    from offchain.agents.catalog import load_entry, register, resolve_ref

    entry = load_entry(resolve_ref(args.path))  # imports a GGUF (its weight tree, cached) and verifies it with F
    with connect(args) as system:
        fresh = register(system, entry)
    s = entry.spec
    print(f"model {entry.name}: id 0x{entry.id.hex()} ({'registered now' if fresh else 'already registered'})")
    print(f"  weight_root 0x{s.weightRoot.hex()}  graph_root 0x{s.graphRoot.hex()}  n_f {s.nF}  step cap 2^{s.stepCap}")
    return 0


def register_model_command(msub: argparse._SubParsersAction) -> None:
    """`opml model register`, added to `opml model`'s actions (offchain/llm/cli.py)."""
    r = msub.add_parser("register", help="import, verify and register a model on a deployment; prints its id",
                        description="Load FILE (a LLaMA-family GGUF under spec v2, a known model such as smollm2, "
                        "or a v1 PATH[#single|#two-phase]), build its graph F, verify the two (SPEC §5.5, §6.2) and "
                        "register the record on the deployment's ModelRegistry. Prints the model id that `opml "
                        "request --model ID` takes. A model already registered is left as it is.", epilog=EPILOG)
    r.add_argument("path", metavar="FILE")
    _chain_args(r)
    r.set_defaults(func=_cmd_model_register)


def _cmd_request(args: argparse.Namespace) -> int:
    from offchain.agents.catalog import load_entry, resolve_ref
    from offchain.agents.requester import (
        Terms,
        decode_tokens,
        encode_input,
        finalized_tokens,
        outcome,
        post_task,
        soft_final,
        validate,
    )
    from offchain.chain.views import ResultStatus, TaskStatus

    terms = Terms(reward=args.reward, window=args.window, clock=args.clock, quorum=args.quorum)
    by_id = args.model.startswith("0x")  # a registry id: its record on the chain names the file

    def prepare(system=None):  # type: ignore[no-untyped-def]
        entry = load_entry(resolve_ref(args.model, system))
        data = encode_input(entry, Path(args.input).read_bytes() if args.input else args.prompt)
        validate(entry, data, args.tokens)
        return entry, data

    if not by_id:  # bad input is refused before anything connects
        entry, data = prepare()
    with connect(args) as system:
        if by_id:
            entry, data = prepare(system)
        if not system.models.call("exists", entry.id):
            raise ValueError(f"model {entry.name} (0x{entry.id.hex()[:16]}…) is not registered on this chain: run `ape run deploy`")
        task_id = post_task(system, entry, data, args.tokens, terms)
        print(f"task {task_id}: {entry.name}, {args.tokens} new token(s), reward {args.reward / 1e18:g} ETH"
              + (f", quorum of {args.quorum}" if args.quorum else ""))
        if not args.wait:
            return 0
        said_soft = False
        while True:
            tv, results = outcome(system, task_id)
            soft = soft_final(system, task_id) if args.quorum and not said_soft else None
            if soft is not None:
                said_soft = True
                r = next(r for rid, r, _ in results if rid == soft["resultId"])
                tokens = next(t for rid, _, t in results if rid == soft["resultId"])
                text = decode_tokens(entry, [int.from_bytes(tokens[k:k + 4], "big") for k in range(0, len(tokens), 4)])
                print(f"soft-final at block {soft['blockNumber']}: all {args.quorum} agree on {text!r} "
                      f"(S_n 0x{r.final_state.hex()[:16]}…); bonds stay locked through the window")
            tokens = finalized_tokens(system, task_id)
            if tokens is not None:
                r = next(r for rid, r, _ in results if rid == tv.winning_result)
                print(f"finalized: {decode_tokens(entry, tokens)!r}")
                print(f"commitment S_n 0x{r.final_state.hex()}")
                return 0
            if tv.status == TaskStatus.REFUNDED:
                print("refunded: no result survived before the deadline")
                return 1
            for rid, r, _ in results:
                if r.status == ResultStatus.REJECTED and not getattr(args, f"_seen{rid}", False):
                    setattr(args, f"_seen{rid}", True)
                    print(f"result {rid} by {r.submitter} was rejected (it lost a dispute or a token proof)")
            time.sleep(args.poll)


def _daemon(args: argparse.Namespace, role: str) -> int:
    from offchain.agents.agent import Agent, Challenger, Submitter
    from offchain.agents.solver import ChallengerSolver, SubmitterSolver
    from offchain.agents.store import Store

    solver: SubmitterSolver | ChallengerSolver = SubmitterSolver() if role == "serve" else ChallengerSolver()
    if args.dishonest:  # the only way a dishonest player gets in: asked for by name, for tests and demos
        from offchain.testing.strategies import challenger, submitter

        solver = submitter(args.dishonest) if role == "serve" else challenger(args.dishonest)
    catalog = _catalog(args)
    with connect(args) as system:
        state = Path(args.state) / f"{role}-{system.tasks.backend.sender.lower()}.sqlite"
        say = lambda m: print(f"{role}: {m}", flush=True)  # noqa: E731
        agent: Agent
        if isinstance(solver, SubmitterSolver):
            agent = Submitter(system, catalog, Store(state), say=say, latency=args.latency, rerun_rate=args.rerun_rate,
                              solver=solver)
        else:
            agent = Challenger(system, catalog, Store(state), say=say, latency=args.latency, rerun_rate=args.rerun_rate,
                               solver=solver)
        agent.from_block = int(args.from_block)
        names = ", ".join(e.name for e in catalog.entries)
        print(f"{role}: {agent.me} serving {names}" + ("" if solver.honest else f" (DISHONEST: {solver.name}, for tests)"),
              flush=True)
        idle, backoff = 0, 0.5
        while True:
            try:
                acted = agent.tick()
                if args.withdraw:
                    agent.withdraw()
                backoff = 0.5
            except (RpcConnectionError, ConnectionError) as e:
                print(f"{role}: rpc unreachable ({e}); retrying in {backoff:.1f}s", flush=True)
                time.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            except ContractRevert as e:
                print(f"{role}: a move was refused ({e}); re-deriving from chain state", flush=True)
                acted = 1
            idle = 0 if acted else idle + 1
            if args.once or (args.exit_idle and idle >= args.exit_idle):
                return 0
            time.sleep(args.poll)


def _cmd_status(args: argparse.Namespace) -> int:
    from offchain.agents.status import game_timeline, overview, task_report

    with connect(args) as system:
        if args.game:
            lines = game_timeline(system, args.game)
        elif args.task:
            lines = task_report(system, args.task)
        else:
            lines = overview(system)
    print("\n".join(lines))
    return 0


def _cmd_witness(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from offchain.agents.catalog import load_entry
    from offchain.agents.requester import encode_input
    from offchain.game.task import trace
    from offchain.game.transition import build, node_run

    entry = load_entry(args.model)
    data = encode_input(entry, args.prompt)
    prompt = [int.from_bytes(data[k:k + 4], "big") for k in range(0, len(data), 4)]
    if len(prompt) + args.tokens - 1 > entry.spec.context:
        raise ValueError(f"a prompt of {len(prompt)} tokens plus {args.tokens} exceeds the context of {entry.spec.context}")
    task = trace(entry.model, entry.graph, prompt, args.tokens)
    if not 0 <= args.node < task.n:
        raise ValueError(f"node {args.node} is outside this task's {task.n} nodes")
    run = node_run(task, args.node)
    final = run.final()
    proof = build(task, task.honest(), args.node, final)
    out: dict[str, Any] = {"node": args.node, "name": entry.graph.descriptors[args.node % entry.graph.n_f].name,
                           "position": args.node // entry.graph.n_f, "S_i": "0x" + task.honest().state(args.node).hex(),
                           "S_i+1": "0x" + task.honest().state(args.node + 1).hex(), "transition": proof.to_json(),
                           "startState": "0x" + run.vm_at(0).pack().hex(), "startHash": "0x" + run.state_hash(0).hex(),
                           "finalState": "0x" + final.pack().hex(), "steps": final.step_count}
    if args.step is not None:
        w = run.witness(args.step)
        out["step"] = {k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in asdict(w).items()}
    print(json.dumps(out, indent=1))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from offchain.agents.demo import main

    return main(args.rest)


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("request", help="post a task (requester) and optionally wait for its final text",
                       description="Post a task on chain: a prompt for the LLaMA (or --input FILE for the MLP), "
                       "N new tokens, a reward. With --wait, print the finalized text and its commitment S_n, or why "
                       "the results were rejected.", epilog=EPILOG)
    r.add_argument("--prompt", default="", help="prompt text (LLaMA)")
    r.add_argument("--input", metavar="FILE", help="raw input bytes (MLP, e.g. models/opml-mnist/input_7)")
    r.add_argument("--tokens", type=int, default=1, metavar="N", help="new tokens (1 for an MLP)")
    r.add_argument("--model", default="shakespeare", help="shakespeare (default), mnist, mnist-two-phase, smollm2 (a chat "
                   "model: --prompt is the user message), PATH[#single], a GGUF, or a registered model's id (0x…)")
    r.add_argument("--reward", type=int, default=10**17, help="reward in wei (default 0.1 ETH)")
    r.add_argument("--window", type=int, default=0, help="challenge window per result, seconds (default: the task's floor)")
    r.add_argument("--clock", type=int, default=0, help="each game party's chess clock, seconds (default: the task's floor)")
    r.add_argument("--quorum", type=int, default=0, metavar="K",
                   help="ask for K submitters; when all K agree the result is soft-final at once (SPEC §6.11)")
    r.add_argument("--wait", action="store_true", help="wait for the outcome and print it")
    r.add_argument("--poll", type=float, default=1.0, help="seconds between checks with --wait")
    _chain_args(r)
    r.set_defaults(func=_cmd_request)
    for role, helptext in (("serve", "the submitter daemon: answer tasks, defend every game"),
                           ("watch", "the challenger daemon: re-run every result, dispute any that is wrong")):
        d = sub.add_parser(role, help=helptext, epilog=EPILOG,
                           description=helptext + ". Every decision is re-derived from chain state on each tick; "
                           "traces are cached in --state, so a restarted daemon resumes its games.")
        d.add_argument("--model", action="append", metavar="PATH[#single|#two-phase]",
                       help="a model to serve (repeatable; default: the shipped models); each is verified first")
        d.add_argument("--dishonest", metavar="STRATEGY[:ARG]",
                       help="FOR TESTS AND DEMOS ONLY: play a losing strategy (see docs/SPEC.md §6 and README)")
        d.add_argument("--state", default=".opml/agents", help="where traces and the journal live (default %(default)s)")
        d.add_argument("--poll", type=float, default=1.0, help="seconds between ticks")
        d.add_argument("--from-block", type=int, default=0, help="scan events from this block")
        d.add_argument("--once", action="store_true", help="one tick, then exit")
        d.add_argument("--exit-idle", type=int, default=0, metavar="TICKS", help="exit after this many idle ticks (tests)")
        d.add_argument("--no-withdraw", dest="withdraw", action="store_false", help="leave credits in the registry")
        d.add_argument("--latency", type=int, default=INCLUSION_LATENCY, metavar="SECONDS",
                       help="this agent's worst-case inclusion time per move; tasks whose clock cannot cover it are "
                       "refused (default %(default)s, the protocol's)")
        d.add_argument("--rerun-rate", type=int, default=RERUN_STEPS_PER_SECOND, metavar="STEPS",
                       help="steps per second this agent re-runs at; results whose window is shorter are not "
                       "watched (default %(default)s, the protocol's)")
        _chain_args(d)
        d.set_defaults(func=lambda a, role=role: _daemon(a, role))
    s = sub.add_parser("status", help="tasks, results and games; a game's move-by-move timeline", epilog=EPILOG,
                       description="Without options: every task. --task ID: its results and games. --game ID: the "
                       "game's timeline, move by move.")
    s.add_argument("--task", type=int)
    s.add_argument("--game", type=int)
    _chain_args(s)
    s.set_defaults(func=_cmd_status)
    w = sub.add_parser("witness", help="the challenger's witness for one node of a task, as JSON", epilog=EPILOG,
                       description="Run the task natively, then print what the game's transition and final step "
                       "would send for node I: descriptor, program and input proofs, start and final state, and "
                       "with --step K the step-K witness. Needs no chain.")
    w.add_argument("--prompt", required=True)
    w.add_argument("--tokens", type=int, required=True, metavar="N")
    w.add_argument("--node", type=int, required=True, metavar="I")
    w.add_argument("--step", type=int, metavar="K")
    w.add_argument("--model", default="models/shakespeare.opml", help="PATH[#single|#two-phase] (default %(default)s)")
    w.set_defaults(func=_cmd_witness)
    dm = sub.add_parser("demo", help="the end-to-end demo `make demo` runs (opml demo --help for its options)",
                        add_help=False)
    dm.set_defaults(func=_cmd_demo, passthrough=True)  # offchain.cli.main passes every argument on


def errors() -> tuple[type[BaseException], ...]:
    """Errors that become one-line messages."""
    from offchain.chain.ape import ChainSetupError
    from offchain.chain.deployment import DeploymentError

    return (ContractRevert, RpcConnectionError, RpcError, ChainSetupError, DeploymentError)


if __name__ == "__main__":
    sys.exit(0)
