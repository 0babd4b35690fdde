"""`opml check-node` and `opml graph`: re-run graph nodes in the VM and compare with the native run."""

from __future__ import annotations

import argparse
import random
import time

from offchain.llm.cli import DEFAULT_MODEL


def _load(path: str):  # type: ignore[no-untyped-def]
    from offchain.llm.format import read_model

    return read_model(path)


def _cmd_graph(args: argparse.Namespace) -> int:
    from offchain.llm.format import model_weight_root
    from offchain.node.graph import build_graph, model_commitment, programs_root

    m = _load(args.model)
    g = build_graph(m.config, single_phase=args.single_phase)
    groot, proot, wroot = g.root(), programs_root(), model_weight_root(m)
    print(f"nodes per token (n_f) {g.n_f}")
    if args.nodes:
        for j, d in enumerate(g.descriptors):
            print(f"  {j:4d} {d.name:32s} {d.op.name:12s} out {d.out_base}+{d.out_per_pos}(t+1) bytes")
    print(f"weight_root   0x{wroot.hex()}")
    print(f"graph_root    0x{groot.hex()}")
    print(f"programs_root 0x{proot.hex()}")
    print(f"commitment    0x{model_commitment(wroot, groot, proot).hex()}")
    return 0


def _cmd_check_node_v2(args: argparse.Namespace, path) -> int:  # type: ignore[no-untyped-def]
    """A GGUF (spec v2): the task from --chat/--prompt/--token-ids, greedy (F's sampler node)."""
    from offchain.llm.gguf_file import read_info
    from offchain.llm.gguf_tokenizer import GgufTokenizer
    from offchain.llm.v2.model import load_gguf
    from offchain.llm.v2.session import Request, input_ids
    from offchain.node.nodes_v2 import Checked, check

    tok = GgufTokenizer.from_gguf(read_info(path))
    ids = [int(x) for x in args.token_ids.split(",")] if args.token_ids else None
    ids = input_ids(tok, Request(chat=args.chat, system=args.system, prompt=args.prompt, token_ids=ids))
    model = load_gguf(path, args.context)
    if len(ids) + args.tokens > model.shape.max_seq_len:
        raise ValueError(f"{len(ids)} input tokens + {args.tokens} new exceed the context of {model.shape.max_seq_len}")
    t0 = time.perf_counter()

    def pick(n: int, n_f: int) -> list[int]:
        print(f"task: {len(ids)} input + up to {args.tokens} new tokens, {n} nodes ({n_f} per position), "
              f"native trace {time.perf_counter() - t0:.2f}s", flush=True)
        if args.node is not None:
            if not 0 <= args.node < n:
                raise ValueError(f"node {args.node} is outside 0..{n - 1}")
            return [args.node]
        return sorted(random.Random(args.seed).sample(range(n), min(args.sample, n)))

    count = [0]

    def show(c: Checked) -> None:
        count[0] += 1
        verdict = "MATCH" if c.reason is None else f"MISMATCH ({c.reason})"
        print(f"[{count[0]}] node {c.index} = {c.name} at t={c.position}: native 0x{c.native_root.hex()} "
              f"vm 0x{c.vm_root.hex()} steps {c.steps:,} (estimate {c.estimate:,}) {verdict}", flush=True)

    tr, results = check(model, ids, args.tokens, pick, exact=args.exact, stop=tok.is_eog, on_node=show)
    print(f"S_n = 0x{tr.final_state.hex()}; answer: {tok.decode(tr.tokens, special=False)!r}")
    return 1 if any(c.reason is not None or c.steps > c.estimate for c in results) else 0


