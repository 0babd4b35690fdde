"""The exact stepper (SPEC §2.3-2.6): instruction semantics, faults, syscalls, delay slots, and the
state/witness invariants every step must keep. The Solidity differential test covers agreement
with MIPS.sol; these pin the Python side to the SPEC text."""

import struct

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from offchain.merkle import verify_leaf, write_word
from offchain.mipsemu import HEAP_START, STACK_TOP, VM, hash_packed
from tests.mipsemu.asm import NOP, SYSCALL, i_type, j_type, r_type, vm_with

PC = 0x1000
M = 0xFFFFFFFF


def run1(word: int, regs: dict[int, int] | None = None, mem: dict[int, int] | None = None, **fields: int) -> VM:
    vm = vm_with([word])
    for i, v in (regs or {}).items():
        vm.regs[i] = v & M
    for a, v in (mem or {}).items():
        vm.mem.write_word(a, v)
    for k, v in fields.items():
        setattr(vm, k, v)
    vm.step()
    return vm


def snapshot(vm: VM) -> tuple:
    return (vm.pc, vm.next_pc, tuple(vm.regs), vm.lo, vm.hi, vm.heap, vm.mem.root())


# -- state ----------------------------------------------------------------------------------------


def test_blank_vm_uses_spec_defaults_with_pc_zero():
    vm = VM()
    assert (vm.pc, vm.next_pc, vm.heap, vm.regs[29], vm.step_count, vm.exited) == (0, 4, HEAP_START, STACK_TOP, 0, False)
    assert vm.preimage_key == bytes(32) and vm.preimage_offset == 0


def test_pack_layout_matches_spec_offsets():
    vm = VM()
    vm.preimage_key = bytes(range(32))
    vm.preimage_offset, vm.pc, vm.next_pc, vm.lo, vm.hi, vm.heap = 0x01020304, 0x11, 0x22, 0x33, 0x44, 0x55
    vm.exit_code, vm.exited, vm.step_count = 0x66, True, 0x0102030405060708
    vm.regs = list(range(100, 132))
    p = vm.pack()
    assert len(p) == 226
    assert p[0:32] == vm.mem.root() and p[32:64] == bytes(range(32))
    assert struct.unpack(">IIIIII", p[64:88]) == (0x01020304, 0x11, 0x22, 0x33, 0x44, 0x55)
    assert (p[88], p[89]) == (0x66, 1)
    assert struct.unpack(">Q", p[90:98])[0] == 0x0102030405060708
    assert list(struct.unpack(">32I", p[98:])) == list(range(100, 132))


def test_a_nonzero_r0_slot_reads_zero_and_is_carried():
    vm = vm_with([i_type(9, 0, T1, 5), r_type(0x21, 0, 0, 0)])  # addiu t1, r0, 5 ; addu r0, r0, r0
    vm.regs[0] = 0xDEADBEEF
    vm.step()
    vm.step()
    assert vm.regs[T1] == 5 and vm.regs[0] == 0xDEADBEEF
    assert vm.pack()[98:102] == bytes.fromhex("deadbeef")


@pytest.mark.parametrize(("exited", "code", "status"), [(False, 0, 3), (False, 7, 3), (True, 0, 0), (True, 1, 1), (True, 2, 2), (True, 0xF0, 2)])
def test_state_hash_status_byte(exited: bool, code: int, status: int):
    vm = VM()
    vm.exited, vm.exit_code = exited, code
    h = vm.state_hash()
    assert h[0] == status and h == hash_packed(vm.pack()) and len(h) == 32


def test_exited_state_is_a_fixed_point():
    vm = VM()
    vm.exited, vm.exit_code, vm.step_count = True, 3, 10
    before = (vm.pack(), vm.state_hash())
    vm.step()
    assert (vm.pack(), vm.state_hash()) == before


# -- instructions ---------------------------------------------------------------------------------

T0, T1, T2 = 8, 9, 10


