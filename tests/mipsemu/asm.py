"""Hand encoding of MIPS32 words for tests (no assembler needed)."""

import struct

from offchain.mipsemu import VM


def r_type(funct: int, rs: int = 0, rt: int = 0, rd: int = 0, sa: int = 0, op: int = 0) -> int:
    return (op << 26) | (rs << 21) | (rt << 16) | (rd << 11) | (sa << 6) | funct


def i_type(op: int, rs: int, rt: int, imm: int) -> int:
    return (op << 26) | (rs << 21) | (rt << 16) | (imm & 0xFFFF)


def j_type(op: int, target: int) -> int:
    return (op << 26) | ((target >> 2) & 0x3FFFFFF)


NOP = 0
SYSCALL = r_type(12)


def li(rt: int, value: int) -> list[int]:
    """lui + ori."""
    return [i_type(15, 0, rt, value >> 16), i_type(13, rt, rt, value & 0xFFFF)]


def exit_with(code: int) -> list[int]:
    return li(4, code) + li(2, 4246) + [SYSCALL]


def vm_with(words: list[int], base: int = 0x1000) -> VM:
    """A blank VM with `words` at `base` and pc there."""
    vm = VM()
    vm.mem.write(base, b"".join(struct.pack(">I", w & 0xFFFFFFFF) for w in words))
    vm.pc, vm.next_pc = base, base + 4
    return vm
