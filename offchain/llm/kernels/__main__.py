"""`python -m offchain.llm.kernels [--write | --check]`: each kernel's entry point and region-0 root.

With --write the table goes to programs.json; with --check the command fails if programs.json
differs from what the committed ELFs give (the registered prestates must be the shipped ones).
"""

from __future__ import annotations

import argparse
import json
import sys

from offchain.llm.kernels import KERNELS, PROGRAMS_JSON, program


def table() -> dict[str, dict[str, str]]:
    out = {}
    for name in KERNELS:
        p = program(name)
        out[name] = {"entry": f"{p.entry:#010x}", "region0_root": "0x" + p.region0_root.hex()}
    return out


def render(t: dict[str, dict[str, str]]) -> str:
    return json.dumps(t, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m offchain.llm.kernels", description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help=f"write {PROGRAMS_JSON.name}")
    ap.add_argument("--check", action="store_true", help=f"fail if {PROGRAMS_JSON.name} is stale")
    return run(ap.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    t = table()
    for name, row in t.items():
        print(f"{name:12} entry {row['entry']}  region0_root {row['region0_root']}")
    if args.write:
        PROGRAMS_JSON.write_text(render(t))
    if args.check and (not PROGRAMS_JSON.exists() or PROGRAMS_JSON.read_text() != render(t)):
        print(f"{PROGRAMS_JSON} does not match the committed ELFs; run `make kernels`", file=sys.stderr)
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """`opml kernels`: the same table, from the main CLI."""
    p = sub.add_parser("kernels", help="entry point and region-0 root of each op kernel (SPEC §4.6)",
                       description=__doc__.splitlines()[0])
    p.add_argument("--write", action="store_true", help=f"write {PROGRAMS_JSON.name}")
    p.add_argument("--check", action="store_true", help=f"fail if {PROGRAMS_JSON.name} is stale")
    p.set_defaults(func=run)


if __name__ == "__main__":
    sys.exit(main())