@pytest.mark.parametrize(
    ("word", "regs", "expect"),
    [
        (r_type(0x21, T0, T1, T2), {T0: M, T1: 2}, {T2: 1}),  # addu wraps
        (r_type(0x23, T0, T1, T2), {T0: 1, T1: 2}, {T2: M}),  # subu
        (r_type(0x20, T0, T1, T2), {T0: 5, T1: M}, {T2: 4}),  # add -1
        (r_type(0x2A, T0, T1, T2), {T0: M, T1: 0}, {T2: 1}),  # slt signed
        (r_type(0x2B, T0, T1, T2), {T0: M, T1: 0}, {T2: 0}),  # sltu
        (r_type(0x27, T0, T1, T2), {T0: 0xF0, T1: 0x0F}, {T2: 0xFFFFFF00}),  # nor
        (r_type(0x03, 0, T0, T2, 4), {T0: 0x80000000}, {T2: 0xF8000000}),  # sra
        (r_type(0x02, 1, T0, T2, 4), {T0: 0x80000001}, {T2: 0x08000000}),  # srl with rs=1 is still srl
        (r_type(0x07, T1, T0, T2), {T0: 0x80000000, T1: 33}, {T2: 0xC0000000}),  # srav uses low 5 bits
        (r_type(0x04, T1, T0, T2), {T0: 3, T1: 0x20 | 2}, {T2: 12}),  # sllv
        (r_type(0x0A, T0, T1, T2), {T0: 9, T1: 0, T2: 1}, {T2: 9}),  # movz moves
        (r_type(0x0B, T0, T1, T2), {T0: 9, T1: 0, T2: 1}, {T2: 1}),  # movn does not
        (i_type(11, T0, T1, 0xFFFF), {T0: 5}, {T1: 1}),  # sltiu: sign-extended imm compared unsigned
        (i_type(10, T0, T1, 0xFFFF), {T0: 5}, {T1: 0}),  # slti
        (i_type(12, T0, T1, 0xFFFF), {T0: M}, {T1: 0xFFFF}),  # andi zero-extends
        (i_type(14, T0, T1, 0x8000), {T0: 0}, {T1: 0x8000}),  # xori zero-extends
        (i_type(15, 5, T1, 0x1234), {}, {T1: 0x12340000}),  # lui
        (i_type(9, T0, T1, 0x8000), {T0: 0}, {T1: 0xFFFF8000}),  # addiu sign-extends
        (i_type(9, T0, 0, 5), {}, {0: 0}),  # writes to r0 are discarded
        (r_type(0x20, 0, 0, T2, op=28), {0: 0}, {T2: 32}),  # clz 0
        (r_type(0x20, T0, 0, T2, op=28), {T0: 1}, {T2: 31}),  # clz
        (r_type(0x21, T0, 0, T2, op=28), {T0: M}, {T2: 32}),  # clo
        (r_type(0x21, T0, 0, T2, op=28), {T0: 0x7FFFFFFF}, {T2: 0}),  # clo
        (r_type(0x02, T0, T1, T2, op=28), {T0: M, T1: 7}, {T2: M - 6}),  # mul
    ],
)
def test_alu(word: int, regs: dict[int, int], expect: dict[int, int]):
    vm = run1(word, regs)
    assert not vm.exited
    for r, v in expect.items():
        assert vm.regs[r] == v
    assert (vm.pc, vm.next_pc, vm.step_count) == (PC + 4, PC + 8, 1)


