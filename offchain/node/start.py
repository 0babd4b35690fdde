"""Node start and end states, built the way the contract will check them (SPEC §4.4-4.5).

Two routes to the same start state must agree: loading the program, header and input bytes into
a VM (what an emulator runs), and combining region roots folded from the program's region-0 root,
the header's tensor root and the inputs' tensor roots (what the contract computes from hashes
alone, with no preimage upload).
"""

from dataclasses import dataclass

from offchain.constants import REGION_BYTES, REGION_COUNT, REGION_HEIGHT
from offchain.merkle import ZERO_HASHES, combine_regions, fold_region, tensor_height, tensor_root
from offchain.mipsemu import VM
from offchain.node.layout import (
    EXIT_OK,
    FIRST_INPUT_REGION,
    HEADER_BASE,
    HEADER_REGION,
    OUTPUT_REGION,
    PROGRAM_REGION,
    Header,
    input_base,
)


@dataclass(frozen=True)
class Program:
    """A registered kernel: its ELF path, entry point and region-0 root."""

    path: str
    entry: int
    region0_root: bytes

    @classmethod
    def load(cls, path: str) -> "Program":
        vm = VM.from_elf(path)
        for region in range(1, REGION_COUNT):
            if vm.mem.node(REGION_HEIGHT, region) != ZERO_HASHES[REGION_HEIGHT]:
                raise ValueError(f"{path}: the program image reaches past region 0")
        return cls(path, vm.pc, vm.mem.node(REGION_HEIGHT, PROGRAM_REGION))


def start_vm(program: Program, header: Header, inputs: list[bytes]) -> VM:
    """The node's start state as a runnable VM: the ELF image plus header and input bytes."""
    if len(inputs) != len(header.input_lengths) or any(len(x) != n for x, n in zip(inputs, header.input_lengths)):
        raise ValueError(
            f"inputs of {[len(x) for x in inputs]} bytes do not match the header's {list(header.input_lengths)}"
        )
    vm = VM.from_elf(program.path)
    vm.mem.write(HEADER_BASE, header.encode())
    for i, data in enumerate(inputs):
        vm.mem.write(input_base(i), data)
    return vm


def start_mem_root(program: Program, header: Header, input_roots: list[tuple[bytes, int]]) -> bytes:
    """The start memory root from roots alone: (tensor root, height) per input, as the contract derives it."""
    regions = [ZERO_HASHES[REGION_HEIGHT]] * REGION_COUNT
    regions[PROGRAM_REGION] = program.region0_root
    regions[HEADER_REGION] = fold_region(*tensor_root(header.encode()))
    for i, (root, height) in enumerate(input_roots):
        regions[FIRST_INPUT_REGION + i] = fold_region(root, height)
    return combine_regions(regions)


def output_bytes(vm: VM, header: Header, region: int = OUTPUT_REGION) -> bytes:
    return vm.mem.read(region * REGION_BYTES, header.output_length)


def check_end(vm: VM, claimed_output_root: bytes, header: Header, region: int = OUTPUT_REGION) -> str | None:
    """None if the end state shows the claimed output in `region` (8, or input 0's region for an
    in-place op), else a one-line reason (SPEC §4.5)."""
    if not vm.exited:
        return "the kernel has not exited"
    if vm.exit_code != EXIT_OK:
        return f"the kernel exited with code {vm.exit_code:#x}"
    expected = fold_region(claimed_output_root, tensor_height(header.output_length))
    if vm.mem.node(REGION_HEIGHT, region) != expected:
        return "the output region does not hold the claimed output tensor (or holds bytes past it)"
    return None
