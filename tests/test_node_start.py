"""A node's start state from bytes (emulator) equals the one from roots (contract), SPEC §4.4."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.merkle import tensor_root
from offchain.node.layout import HEADER_BASE, MAX_INPUTS, Header
from offchain.node.start import Program, start_mem_root, start_vm

PROGRAMS = sorted((Path(__file__).parent / "mipsemu" / "programs").glob("elf/*"))


@pytest.fixture(scope="module")
def program() -> Program:
    if not PROGRAMS:
        pytest.fail("no test program ELFs found under tests/mipsemu/programs")
    return Program.load(str(PROGRAMS[0]))


@settings(max_examples=25)
@given(
    inputs=st.lists(st.binary(max_size=300), max_size=MAX_INPUTS),
    op=st.integers(0, 100),
    pos=st.integers(0, 4096),
    params=st.lists(st.integers(0, (1 << 32) - 1), max_size=8),
)
def test_start_root_from_roots_equals_the_loaded_vm(program, inputs, op, pos, params):
    header = Header(op, pos, tuple(len(x) for x in inputs), 64, tuple(params))
    vm = start_vm(program, header, inputs)
    assert vm.mem.root() == start_mem_root(program, header, [tensor_root(x) for x in inputs])
    assert vm.pc == program.entry


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