@pytest.mark.parametrize(
    ("funct", "a", "b", "lo", "hi"),
    [
        (0x1A, -7, 2, -3, -1),
        (0x1A, 7, -2, -3, 1),
        (0x1A, -7, -2, 3, -1),
        (0x1A, 0x80000000, -1, 0x80000000, 0),
        (0x1B, M, 10, M // 10, M % 10),
        (0x18, -1, -1, 1, 0),
        (0x18, 0x7FFFFFFF, -2, 2, -1),
        (0x19, M, M, 1, 0xFFFFFFFE),
    ],
)
def test_mult_div(funct: int, a: int, b: int, lo: int, hi: int):
    vm = run1(r_type(funct, T0, T1), {T0: a, T1: b})
    assert (vm.lo, vm.hi) == (lo & M, hi & M)


def test_madd_msub_and_mul_keeps_hilo():
    vm = run1(r_type(0, T0, T1, op=28), {T0: -2, T1: 3}, lo=5, hi=0)  # madd: 5 + (-6)
    assert (vm.hi, vm.lo) == (M, M)
    vm = run1(r_type(1, T0, T1, op=28), {T0: M, T1: 2}, lo=M, hi=0)  # maddu
    assert (vm.hi, vm.lo) == (2, 0xFFFFFFFD)
    vm = run1(r_type(4, T0, T1, op=28), {T0: 1, T1: 1}, lo=0, hi=0)  # msub wraps mod 2^64
    assert (vm.hi, vm.lo) == (M, M)
    vm = run1(r_type(5, T0, T1, op=28), {T0: 2, T1: 3}, lo=10, hi=1)  # msubu
    assert (vm.hi, vm.lo) == (1, 4)
    vm = run1(r_type(2, T0, T1, T2, op=28), {T0: 3, T1: 3}, lo=11, hi=22)
    assert (vm.regs[T2], vm.lo, vm.hi) == (9, 11, 22)
    vm = run1(r_type(0x11, T0), {T0: 77})  # mthi
    assert vm.hi == 77
    vm = run1(r_type(0x10, 0, 0, T2), hi=5)  # mfhi
    assert vm.regs[T2] == 5


A = 0x2000


@pytest.mark.parametrize(
    ("op", "off", "rt_before", "expect"),
    [
        (32, 0, 0, 0x11), (32, 3, 0, 0xFFFFFF88), (36, 3, 0, 0x88),  # lb lbu
        (33, 2, 0, 0xFFFFFF88 & 0xFFFF | 0xFFFF0000), (37, 2, 0, 0xFF88),  # lh lhu (bytes 2..3 = 0xFF88)
        (35, 0, 0, 0x1122FF88), (48, 0, 0, 0x1122FF88),  # lw ll
        (34, 1, 0xAABBCCDD, 0x22FF88DD), (34, 0, 0xAABBCCDD, 0x1122FF88), (34, 3, 0xAABBCCDD, 0x88BBCCDD),  # lwl
        (38, 1, 0xAABBCCDD, 0xAABB1122), (38, 3, 0xAABBCCDD, 0x1122FF88), (38, 0, 0xAABBCCDD, 0xAABBCC11),  # lwr
    ],
)
def test_loads(op: int, off: int, rt_before: int, expect: int):
    vm = run1(i_type(op, T0, T1, off), {T0: A, T1: rt_before}, {A: 0x1122FF88})
    assert not vm.exited and vm.regs[T1] == expect


@pytest.mark.parametrize(
    ("op", "off", "after"),
    [
        (40, 1, 0x11DD3344), (41, 2, 0x1122CCDD), (43, 0, 0xAABBCCDD),  # sb sh sw
        (42, 1, 0x11AABBCC), (42, 0, 0xAABBCCDD), (42, 3, 0x112233AA),  # swl
        (46, 1, 0xCCDD3344), (46, 3, 0xAABBCCDD), (46, 0, 0xDD223344),  # swr
    ],
)
def test_stores(op: int, off: int, after: int):
    vm = run1(i_type(op, T0, T1, off), {T0: A, T1: 0xAABBCCDD}, {A: 0x11223344})
    assert not vm.exited and vm.mem.read_word(A) == after


def test_sc_stores_and_reports_success():
    vm = run1(i_type(56, T0, T1, 4), {T0: A, T1: 9})
    assert vm.mem.read_word(A + 4) == 9 and vm.regs[T1] == 1


@pytest.mark.parametrize(
    ("word", "regs", "code"),
    [
        (i_type(33, T0, T1, 1), {T0: A}, 0xF4),  # lh odd
        (i_type(41, T0, T1, 3), {T0: A}, 0xF4),  # sh odd
        (i_type(35, T0, T1, 2), {T0: A}, 0xF4),  # lw
        (i_type(43, T0, T1, 1), {T0: A}, 0xF4),  # sw
        (i_type(48, T0, 0, 2), {T0: A}, 0xF4),  # ll into r0 still checks alignment
        (i_type(56, T0, T1, 2), {T0: A}, 0xF4),  # sc
        (r_type(0x20, T0, T1, T2), {T0: 0x7FFFFFFF, T1: 1}, 0xF1),  # add overflow
        (r_type(0x20, T0, T1, 0), {T0: 0x7FFFFFFF, T1: 1}, 0xF1),  # even into r0
        (i_type(8, T0, T1, 0x8000), {T0: 0x80000000}, 0xF1),  # addi overflow
        (r_type(0x22, T0, T1, T2), {T0: 0x80000000, T1: 1}, 0xF1),  # sub overflow
        (r_type(0x34, T0, T1), {T0: 3, T1: 3}, 0xF1),  # teq
        (r_type(0x36, T0, T1), {T0: 3, T1: 4}, 0xF1),  # tne
        (r_type(0x30, T0, T1), {T0: 4, T1: M}, 0xF1),  # tge signed
        (r_type(0x33, T0, T1), {T0: 3, T1: M}, 0xF1),  # tltu
        (i_type(1, T0, 12, 5), {T0: 5}, 0xF1),  # teqi
        (i_type(1, T0, 9, 0xFFFF), {T0: M}, 0xF1),  # tgeiu vs 0xFFFFFFFF
        (r_type(0x1A, T0, T1), {T0: 5, T1: 0}, 0xF5),  # div by zero
        (r_type(0x1B, T0, T1), {T0: 5, T1: 0}, 0xF5),  # divu by zero
        (r_type(0x0D), {}, 0xF0),  # break
        (i_type(20, T0, T1, 4), {}, 0xF0),  # beql
        (i_type(1, T0, 2, 4), {}, 0xF0),  # bltzl
        (0x44000000, {}, 0xF0),  # cop1
        (0x7C000000, {}, 0xF0),  # SPECIAL3 (release 2)
        (r_type(0x3F, op=28), {}, 0xF0),  # sdbbp
        (r_type(0x01), {}, 0xF0),  # movci
        (i_type(51, T0, 0, 0), {}, 0xF0),  # pref
    ],
)
def test_faults_change_only_exit_and_step(word: int, regs: dict[int, int], code: int):
    vm = vm_with([word])
    for r, v in regs.items():
        vm.regs[r] = v & M
    vm.mem.write_word(A, 0x11223344)
    vm.lo, vm.hi = 1, 2
    before = snapshot(vm)
    vm.step()
    assert (vm.exited, vm.exit_code, vm.step_count) == (True, code, 1)
    assert snapshot(vm) == before


@pytest.mark.parametrize(
    ("word", "regs", "no_fault"),
    [
        (r_type(0x34, T0, T1), {T0: 3, T1: 4}, True),
        (r_type(0x32, T0, T1), {T0: 4, T1: M}, True),
        (i_type(1, T0, 14, 5), {T0: 5}, True),
    ],
)
def test_traps_with_false_condition_do_nothing(word: int, regs: dict[int, int], no_fault: bool):
    vm = run1(word, regs)
    assert not vm.exited and vm.pc == PC + 4


def test_misaligned_pc_faults():
    vm = vm_with([NOP])
    vm.pc, vm.next_pc = PC + 2, PC + 6
    vm.step()
    assert (vm.exited, vm.exit_code, vm.pc) == (True, 0xF4, PC + 2)


# -- branches and delay slots ------------------------------------------------------------------


def test_taken_branch_moves_into_the_delay_slot_then_the_target():
    vm = vm_with([i_type(4, 0, 0, 3), i_type(9, 0, T0, 1)])  # beq r0,r0,+3 ; addiu t0, r0, 1
    vm.step()
    assert (vm.pc, vm.next_pc) == (PC + 4, PC + 16)
    vm.step()
    assert (vm.pc, vm.next_pc, vm.regs[T0], vm.step_count) == (PC + 16, PC + 20, 1, 2)


def test_not_taken_branch_and_link_still_links():
    vm = run1(i_type(1, T0, 17, 0x10), {T0: M})  # bgezal on a negative value
    assert (vm.pc, vm.next_pc, vm.regs[31]) == (PC + 4, PC + 8, PC + 8)
    vm = run1(i_type(1, T0, 16, 0xFFFF), {T0: M})  # bltzal taken, backwards
    assert (vm.pc, vm.next_pc, vm.regs[31]) == (PC + 4, PC, PC + 8)


@pytest.mark.parametrize(
    ("word", "regs", "npc"),
    [
        (i_type(6, T0, 0, 2), {T0: 0}, PC + 12), (i_type(6, T0, 0, 2), {T0: 1}, PC + 8),  # blez
        (i_type(7, T0, 0, 2), {T0: M}, PC + 8), (i_type(7, T0, 0, 2), {T0: 1}, PC + 12),  # bgtz
        (i_type(5, T0, T1, 2), {T0: 1}, PC + 12), (i_type(1, T0, 0, 2), {T0: M}, PC + 12),  # bne bltz
        (i_type(1, T0, 1, 2), {T0: M}, PC + 8),  # bgez
        (j_type(2, 0x0ABCDEF0), {}, 0x0ABCDEF0), (r_type(8, T0), {T0: 0x1234}, 0x1234),  # j jr
    ],
)
def test_branch_targets(word: int, regs: dict[int, int], npc: int):
    vm = run1(word, regs)
    assert (vm.pc, vm.next_pc) == (PC + 4, npc)


def test_jal_and_jalr_link_and_read_the_target_first():
    vm = run1(j_type(3, 0x2000))
    assert (vm.next_pc, vm.regs[31]) == (0x2000, PC + 8)
    vm = run1(r_type(9, T0, 0, T0), {T0: 0x3000})  # jalr t0, t0
    assert (vm.next_pc, vm.regs[T0]) == (0x3000, PC + 8)


def test_j_keeps_the_top_bits_of_pc_plus_4():
    vm = VM()
    vm.mem.write_word(0x1FFFFFFC, j_type(2, 0x40))
    vm.pc, vm.next_pc = 0x1FFFFFFC, 0x20000000
    vm.step()
    assert vm.next_pc == 0x20000040


def test_branch_in_a_delay_slot_faults():
    vm = vm_with([j_type(2, 0x4000), i_type(4, 0, 0, 5)])
    vm.regs[31] = 7
    vm.step()
    before = snapshot(vm)
    vm.step()
    assert (vm.exited, vm.exit_code, vm.step_count) == (True, 0xF3, 2) and snapshot(vm) == before
    # Same when the state is handed in mid-slot, and for a link instruction (no link written).
    vm = vm_with([j_type(3, 0x4000)])
    vm.next_pc = 0x8000
    vm.step()
    assert (vm.exit_code, vm.regs[31]) == (0xF3, 0)


def test_run_and_step_agree_through_delay_slots():
    words = [i_type(9, 0, T0, 3), i_type(9, T0, T0, 0xFFFF), i_type(5, T0, 0, 0xFFFE), i_type(9, T1, T1, 1), NOP]
    a, b = vm_with(words), vm_with(words)
    for _ in range(12):
        a.step()
    b.run(12)
    assert a.pack() == b.pack() and a.regs[T1] == 3


# -- syscalls -----------------------------------------------------------------------------------


def sys(num: int, a0: int = 0, a1: int = 0, a2: int = 0, **fields: object) -> VM:
    vm = vm_with([SYSCALL])
    vm.regs[2], vm.regs[4], vm.regs[5], vm.regs[6], vm.regs[7] = num, a0, a1, a2, 99
    for k, v in fields.items():
        setattr(vm, k, v)
    vm.step()
    return vm


def test_syscalls():
    vm = sys(4090, 0, 5000)
    assert (vm.regs[2], vm.regs[7], vm.heap, vm.pc) == (HEAP_START, 0, HEAP_START + 8192, PC + 4)
    vm = sys(4090, 0x5000, 1)
    assert (vm.regs[2], vm.heap) == (0x5000, HEAP_START)
    vm = sys(4090, 0, M, heap=0x1000)  # size rounds up modulo 2^32
    assert (vm.regs[2], vm.heap) == (0x1000, 0x1000)
    assert sys(4045).regs[2] == 0xF0000000
    assert sys(4120).regs[2] == 1
    assert (sys(4003, 0, A, 10).regs[2], sys(4003, 0, A, 10).regs[7]) == (0, 0)
    assert (sys(4003, 4, A, 10).regs[2], sys(4003, 4, A, 10).regs[7]) == (M, 9)
    assert (sys(4004, 7, A, 3).regs[2], sys(4004, 7, A, 3).regs[7]) == (M, 9)
    assert [sys(4055, fd, 3).regs[2] for fd in (0, 1, 2)] == [0, 1, 1]
    assert (sys(4055, 5, 3).regs[2], sys(4055, 5, 3).regs[7]) == (M, 9)
    assert (sys(4055, 1, 4).regs[2], sys(4055, 1, 4).regs[7]) == (M, 22)


def test_write_reports_the_count_and_feeds_the_output_sink():
    got: list[tuple[int, bytes]] = []
    vm = vm_with([SYSCALL])
    vm.mem.write(A, b"hello")
    vm.output = lambda fd, data: got.append((fd, data))
    vm.regs[2], vm.regs[4], vm.regs[5], vm.regs[6] = 4004, 2, A, 5
    root = vm.mem.root()
    vm.step()
    assert got == [(2, b"hello")] and vm.regs[2] == 5 and vm.regs[7] == 0 and vm.mem.root() == root


def test_exit_group_and_unknown_syscall_stop_without_touching_registers():
    vm = vm_with([SYSCALL])
    vm.regs[2], vm.regs[4], vm.regs[7] = 4246, 300, 5
    before = snapshot(vm)
    vm.step()
    assert (vm.exited, vm.exit_code, vm.step_count) == (True, 300 & 0xFF, 1) and snapshot(vm) == before
    vm = sys(4001)
    assert (vm.exited, vm.exit_code, vm.pc) == (True, 0xF2, PC)


def test_stdin_is_served_only_when_given():
    vm = sys(4003, 0, A, 4, stdin=b"abcdef")
    assert vm.regs[2] == 4 and vm.mem.read(A, 4) == b"abcd"


# -- self-modifying code -------------------------------------------------------------------------


def test_store_into_decoded_code_is_seen():
    # sw t1, 8(t0) overwrites the instruction two words later, which must then run as written.
    vm = vm_with([i_type(43, T0, T1, 8), NOP, i_type(9, 0, T2, 1)])
    vm.regs[T0], vm.regs[T1] = PC, i_type(9, 0, T2, 2)
    vm.run(1)  # decode everything once
    vm2 = vm_with([i_type(43, T0, T1, 8), NOP, i_type(9, 0, T2, 1)])
    vm2.regs[T0], vm2.regs[T1] = PC, i_type(9, 0, T2, 2)
    for _ in range(3):
        vm2.step()
    vm.run(2)
    assert vm.regs[T2] == vm2.regs[T2] == 2


def test_direct_memory_writes_are_seen_by_step():
    vm = vm_with([i_type(9, 0, T2, 1), NOP])
    vm.step()
    vm.pc, vm.next_pc = PC, PC + 4
    vm.mem.write_word(PC, i_type(9, 0, T2, 7))
    vm.step()
    assert vm.regs[T2] == 7


# -- properties over random instructions ---------------------------------------------------------

_OPS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 20, 28, 31, 32, 33, 34, 35, 36, 37, 38, 40, 41, 42, 43, 46, 48, 51, 56]
_LOADSTORE = {32, 33, 34, 35, 36, 37, 38, 40, 41, 42, 43, 46, 48, 56}
_STORES = {40, 41, 42, 43, 46, 56}
u32 = st.integers(0, M)


