"""Instruction decoding into closures (SPEC §2.4, §2.5).

`decode(vm, pc, word)` returns `(fn, is_branch)`. Calling `fn()` executes the instruction against
the VM's register list, hi/lo pair and memory, and returns:

- `None`: an ordinary instruction; the caller advances `pc = nextPC, nextPC += 4`;
- an int >= 0 (branches and jumps only): the new nextPC (the target if taken, else pc + 8); the
  caller sets `pc = nextPC, nextPC = value`;
- `SYSCALL` (-1): the caller runs the syscall;
- `-code` for a fault `code` (0xF0..0xF5): nothing was changed.

A closure is specialised for its pc and fields, so the hot loop does no decoding at all. The
delay-slot rule (a branch inside a delay slot faults) is checked by the caller, which knows nextPC.
"""

import struct
from collections.abc import Callable

from offchain.protocol import (
    FAULT_BRANCH_IN_DELAY_SLOT,
    FAULT_DIVIDE_BY_ZERO,
    FAULT_INVALID_INSTRUCTION,
    FAULT_MISALIGNED,
    FAULT_TRAP,
    FAULT_UNKNOWN_SYSCALL,
)

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF
SYSCALL = -1
F_UNDEFINED = FAULT_INVALID_INSTRUCTION
F_TRAP = FAULT_TRAP
F_SYSCALL = FAULT_UNKNOWN_SYSCALL
F_DELAY_SLOT = FAULT_BRANCH_IN_DELAY_SLOT
F_ALIGN = FAULT_MISALIGNED
F_DIV_ZERO = FAULT_DIVIDE_BY_ZERO

Closure = Callable[[], int | None]

_get_word = struct.Struct(">I").unpack_from
_put_word = struct.Struct(">I").pack_into
_get_half = struct.Struct(">H").unpack_from
_put_half = struct.Struct(">H").pack_into


def _s32(x: int) -> int:
    return x - 0x100000000 if x & 0x80000000 else x


def _fault(code: int) -> Closure:
    def f() -> int:
        return -code

    return f


def _nop() -> None:
    return None


def _syscall() -> int:
    return SYSCALL


UNDEFINED = _fault(F_UNDEFINED)
MISALIGNED = _fault(F_ALIGN)


def decode(vm, pc: int, word: int) -> tuple[Closure, bool]:  # type: ignore[no-untyped-def]
    op = word >> 26
    rs = (word >> 21) & 31
    rt = (word >> 16) & 31
    rd = (word >> 11) & 31
    sa = (word >> 6) & 31
    funct = word & 63
    imm = word & 0xFFFF
    simm = imm - 0x10000 if imm & 0x8000 else imm
    r = vm._regs
    hl = vm._hilo
    link = (pc + 8) & M32

    if op == 0:
        return _special(r, hl, rs, rt, rd, sa, funct, link)
    if op == 1:
        return _regimm(r, rs, rt, simm, pc, link)
    if op == 2 or op == 3:
        target = ((pc + 4) & 0xF0000000) | ((word & 0x3FFFFFF) << 2)
        if op == 2:

            def j() -> int:
                return target

            return j, True

        def jal() -> int:
            r[31] = link
            return target

        return jal, True
    if 4 <= op <= 7:
        return _branch(r, op, rs, rt, simm, pc, link), True
    if 8 <= op <= 15:
        return _immediate(r, op, rs, rt, imm, simm), False
    if op == 28:
        return _special2(r, hl, rs, rt, rd, funct), False
    if op in _MEMORY_OPS:
        return _memory(vm, op, rs, rt, simm), False
    return UNDEFINED, False


# -- SPECIAL (op 0) -----------------------------------------------------------------------------


def _special(r, hl, rs, rt, rd, sa, funct, link):  # type: ignore[no-untyped-def]
    if funct == 8:  # jr

        def jr() -> int:
            return r[rs]

        return jr, True
    if funct == 9:  # jalr: the target is read before the link is written (rd may equal rs)
        if rd == 0:

            def jalr0() -> int:
                return r[rs]

            return jalr0, True

        def jalr() -> int:
            t = r[rs]
            r[rd] = link
            return t

        return jalr, True
    if funct == 12:
        return _syscall, False
    if funct == 15:  # sync
        return _nop, False
    if funct in _TRAPS:
        return _trap(r, rs, rt, funct), False
    if funct in (0x18, 0x19, 0x1A, 0x1B, 0x11, 0x13):
        return _hilo_op(r, hl, rs, rt, funct), False
    if funct not in _SPECIAL_RD:
        return UNDEFINED, False
    if funct in (0x20, 0x22):  # add/sub trap on signed overflow even when rd is r0
        sub = funct == 0x22

        def add_sub() -> int | None:
            a = r[rs]
            b = r[rt]
            v = _s32(a) - _s32(b) if sub else _s32(a) + _s32(b)
            if not -0x80000000 <= v <= 0x7FFFFFFF:
                return -F_TRAP
            if rd:
                r[rd] = v & 0xFFFFFFFF
            return None

        return add_sub, False
    if rd == 0:
        return _nop, False
    return _SPECIAL_RD[funct](r, rs, rt, rd, sa, hl), False


