"""Op kernels: freestanding C programs that re-execute one graph node in the MIPS VM (SPEC §4.6).

`src/` holds the C sources, `build/` the committed ELFs (`make kernels` rebuilds them, `make
kernels-check` proves the committed bytes are what the sources give), `programs.json` each
kernel's entry point and region-0 root, and `registry` the op ids and header layout.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from offchain.llm.kernels.registry import PROGRAM_OF, Node
from offchain.mipsemu import VM
from offchain.node.start import Program, output_bytes, start_vm

HERE = Path(__file__).parent
SRC_DIR = HERE / "src"
BUILD_DIR = HERE / "build"
PROGRAMS_JSON = HERE / "programs.json"
#: Every kernel, in op-id order.
KERNELS: tuple[str, ...] = tuple(PROGRAM_OF[op] for op in sorted(PROGRAM_OF))


@cache
def program(name: str) -> Program:
    """The committed ELF of kernel `name`, loaded (entry point and region-0 root)."""
    if name not in KERNELS:
        raise ValueError(f"unknown kernel {name!r}; known: {', '.join(KERNELS)}")
    return Program.load(str(BUILD_DIR / f"{name}.elf"))


def start(node: Node) -> VM:
    """The node's start state (SPEC §4.4) as a runnable VM."""
    return start_vm(program(node.program), node.header, list(node.inputs))


def run(node: Node, exact: bool = False, max_steps: int = 1 << 40) -> VM:
    """Run a node to its exit: by the unicorn fast-forward, or with `exact` by the Python stepper."""
    vm = start(node)
    if exact:
        vm.run(max_steps)
    else:
        from offchain.mipsemu.fastforward import fast_forward

        fast_forward(vm, max_steps, expect_exit=True)
    return vm


def output(node: Node, vm: VM) -> bytes:
    """The output region's bytes (the header's output length of them)."""
    return output_bytes(vm, node.header, node.output_region)