def _stored_word(op: int, off: int, old: int, rt: int) -> int:
    """The aligned word a store leaves, from MIPS32's big-endian byte lanes (byte 0 = bits 31..24),
    written out independently of the emulator: sb/sh replace their lane(s), swl stores rt's high
    bytes from `off` to the word's end, swr its low bytes from the word's start up to `off`."""
    old_b, rt_b = list(old.to_bytes(4, "big")), list(rt.to_bytes(4, "big"))
    if op == 40:  # sb
        old_b[off] = rt_b[3]
    elif op == 41:  # sh (off is 0 or 2 here: odd addresses fault)
        old_b[off : off + 2] = rt_b[2:]
    elif op == 42:  # swl
        old_b[off:] = rt_b[: 4 - off]
    elif op == 46:  # swr
        old_b[: off + 1] = rt_b[3 - off :]
    else:  # sw, sc
        old_b = rt_b
    return int.from_bytes(bytes(old_b), "big")


def test_stored_word_lanes_by_hand():
    # the Solidity suite's hand-written vectors (MIPSMemory.t.sol), over 0x8192A3B4 with rt 0x11223344
    w, rt = 0x8192A3B4, 0x11223344
    assert [_stored_word(42, o, w, rt) for o in range(4)] == [0x11223344, 0x81112233, 0x81921122, 0x8192A311]
    assert [_stored_word(46, o, w, rt) for o in range(4)] == [0x4492A3B4, 0x3344A3B4, 0x223344B4, 0x11223344]
    assert _stored_word(40, 1, w, 0x02) == 0x8102A3B4 and _stored_word(41, 2, w, 0x0304) == 0x81920304


