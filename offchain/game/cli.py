"""`opml model verify PATH`: the off-chain model check of SPEC §6.2, and the ModelSpec to register."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _verify_gguf(args: argparse.Namespace, path: Path) -> int:
    """A spec v2 model: recompute its weight commitment from the file alone (SPEC §3v2.6) and, with
    --root, check that it is the one registered."""
    from offchain.llm.v2.session import commitment

    c = commitment(path, args.context, refresh=True)
    for key in ("weight_root", "sha256", "context", "architecture", "layers", "dim", "heads", "vocab"):
        print(f"{key:13s} {c[key]}")
    if args.root and args.root.lower() != c["weight_root"]:
        raise ValueError(f"{path}: refused: its weight root is {c['weight_root']}, not {args.root}")
    print("verified: spec v2 weight root recomputed from the file" + (" and equal to --root" if args.root else ""))
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from offchain.llm.v2.session import is_gguf, resolve

    path = resolve(args.path)
    if is_gguf(path):
        return _verify_gguf(args, path)
    from offchain.game.model import model_spec
    from offchain.game.verify import ModelInvalid, verify
    from offchain.llm.format import read_model
    from offchain.node.graph import build_graph

    model = read_model(args.path)
    graph = build_graph(model.config, single_phase=args.single_phase)
    reference = [d.encode() for d in graph.descriptors]
    if args.descriptors:
        try:
            descriptors = [bytes.fromhex(h.removeprefix("0x")) for h in json.loads(Path(args.descriptors).read_text())]
        except (ValueError, TypeError, AttributeError) as e:
            raise ValueError(f"{args.descriptors}: not a JSON list of hex descriptors ({e})") from None
    else:
        descriptors = reference
    spec = model_spec(model, graph, args.uri or str(args.path))
    if descriptors != reference:  # the spec of the graph given, not of the reference one
        from dataclasses import replace

        from offchain.merkle import tensor_root
        from offchain.node.graph import model_commitment

        groot = tensor_root(b"".join(tensor_root(x)[0] for x in descriptors))[0]
        spec = replace(spec, graphRoot=groot, nF=len(descriptors), jArgmax=len(descriptors) - 1,
                       commitment=model_commitment(spec.weightRoot, groot, spec.programsRoot))
    try:
        verify(model, descriptors, spec)
    except ModelInvalid as e:
        raise ValueError(f"{args.path}: refused: {e}") from None
    for name, value in spec.to_json().items():
        print(f"{name:13s} {value}")
    print(f"{'model id':13s} 0x{spec.model_id.hex()}")
    print(f"verified: {len(descriptors)} descriptors, "
          f"{'the reference graph' if descriptors == reference else 'not the reference graph'} of this config")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `verify` to the `model` command (registered by offchain.llm.cli)."""
    model_cmd = sub.choices["model"]
    actions = next(a for a in model_cmd._actions if isinstance(a, argparse._SubParsersAction))
    v = actions.add_parser(
        "verify", help="check a model and its graph F for the dispute game; print its ModelSpec and id",
        description="Check every descriptor of F against its kernel and the config, the input kinds and "
        "references, every committed length, j_argmax, the programs root against the committed ELFs and the "
        "step cap against the step estimates (SPEC §6.2). Prints the ModelSpec to register and its model id; "
        "exits 1 with a one-line reason on any failure.")
    v.add_argument("path", metavar="PATH")
    v.add_argument("--single-phase", action="store_true", help="MLP: F is one mlp_full node (n_f = 1)")
    v.add_argument("--descriptors", metavar="FILE", help="verify this F instead (JSON list of hex descriptors)")
    v.add_argument("--uri", help="the metadata URI of the spec (default: PATH)")
    v.add_argument("--root", help="GGUF: the weight root a registry holds; refused unless the file gives it")
    v.add_argument("--context", type=int, default=2048, help="GGUF: the context the commitment was made for")
    v.set_defaults(func=_cmd_verify)