def _sll(r, rs, rt, rd, sa, hl):  # type: ignore[no-untyped-def]
    def f() -> None:
        r[rd] = (r[rt] << sa) & 0xFFFFFFFF

    return f


def _srl(r, rs, rt, rd, sa, hl):  # type: ignore[no-untyped-def]
    def f() -> None:
        r[rd] = r[rt] >> sa

    return f


def _sra(r, rs, rt, rd, sa, hl):  # type: ignore[no-untyped-def]
    def f() -> None:
        v = r[rt]
        r[rd] = ((v | ~0xFFFFFFFF) >> sa) & 0xFFFFFFFF if v & 0x80000000 else v >> sa

    return f


def _sllv(r, rs, rt, rd, sa, hl):  # type: ignore[no-untyped-def]
    def f() -> None:
        r[rd] = (r[rt] << (r[rs] & 31)) & 0xFFFFFFFF

    return f


def _srlv(r, rs, rt, rd, sa, hl):  # type: ignore[no-untyped-def]
    def f() -> None:
        r[rd] = r[rt] >> (r[rs] & 31)

    return f


def _srav(r, rs, rt, rd, sa, hl):  # type: ignore[no-untyped-def]
    def f() -> None:
        r[rd] = (_s32(r[rt]) >> (r[rs] & 31)) & 0xFFFFFFFF

    return f


def _movz(r, rs, rt, rd, sa, hl):  # type: ignore[no-untyped-def]
    def f() -> None:
        if r[rt] == 0:
            r[rd] = r[rs]

    return f


def _movn(r, rs, rt, rd, sa, hl):  # type: ignore[no-untyped-def]
    def f() -> None:
        if r[rt] != 0:
            r[rd] = r[rs]

    return f


def _mfhi(r, rs, rt, rd, sa, hl):  # type: ignore[no-untyped-def]
    def f() -> None:
        r[rd] = hl[1]

    return f


def _mflo(r, rs, rt, rd, sa, hl):  # type: ignore[no-untyped-def]
    def f() -> None:
        r[rd] = hl[0]

    return f


def _addu(r, rs, rt, rd, sa, hl):  # type: ignore[no-untyped-def]
    def f() -> None:
        r[rd] = (r[rs] + r[rt]) & 0xFFFFFFFF

    return f


def _subu(r, rs, rt, rd, sa, hl):  # type: ignore[no-untyped-def]
    def f() -> None:
        r[rd] = (r[rs] - r[rt]) & 0xFFFFFFFF

    return f


def _and(r, rs, rt, rd, sa, hl):  # type: ignore[no-untyped-def]
    def f() -> None:
        r[rd] = r[rs] & r[rt]

    return f


def _or(r, rs, rt, rd, sa, hl):  # type: ignore[no-untyped-def]
    def f() -> None:
        r[rd] = r[rs] | r[rt]

    return f


def _xor(r, rs, rt, rd, sa, hl):  # type: ignore[no-untyped-def]
    def f() -> None:
        r[rd] = r[rs] ^ r[rt]

    return f


def _nor(r, rs, rt, rd, sa, hl):  # type: ignore[no-untyped-def]
    def f() -> None:
        r[rd] = (r[rs] | r[rt]) ^ 0xFFFFFFFF

    return f


def _slt(r, rs, rt, rd, sa, hl):  # type: ignore[no-untyped-def]
    # Flipping the sign bit turns a signed comparison into an unsigned one.
    def f() -> None:
        r[rd] = 1 if (r[rs] ^ 0x80000000) < (r[rt] ^ 0x80000000) else 0

    return f


def _sltu(r, rs, rt, rd, sa, hl):  # type: ignore[no-untyped-def]
    def f() -> None:
        r[rd] = 1 if r[rs] < r[rt] else 0

    return f