def _cmd_check_node(args: argparse.Namespace) -> int:
    from offchain.llm.v2.session import is_gguf, resolve

    if sum(x is not None for x in (args.prompt, args.chat, args.token_ids)) != 1:
        raise ValueError("give exactly one of --prompt, --chat and --token-ids")
    model = args.model or ("smollm2" if args.prompt is None else str(DEFAULT_MODEL))
    path = resolve(model)
    if is_gguf(path):
        return _cmd_check_node_v2(args, path)
    if args.prompt is None or args.system is not None:
        raise ValueError(f"{path.name} is a spec v1 model: it takes --prompt only (--chat and --token-ids need a "
                         "GGUF model, e.g. --model smollm2)")
    args.model = str(path)
    from offchain.llm.kernels import run
    from offchain.llm.model import ARCH_MLP
    from offchain.llm.tokenizer import Tokenizer
    from offchain.merkle import tensor_root
    from offchain.node.graph import build_graph, node_at, token_bytes
    from offchain.node.start import check_end, output_bytes
    from offchain.node.trace import trace_task

    m = _load(args.model)
    if m.config.arch == ARCH_MLP:
        raise ValueError("check-node runs LLaMA tasks; the MLP runs in single-phase mode (see README)")
    tok = Tokenizer.from_json(m.tokenizer)
    prompt = tok.encode(args.prompt)
    if tok.bos >= 0:
        prompt = [tok.bos, *prompt]
    graph = build_graph(m.config)
    t0 = time.perf_counter()
    tr = trace_task(m, prompt, args.tokens, keep_outputs=True)
    assert tr.outputs is not None
    n = len(tr.roots)
    print(f"task: {len(prompt)} prompt + {args.tokens} new tokens, {n} nodes ({graph.n_f} per token), "
          f"native trace {time.perf_counter() - t0:.2f}s; S_n = 0x{tr.final_state.hex()}")
    if args.node is not None:
        if not 0 <= args.node < n:
            raise ValueError(f"node {args.node} is outside 0..{n - 1}")
        picks = [args.node]
    else:
        picks = sorted(random.Random(args.seed).sample(range(n), min(args.sample, n)))
    fed = list(prompt) + tr.tokens
    bad = 0
    for k, i in enumerate(picks):
        t, j = divmod(i, graph.n_f)
        d = graph.descriptors[j]
        header = graph.header(j, t)
        node = node_at(graph, m, j, t, tr.outputs, token_bytes(fed[t]))
        t1 = time.perf_counter()
        vm = run(node, exact=args.exact)
        vm_root = tensor_root(output_bytes(vm, header, d.output_region))[0]
        reason = check_end(vm, tr.roots[i], header, d.output_region)
        verdict = "MATCH" if reason is None else f"MISMATCH ({reason})"
        bad += reason is not None
        print(f"[{k + 1}/{len(picks)}] node {i} = {d.name} at t={t}: native 0x{tr.roots[i].hex()} "
              f"vm 0x{vm_root.hex()} steps {vm.step_count:,} ({time.perf_counter() - t1:.2f}s) {verdict}", flush=True)
    return 1 if bad else 0


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser(
        "check-node",
        help="run graph nodes natively and in the MIPS VM and compare their output roots",
        description="Run a task natively (committing to every node), then re-execute node I (or K random "
        "nodes) as its kernel in the MIPS emulator from the start state the contract would derive. Prints "
        "both output roots, the VM step count and the verdict; exits 1 on any mismatch (and, for a GGUF, on "
        "a node above its step estimate). GGUF models (spec v2, e.g. smollm2) take --chat, --prompt or "
        "--token-ids and run greedy; v1 .opml files take --prompt.",
        epilog='example: opml check-node --model smollm2 --chat "What is 2+2?" --tokens 8 --sample 20',
    )
    c.add_argument("--model", help="a known model (smollm2), a GGUF or a v1 .opml file (default: smollm2 with "
                   f"--chat/--token-ids, {DEFAULT_MODEL.name} with --prompt)")
    c.add_argument("--prompt", help="raw text to continue")
    c.add_argument("--chat", metavar="TEXT", help="GGUF: a user message, wrapped in the model's chat template")
    c.add_argument("--system", metavar="TEXT", help="GGUF: the system message of --chat")
    c.add_argument("--token-ids", metavar="ID,ID,...", help="GGUF: the input as token ids")
    c.add_argument("--context", type=int, default=2048, help="GGUF: context length (default 2048)")
    c.add_argument("--tokens", type=int, required=True, help="number of new tokens (at most, for a GGUF)")
    pick = c.add_mutually_exclusive_group(required=True)
    pick.add_argument("--node", type=int, help="global node index i (= t·n_f + j)")
    pick.add_argument("--sample", type=int, metavar="K", help="check K nodes chosen at random")
    c.add_argument("--seed", type=int, default=0, help="seed for --sample")
    c.add_argument("--exact", action="store_true", help="use the exact Python stepper instead of fast-forward")
    c.set_defaults(func=_cmd_check_node)
    g = sub.add_parser("graph", help="print a model's per-token graph F and its commitments",
                       description="Build F for a model and print n_f, the weight, graph and programs roots and "
                       "the model's full commitment.")
    g.add_argument("--model", default=str(DEFAULT_MODEL), help="integer model file (default: the shipped model)")
    g.add_argument("--nodes", action="store_true", help="also list every node of F")
    g.add_argument("--single-phase", action="store_true", help="MLP: F is one mlp_full node over the packed weights")
    g.set_defaults(func=_cmd_graph)


