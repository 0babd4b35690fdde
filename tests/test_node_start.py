"""A node's start state from bytes (emulator) equals the one from roots (contract), SPEC §4.4."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.constants import REGION_HEIGHT
from offchain.llm.kernels import BUILD_DIR
from offchain.merkle import fold_region, tensor_root
from offchain.node.layout import HEADER_BASE, MAX_INPUTS, Header
from offchain.node.start import Program, start_mem_root, start_vm
from tests.budget import examples

# Every program a node can run (the op kernels) and every VM test program.
PROGRAMS = sorted(BUILD_DIR.glob("*.elf")) + sorted((Path(__file__).parent / "mipsemu" / "programs").glob("elf/*.elf"))
_LOADED: dict[Path, Program] = {}


def _program(path: Path) -> Program:
    if path not in _LOADED:
        _LOADED[path] = Program.load(str(path))
    return _LOADED[path]


def test_every_program_is_covered():
    assert len(list(BUILD_DIR.glob("*.elf"))) == 12 and len(PROGRAMS) > 12


# Inputs from empty to a few leaves, plus lengths around powers of two of leaves (where the tensor
# height steps) and up to 512 KiB (and 1 MiB in the per-program test), written with a repeating pattern so their roots are not all-zero.
lengths = st.one_of(st.integers(0, 300), st.sampled_from([(32 << k) + d for k in range(4, 15) for d in (-1, 0, 1)]))


def _bytes(n: int, seed: int) -> bytes:
    block = bytes((seed * 131 + i * 7) & 0xFF for i in range(251))
    return (block * (n // 251 + 1))[:n]


def _check_start(program: Program, header: Header, inputs: list[bytes]) -> None:
    vm = start_vm(program, header, inputs)
    assert vm.mem.root() == start_mem_root(program, header, [tensor_root(x) for x in inputs])
    assert vm.pc == program.entry
    # region by region, not only the combined root
    assert vm.mem.node(REGION_HEIGHT, 0) == program.region0_root
    assert vm.mem.node(REGION_HEIGHT, 1) == fold_region(*tensor_root(header.encode()))
    for i, x in enumerate(inputs):
        assert vm.mem.node(REGION_HEIGHT, 2 + i) == fold_region(*tensor_root(x))


@settings(max_examples=examples(25))
@given(
    which=st.integers(0, len(PROGRAMS) - 1),
    sizes=st.lists(lengths, max_size=MAX_INPUTS),
    seed=st.integers(0, 255),
    op=st.integers(0, 100),
    pos=st.integers(0, 4096),
    params=st.lists(st.integers(0, (1 << 32) - 1), max_size=48),
)
def test_start_root_from_roots_equals_the_loaded_vm(which, sizes, seed, op, pos, params):
    inputs = [_bytes(n, seed + i) for i, n in enumerate(sizes)]
    _check_start(_program(PROGRAMS[which]), Header(op, pos, tuple(len(x) for x in inputs), 64, tuple(params)), inputs)


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_every_program_with_six_inputs_of_different_heights(path):
    inputs = [_bytes(n, i) for i, n in enumerate([0, 1, 32, 33, 4096 + 5, (1 << 20) + 17])]
    _check_start(_program(path), Header(3, 7, tuple(len(x) for x in inputs), 1 << 16, (1, 2, 3)), inputs)


@pytest.fixture(scope="module")
def program() -> Program:
    return _program(PROGRAMS[0])


def test_header_words_follow_the_abi():
    h = Header(op=7, position=3, input_lengths=(10, 20), output_length=5, params=(99,))
    words = h.words()
    assert words[:11] == [1, 7, 3, 2, 10, 20, 0, 0, 0, 0, 5] and words[11:16] == [0] * 5 and words[16:] == [99]
    assert h.encode()[:4] == b"\x00\x00\x00\x01"


def test_mismatched_inputs_are_refused(program):
    with pytest.raises(ValueError, match="do not match"):
        start_vm(program, Header(1, 0, (4,), 4), [b"abc"])
    with pytest.raises(ValueError, match="at most"):
        Header(1, 0, (1,) * 7, 4)


def test_the_header_lands_in_region_1(program):
    h = Header(5, 0, (), 4, (1, 2, 3))
    vm = start_vm(program, h, [])
    assert vm.mem.read(HEADER_BASE, len(h.encode())) == h.encode()