# funct -> builder of instructions that write rd (add/sub are handled separately: they can trap).
_SPECIAL_RD = {
    0x00: _sll, 0x02: _srl, 0x03: _sra, 0x04: _sllv, 0x06: _srlv, 0x07: _srav,
    0x0A: _movz, 0x0B: _movn, 0x10: _mfhi, 0x12: _mflo,
    0x20: None, 0x21: _addu, 0x22: None, 0x23: _subu,
    0x24: _and, 0x25: _or, 0x26: _xor, 0x27: _nor, 0x2A: _slt, 0x2B: _sltu,
}  # fmt: skip

_TRAPS = {0x30, 0x31, 0x32, 0x33, 0x34, 0x36}


def _trap_condition(kind: int, a: int, b: int) -> bool:
    """Condition of tge/tgeu/tlt/tltu/teq/tne (SPECIAL funct 0x30..0x36), on u32 operands."""
    if kind == 0x30:
        return (a ^ 0x80000000) >= (b ^ 0x80000000)
    if kind == 0x31:
        return a >= b
    if kind == 0x32:
        return (a ^ 0x80000000) < (b ^ 0x80000000)
    if kind == 0x33:
        return a < b
    if kind == 0x34:
        return a == b
    return a != b


def _trap(r, rs, rt, funct):  # type: ignore[no-untyped-def]
    def f() -> int | None:
        return -F_TRAP if _trap_condition(funct, r[rs], r[rt]) else None

    return f


def _hilo_op(r, hl, rs, rt, funct):  # type: ignore[no-untyped-def]
    if funct == 0x11:  # mthi

        def mthi() -> None:
            hl[1] = r[rs]

        return mthi
    if funct == 0x13:  # mtlo

        def mtlo() -> None:
            hl[0] = r[rs]

        return mtlo
    if funct == 0x18:  # mult

        def mult() -> None:
            p = (_s32(r[rs]) * _s32(r[rt])) & M64
            hl[0] = p & 0xFFFFFFFF
            hl[1] = p >> 32

        return mult
    if funct == 0x19:  # multu

        def multu() -> None:
            p = r[rs] * r[rt]
            hl[0] = p & 0xFFFFFFFF
            hl[1] = p >> 32

        return multu
    if funct == 0x1A:  # div: truncating quotient, remainder takes the dividend's sign

        def div() -> int | None:
            b = _s32(r[rt])
            if b == 0:
                return -F_DIV_ZERO
            a = _s32(r[rs])
            q = abs(a) // abs(b)
            if (a < 0) != (b < 0):
                q = -q
            hl[0] = q & 0xFFFFFFFF
            hl[1] = (a - q * b) & 0xFFFFFFFF
            return None

        return div

    def divu() -> int | None:
        b = r[rt]
        if b == 0:
            return -F_DIV_ZERO
        a = r[rs]
        hl[0] = a // b
        hl[1] = a % b
        return None

    return divu


# -- REGIMM (op 1) and branches ----------------------------------------------------------------


def _regimm(r, rs, rt, simm, pc, link):  # type: ignore[no-untyped-def]
    target = (pc + 4 + (simm << 2)) & M32
    fall = link  # not taken: nextPC = pc + 8
    if rt in (0, 1, 16, 17):
        want_neg = rt in (0, 16)
        if rt >= 16:

            def bal() -> int:
                neg = r[rs] >= 0x80000000
                r[31] = link
                return target if neg == want_neg else fall

            return bal, True

        def b() -> int:
            return target if (r[rs] >= 0x80000000) == want_neg else fall

        return b, True
    if rt in (8, 9, 10, 11, 12, 14):
        # tgei tgeiu tlti tltiu teqi tnei: same conditions as the register traps, immediate sign-extended.
        kind = {8: 0x30, 9: 0x31, 10: 0x32, 11: 0x33, 12: 0x34, 14: 0x36}[rt]
        b32 = simm & 0xFFFFFFFF

        def trapi() -> int | None:
            return -F_TRAP if _trap_condition(kind, r[rs], b32) else None

        return trapi, False
    return UNDEFINED, False


def _branch(r, op, rs, rt, simm, pc, link):  # type: ignore[no-untyped-def]
    target = (pc + 4 + (simm << 2)) & M32
    fall = link
    if op == 4:

        def beq() -> int:
            return target if r[rs] == r[rt] else fall

        return beq
    if op == 5:

        def bne() -> int:
            return target if r[rs] != r[rt] else fall

        return bne
    if op == 6:

        def blez() -> int:
            v = r[rs]
            return target if v == 0 or v >= 0x80000000 else fall

        return blez

    def bgtz() -> int:
        v = r[rs]
        return target if 0 < v < 0x80000000 else fall

    return bgtz


