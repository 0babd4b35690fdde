"""`opml`: the command-line entry point.

Sub-commands arrive with the issues that build them; today it can report Merkle roots of files.
"""

import argparse
import sys
from pathlib import Path

from offchain import __version__


def _cmd_tensor_root(args: argparse.Namespace) -> int:
    from offchain.merkle import fold_region, tensor_root

    data = Path(args.file).read_bytes()
    root, height = tensor_root(data)
    print(f"tensor_root 0x{root.hex()}")
    print(f"height      {height}  ({len(data)} bytes in {1 << height} leaves of 32)")
    print(f"region_root 0x{fold_region(root, height).hex()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="opml",
        description=(
            "OPML: optimistic, bit-exact ML inference on EVM chains. A result is posted with a "
            "commitment to every intermediate tensor; a dispute bisects over the model graph, then "
            "over MIPS instructions, and one instruction is executed on chain."
        ),
        epilog="See README.md for `make demo` and docs/SPEC.md for the protocol.",
    )
    p.add_argument("--version", action="version", version=f"opml {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    t = sub.add_parser(
        "tensor-root",
        help="Merkle root of a file's bytes as a tensor (zero-padded to 2^k 32-byte leaves)",
        description="Print the tensor root, its height and its region root (folded to height 23) of FILE.",
    )
    t.add_argument("file", metavar="FILE", help="raw tensor bytes (canonical encoding: big-endian, row-major)")
    t.set_defaults(func=_cmd_tensor_root)
    __import__("offchain.llm.cli", fromlist=["register"]).register(sub)
    __import__("offchain.game.cli", fromlist=["register"]).register(sub)  # `model verify`
    __import__("offchain.node.cli", fromlist=["register"]).register(sub)
    __import__("offchain.llm.kernels.__main__", fromlist=["register"]).register(sub)
    __import__("offchain.agents.cli", fromlist=["register"]).register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # A sub-command that hands its arguments to its own parser (`opml demo`) marks itself with
    # `passthrough`: argparse.REMAINDER would refuse them when the first one is an option.
    args, rest = parser.parse_known_args(argv)
    if getattr(args, "passthrough", False):
        args.rest = rest[1:] if rest[:1] == ["--"] else rest
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args))
    except (OSError, ValueError, *__import__("offchain.agents.cli", fromlist=["errors"]).errors()) as e:
        print(f"opml: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("opml: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
