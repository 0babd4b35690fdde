"""ELF loading (SPEC §2.2): the test programs load; anything else is rejected with one line."""

import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offchain.mipsemu import HEAP_START, STACK_TOP, VM, ElfError
from offchain.mipsemu.elf import parse_elf

ELF_DIR = Path(__file__).parent / "programs" / "elf"
GOOD = (ELF_DIR / "sort_O2.elf").read_bytes()


def _patched(offset: int, fmt: str, value: int) -> bytes:
    b = bytearray(GOOD)
    struct.pack_into(fmt, b, offset, value)
    return bytes(b)


def _first_load_offset() -> int:
    phoff, = struct.unpack_from(">I", GOOD, 28)
    phnum, = struct.unpack_from(">H", GOOD, 44)
    for i in range(phnum):
        if struct.unpack_from(">I", GOOD, phoff + 32 * i)[0] == 1:
            return phoff + 32 * i
    raise AssertionError("no PT_LOAD")


def test_initial_state_follows_spec():
    vm = VM.from_elf(str(ELF_DIR / "sort_O2.elf"))
    entry, = struct.unpack_from(">I", GOOD, 24)
    assert (vm.pc, vm.next_pc, vm.heap, vm.step_count) == (entry, entry + 4, HEAP_START, 0)
    assert vm.regs[29] == STACK_TOP and sum(vm.regs) == STACK_TOP
    assert (vm.lo, vm.hi, vm.exited, vm.exit_code) == (0, 0, False, 0)
    assert vm.mem.read_word(entry) != 0


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", "bad magic"),
        (b"MZ\x90\x00" + bytes(60), "bad magic"),
        (GOOD[:40], "truncated ELF header"),
        (_patched(4, "B", 2), "not a 32-bit ELF"),
        (_patched(5, "B", 1), "not big-endian"),
        (_patched(18, ">H", 3), "not a MIPS ELF"),
        (_patched(16, ">H", 3), "not a static executable"),
        (_patched(44, ">H", 0), "no program headers"),
        (_patched(42, ">H", 56), "unexpected program header size"),
        (_patched(28, ">I", len(GOOD) - 8), "program headers run past"),
        (_patched(_first_load_offset() + 8, ">I", 0x0FFFFF00), "outside region 0"),
        (_patched(_first_load_offset() + 8, ">I", 0x90000000), "outside region 0"),
        (_patched(_first_load_offset() + 16, ">I", 0x100000), "exceeds memory size"),
        (_patched(_first_load_offset() + 4, ">I", 0x7FFFFFF0), "segment 2 data runs past"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_malformed_elf_is_rejected_with_one_line(blob: bytes, message: str):
    with pytest.raises(ElfError, match=message) as err:
        parse_elf(blob)
    assert "\n" not in str(err.value) and isinstance(err.value, ValueError)


def test_truncated_file_is_rejected():
    with pytest.raises(ElfError, match="truncated"):
        parse_elf(GOOD[: len(GOOD) // 2])


def test_missing_file_is_an_elf_error(tmp_path: Path):
    with pytest.raises(ElfError, match="cannot read"):
        VM.from_elf(str(tmp_path / "nope.elf"))


@given(st.integers(0, len(GOOD) - 1), st.integers(0, 255))
def test_corrupted_elf_loads_or_raises_elf_error(pos: int, byte: int):
    blob = bytearray(GOOD)
    blob[pos] = byte
    try:
        image = parse_elf(bytes(blob))
    except ElfError as e:
        assert "\n" not in str(e)
        return
    assert all(s.vaddr + s.memsz <= 0x10000000 for s in image.segments)


@given(st.integers(0, len(GOOD)))
def test_every_truncation_loads_or_raises_elf_error(n: int):
    try:
        parse_elf(GOOD[:n])
    except ElfError:
        pass