# -- immediates (op 8..15) ----------------------------------------------------------------------


def _immediate(r, op, rs, rt, imm, simm):  # type: ignore[no-untyped-def]
    if op == 8:  # addi traps on overflow even when rt is r0

        def addi() -> int | None:
            v = _s32(r[rs]) + simm
            if not -0x80000000 <= v <= 0x7FFFFFFF:
                return -F_TRAP
            if rt:
                r[rt] = v & 0xFFFFFFFF
            return None

        return addi
    if rt == 0:
        return _nop
    uimm = simm & M32
    if op == 9:

        def addiu() -> None:
            r[rt] = (r[rs] + uimm) & 0xFFFFFFFF

        return addiu
    if op == 10:
        bx = uimm ^ 0x80000000

        def slti() -> None:
            r[rt] = 1 if (r[rs] ^ 0x80000000) < bx else 0

        return slti
    if op == 11:

        def sltiu() -> None:
            r[rt] = 1 if r[rs] < uimm else 0

        return sltiu
    if op == 12:

        def andi() -> None:
            r[rt] = r[rs] & imm

        return andi
    if op == 13:

        def ori() -> None:
            r[rt] = r[rs] | imm

        return ori
    if op == 14:

        def xori() -> None:
            r[rt] = r[rs] ^ imm

        return xori
    v = imm << 16

    def lui() -> None:
        r[rt] = v

    return lui


# -- SPECIAL2 (op 28) ---------------------------------------------------------------------------


def _special2(r, hl, rs, rt, rd, funct):  # type: ignore[no-untyped-def]
    if funct in (0, 1, 4, 5):  # madd maddu msub msubu: 64-bit hi:lo accumulate, modulo 2^64
        signed = funct in (0, 4)
        sign = -1 if funct >= 4 else 1

        def macc() -> None:
            a, b = r[rs], r[rt]
            p = _s32(a) * _s32(b) if signed else a * b
            acc = (((hl[1] << 32) | hl[0]) + sign * p) & M64
            hl[0] = acc & 0xFFFFFFFF
            hl[1] = acc >> 32

        return macc
    if funct not in (2, 0x20, 0x21):
        return UNDEFINED
    if rd == 0:
        return _nop
    if funct == 2:  # mul: hi/lo unchanged (SPEC decision)

        def mul() -> None:  # the low 32 bits of a product are the same signed or unsigned
            r[rd] = (r[rs] * r[rt]) & 0xFFFFFFFF

        return mul
    if funct == 0x20:

        def clz() -> None:
            r[rd] = 32 - r[rs].bit_length()

        return clz

    def clo() -> None:
        r[rd] = 32 - (r[rs] ^ 0xFFFFFFFF).bit_length()

    return clo


# -- loads and stores ---------------------------------------------------------------------------

_LOADS = {32, 33, 34, 35, 36, 37, 38, 48}
_STORES = {40, 41, 42, 43, 46, 56}
_MEMORY_OPS = _LOADS | _STORES


def data_address(op: int, base: int, simm: int) -> int | None:
    """The aligned data word a load/store touches, or None if it faults on alignment (SPEC §2.5)."""
    a = (base + simm) & M32
    if op in (33, 37, 41) and a & 1:  # lh lhu sh
        return None
    if op in (35, 43, 48, 56) and a & 3:  # lw sw ll sc
        return None
    return a & ~3