@st.composite
def instruction(draw: st.DrawFn) -> int:
    op = draw(st.sampled_from(_OPS))
    rest = draw(st.integers(0, (1 << 26) - 1))
    if op in (0, 28) and draw(st.booleans()):
        rest = (rest & ~63) | draw(st.integers(0, 63))
    if op == 0 and draw(st.booleans()):  # syscalls with a known number are interesting too
        return SYSCALL
    return (op << 26) | rest


@given(instruction(), st.lists(u32, min_size=32, max_size=32), u32, u32, st.sampled_from([0, 4004, 4090, 4045, 4120, 4003, 4055, 4246]))
def test_any_step_keeps_the_invariants_and_its_witness_proves_it(word: int, regs: list[int], lo: int, hi: int, v0: int):
    vm = vm_with([word])
    vm.regs = regs
    if word == SYSCALL:
        vm.regs[2] = v0
    vm.lo, vm.hi = lo, hi
    op = word >> 26
    addr = None
    if op in _LOADSTORE:
        base = vm.regs[(word >> 21) & 31] if (word >> 21) & 31 else 0
        simm = (word & 0xFFFF) - ((word & 0x8000) << 1)
        ea = (base + simm) & M
        assume(ea & ~3 != PC)  # keep the instruction itself out of the data word
        vm.mem.write_word(ea & ~3, regs[3])
        addr = ea & ~3
    pre_state, proof = vm.witness()
    pre_root = vm.mem.root()
    assert pre_state == vm.pack() and len(pre_state) == 226
    # The instruction proof holds the word at pc, against the packed memRoot.
    leaf = verify_leaf(pre_state[:32], PC, proof[:896])
    assert leaf[PC & 31 : (PC & 31) + 4] == struct.pack(">I", word)
    before = snapshot(vm)
    rt_value = vm.regs[(word >> 16) & 31] if (word >> 16) & 31 else 0  # before sc overwrites rt
    old_word = vm.mem.read_word(addr) if addr is not None else 0
    vm.step()
    assert vm.step_count == 1 and vm.regs[0] == regs[0]  # the r0 slot is carried
    if vm.exited and not (word == SYSCALL and v0 == 4246):
        assert 0xF0 <= vm.exit_code <= 0xF5 and snapshot(vm) == before
    touched = addr is not None and not (vm.exited and vm.exit_code == 0xF4)
    assert len(proof) == (1792 if touched else 896)
    if touched:
        verify_leaf(pre_root, addr, proof[896:])
        stored = _stored_word(op, ea & 3, old_word, rt_value) if op in _STORES else None
        expected_root = write_word(pre_root, addr, proof[896:], stored) if stored is not None else pre_root
        assert vm.mem.root() == expected_root
    elif word != SYSCALL or v0 != 4003:
        assert vm.mem.root() == pre_root
    if not vm.exited and op not in (1, 2, 3, 4, 5, 6, 7) and not (op == 0 and word & 63 in (8, 9)):
        assert (vm.pc, vm.next_pc) == (PC + 4, PC + 8)


@pytest.mark.parametrize("name", ["math64_O2", "packed_O0", "switch_O2"])
def test_run_equals_single_steps_on_real_programs(name: str):
    # run() is the fast path (fast-forward hand-over, CLI); step() is what the differential test
    # checks against MIPS.sol. They must agree at every checkpoint.
    from pathlib import Path

    path = str(Path(__file__).parent / "programs" / "elf" / f"{name}.elf")
    a, b = VM.from_elf(path), VM.from_elf(path)
    while not a.exited:
        a.run(997)
        for _ in range(997):
            b.step()
        assert a.pack() == b.pack()
