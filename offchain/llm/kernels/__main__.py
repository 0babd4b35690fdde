"""`python -m offchain.llm.kernels [--write | --check]`: each kernel's entry point and region-0 root.

With --write the tables go to programs.json (v1) and programs_v2.json (the spec v2 kernels,
SPEC §4.7, kept apart so that v1's programs_root is unchanged); with --check the command fails if
either differs from what the committed ELFs give (the registered prestates must be the shipped ones).
"""

from __future__ import annotations

import argparse
import json
import sys

from offchain.llm.kernels import KERNELS, KERNELS_V2, PROGRAMS_JSON, PROGRAMS_V2_JSON, program


def table(names: tuple[str, ...] = KERNELS) -> dict[str, dict[str, str]]:
    out = {}
    for name in names:
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
    stale = 0
    for names, path in ((KERNELS, PROGRAMS_JSON), (KERNELS_V2, PROGRAMS_V2_JSON)):
        t = table(names)
        for name, row in t.items():
            print(f"{name:12} entry {row['entry']}  region0_root {row['region0_root']}")
        if args.write:
            path.write_text(render(t))
        if args.check and (not path.exists() or path.read_text() != render(t)):
            print(f"{path} does not match the committed ELFs; run `make kernels`", file=sys.stderr)
            stale = 1
    return stale


def register(sub: argparse._SubParsersAction) -> None:
    """`opml kernels`: the same table, from the main CLI."""
    p = sub.add_parser("kernels", help="entry point and region-0 root of each op kernel (SPEC §4.6)",
                       description=__doc__.splitlines()[0])
    p.add_argument("--write", action="store_true", help=f"write {PROGRAMS_JSON.name}")
    p.add_argument("--check", action="store_true", help=f"fail if {PROGRAMS_JSON.name} is stale")
    p.set_defaults(func=run)


if __name__ == "__main__":
    sys.exit(main())