def _memory(vm, op, rs, rt, simm):  # type: ignore[no-untyped-def]
    # Words are read and written in place in the SparseMemory pages (4x faster than its methods);
    # every change marks its leaf dirty so the Merkle root stays exact.
    r = vm._regs
    pages, dirty = vm._mem.page_store()
    pget = pages.get
    forget = vm._code.pop  # a store into decoded code invalidates it

    def page_for_write(a: int) -> bytearray:
        p = pages[a >> 12] = bytearray(4096)
        return p

    if op == 35 or op == 48:  # lw, ll
        if rt == 0:

            def lw0() -> int | None:
                return -F_ALIGN if (r[rs] + simm) & 3 else None

            return lw0

        def lw() -> int | None:
            a = (r[rs] + simm) & 0xFFFFFFFF
            if a & 3:
                return -F_ALIGN
            p = pget(a >> 12)
            r[rt] = _get_word(p, a & 0xFFF)[0] if p is not None else 0
            return None

        return lw
    if op == 43 or op == 56:  # sw, sc
        if op == 56 and rt:

            def sc() -> int | None:
                a = (r[rs] + simm) & 0xFFFFFFFF
                if a & 3:
                    return -F_ALIGN
                p = pget(a >> 12) or page_for_write(a)
                _put_word(p, a & 0xFFF, r[rt])
                dirty.add(a >> 5)
                forget(a, None)
                r[rt] = 1
                return None

            return sc

        def sw() -> int | None:
            a = (r[rs] + simm) & 0xFFFFFFFF
            if a & 3:
                return -F_ALIGN
            p = pget(a >> 12) or page_for_write(a)
            _put_word(p, a & 0xFFF, r[rt])
            dirty.add(a >> 5)
            forget(a, None)
            return None

        return sw
    if op == 32 or op == 36:  # lb, lbu
        if rt == 0:
            return _nop
        if op == 32:

            def lb() -> None:
                a = (r[rs] + simm) & 0xFFFFFFFF
                p = pget(a >> 12)
                v = p[a & 0xFFF] if p is not None else 0
                r[rt] = v | 0xFFFFFF00 if v & 0x80 else v

            return lb

        def lbu() -> None:
            a = (r[rs] + simm) & 0xFFFFFFFF
            p = pget(a >> 12)
            r[rt] = p[a & 0xFFF] if p is not None else 0

        return lbu
    if op == 33 or op == 37:  # lh, lhu
        signed = op == 33

        def lh() -> int | None:
            a = (r[rs] + simm) & 0xFFFFFFFF
            if a & 1:
                return -F_ALIGN
            if rt:
                p = pget(a >> 12)
                v = _get_half(p, a & 0xFFF)[0] if p is not None else 0
                r[rt] = v | 0xFFFF0000 if signed and v & 0x8000 else v
            return None

        return lh
    if op == 40:  # sb

        def sb() -> None:
            a = (r[rs] + simm) & 0xFFFFFFFF
            p = pget(a >> 12) or page_for_write(a)
            p[a & 0xFFF] = r[rt] & 0xFF
            dirty.add(a >> 5)
            forget(a & ~3, None)

        return sb
    if op == 41:  # sh

        def sh() -> int | None:
            a = (r[rs] + simm) & 0xFFFFFFFF
            if a & 1:
                return -F_ALIGN
            p = pget(a >> 12) or page_for_write(a)
            _put_half(p, a & 0xFFF, r[rt] & 0xFFFF)
            dirty.add(a >> 5)
            forget(a & ~3, None)
            return None

        return sh
    if op == 34 or op == 38:  # lwl, lwr
        if rt == 0:
            return _nop
        if op == 34:  # lwl: bytes k..3 of the word go to the top of rt

            def lwl() -> None:
                a = (r[rs] + simm) & 0xFFFFFFFF
                p = pget(a >> 12)
                w = _get_word(p, a & 0xFFC)[0] if p is not None else 0
                k = 8 * (a & 3)
                r[rt] = ((w << k) & 0xFFFFFFFF) | (r[rt] & ((1 << k) - 1))

            return lwl

        def lwr() -> None:  # bytes 0..k of the word go to the bottom of rt
            a = (r[rs] + simm) & 0xFFFFFFFF
            p = pget(a >> 12)
            w = _get_word(p, a & 0xFFC)[0] if p is not None else 0
            k = 8 * (3 - (a & 3))
            r[rt] = (w >> k) | (r[rt] & ~(0xFFFFFFFF >> k) & 0xFFFFFFFF)

        return lwr
    if op == 42:  # swl: the top 4-k bytes of rt go to bytes k..3

        def swl() -> None:
            a = (r[rs] + simm) & 0xFFFFFFFF
            p = pget(a >> 12) or page_for_write(a)
            o = a & 0xFFC
            k = 8 * (a & 3)
            keep = (0xFFFFFFFF << (32 - k)) & 0xFFFFFFFF  # bytes 0..k-1 of the word
            _put_word(p, o, (_get_word(p, o)[0] & keep) | (r[rt] >> k))
            dirty.add(a >> 5)
            forget(a & ~3, None)

        return swl

    def swr() -> None:  # op 46: the low k+1 bytes of rt go to bytes 0..k
        a = (r[rs] + simm) & 0xFFFFFFFF
        p = pget(a >> 12) or page_for_write(a)
        o = a & 0xFFC
        k = 8 * (3 - (a & 3))
        keep = (1 << k) - 1  # bytes k+1..3 of the word
        _put_word(p, o, (_get_word(p, o)[0] & keep) | ((r[rt] << k) & 0xFFFFFFFF))
        dirty.add(a >> 5)
        forget(a & ~3, None)

    return swr
