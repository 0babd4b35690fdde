"""Command line (README.md; the VM is docs/SPEC.md §2): `run` a program like qemu would, or print the `witness` of one step."""

import argparse
import json
import sys

from offchain.mipsemu.elf import ElfError
from offchain.mipsemu.vm import VM

_DESCRIPTION = """\
The OPML MIPS VM (docs/SPEC.md §2): a static big-endian MIPS32 ELF, executed step by step with
Merkle-committed memory.

  run ELF [--stdin FILE] [--steps]
      Run to exit. The program's fd 1/2 output goes to stdout/stderr and the command exits with
      the program's exit code (a VM fault exits with its code, 0xF0..0xF5 = 240..245).
      --stdin feeds FILE to read(0, ...); such a run is not provable (the provable VM reads EOF).
      --steps prints the step count to stderr.

  witness ELF --step K
      Print one JSON object for step K (the pre-state has executed K steps):
      {"state": 226-byte packed pre-state, "proof": instruction proof (+ data proof),
       "post_hash": state hash after the step}, all hex with 0x.
"""


def _run(args: argparse.Namespace) -> int:
    from offchain.mipsemu.fastforward import run_to_exit

    vm = VM.from_elf(args.elf)
    if args.stdin is not None:
        with open(args.stdin, "rb") as f:
            vm.stdin = f.read()
    out, err = sys.stdout.buffer, sys.stderr.buffer

    def sink(fd: int, data: bytes) -> None:
        stream = out if fd == 1 else err
        stream.write(data)
        stream.flush()

    vm.output = sink
    run_to_exit(vm)
    if args.steps:
        print(f"steps: {vm.step_count}", file=sys.stderr)
    return vm.exit_code


def _witness(args: argparse.Namespace) -> int:
    from offchain.mipsemu.witness import witness_of_step

    if args.step < 0:
        raise SystemExit("mipsemu: --step must be >= 0")
    out = witness_of_step(args.elf, args.step)
    executed = int(out["state"][2 + 180 : 2 + 196], 16)  # the packed step field (bytes 90..98)
    if executed < args.step:
        print(f"mipsemu: program exited after {executed} steps; giving the exited state", file=sys.stderr)
    print(json.dumps(out))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m offchain.mipsemu", description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run", help="run a program to exit, printing its output; exit with its exit code")
    p.add_argument("elf", metavar="ELF", help="static big-endian MIPS32 executable")
    p.add_argument("--stdin", metavar="FILE", help="bytes for read(0, ...) (makes the run non-provable)")
    p.add_argument("--steps", action="store_true", help="print the step count to stderr")
    p.set_defaults(fn=_run)
    w = sub.add_parser("witness", help="print the JSON witness (pre-state, proof, post-state hash) of step K")
    w.add_argument("elf", metavar="ELF", help="static big-endian MIPS32 executable")
    w.add_argument("--step", metavar="K", type=int, required=True, help="steps executed before the witnessed one")
    w.set_defaults(fn=_witness)
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except ElfError as e:
        print(f"mipsemu: {args.elf}: {e}", file=sys.stderr)
        return 2
