"""Op kernels: freestanding C programs that re-execute one graph node in the MIPS VM (SPEC §4.6).

`src/` holds the C sources, `build/` the committed ELFs (`make kernels` rebuilds them, `make
kernels-check` proves the committed bytes are what the sources give), `programs.json` each
kernel's entry point and region-0 root, and `registry` the op ids and header layout.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from offchain.llm.kernels.registry import PROGRAM_OF, Node
from offchain.llm.kernels.registry_v2 import PROGRAM_OF_V2, NodeV2
from offchain.mipsemu import VM
from offchain.node.start import Program, output_bytes, start_vm

HERE = Path(__file__).parent
SRC_DIR = HERE / "src"
BUILD_DIR = HERE / "build"
PROGRAMS_JSON = HERE / "programs.json"
#: Every kernel, in op-id order.
KERNELS: tuple[str, ...] = tuple(PROGRAM_OF[op] for op in sorted(PROGRAM_OF))
#: The spec v2 kernels (SPEC §4.7), kept out of KERNELS: v1's programs_root (SPEC §5.3) is over
#: v1's names and is part of every registered v1 model's commitment.
BUILD_V2_DIR = BUILD_DIR / "v2"
PROGRAMS_V2_JSON = HERE / "programs_v2.json"
KERNELS_V2: tuple[str, ...] = tuple(PROGRAM_OF_V2[op] for op in sorted(PROGRAM_OF_V2))


@cache
def program(name: str) -> Program:
    """The committed ELF of kernel `name` (v1 or v2), loaded (entry point and region-0 root)."""
    if name in KERNELS:
        return Program.load(str(BUILD_DIR / f"{name}.elf"))
    if name in KERNELS_V2:
        return Program.load(str(BUILD_V2_DIR / f"{name}.elf"))
    raise ValueError(f"unknown kernel {name!r}; known: {', '.join(KERNELS + KERNELS_V2)}")


def start(node: Node | NodeV2) -> VM:
    """The node's start state (SPEC §4.4) as a runnable VM."""
    return start_vm(program(node.program), node.header, list(node.inputs))


def run(node: Node | NodeV2, exact: bool = False, max_steps: int = 1 << 40) -> VM:
    """Run a node to its exit: by the unicorn fast-forward, or with `exact` by the Python stepper."""
    vm = start(node)
    if exact:
        vm.run(max_steps)
    else:
        from offchain.mipsemu.fastforward import fast_forward

        fast_forward(vm, max_steps, expect_exit=True)
    return vm


def output(node: Node | NodeV2, vm: VM) -> bytes:
    """The output region's bytes (the header's output length of them)."""
    return output_bytes(vm, node.header, node.output_region)
