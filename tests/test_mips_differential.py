"""Differential tests: the Python MIPS emulator (offchain.mipsemu) against the compiled MIPS.sol on anvil.

For every step checked, the emulator gives the witness (packed pre-state and proof), executes the
step, and its post-state hash must equal what `MIPS.step` returns on chain for that witness.
Hypothesis drives random instructions of every supported opcode (and random words, which reach the
undefined ones), random registers, hi/lo, memory, delay-slot and exited states; the real programs of
tests/mipsemu/programs are checked at every step (short ones) or in sampled windows (long ones).
Where the two disagree, docs/SPEC.md §2 decides.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offchain.evm import ContractRevert
from offchain.mipsemu import HEAP_START, VM
from offchain.mipsemu.witness import compact_proof
from tests.budget import LONG_RUN

M32 = 0xFFFFFFFF
PROGRAMS = Path(__file__).resolve().parent / "mipsemu" / "programs" / "elf"
ZERO_CONTEXT = bytes(32)


@pytest.fixture(scope="module")
def mips(chain):  # type: ignore[no-untyped-def]
    return chain.deploy("MIPS")


def _fields(vm: VM) -> str:
    return (
        f"pc={vm.pc:#x} next={vm.next_pc:#x} lo={vm.lo:#x} hi={vm.hi:#x} heap={vm.heap:#x} "
        f"exited={vm.exited} code={vm.exit_code:#x} step={vm.step_count} regs={[hex(r) for r in vm.regs]}"
    )


def check_step(mips, vm: VM) -> bytes:  # type: ignore[no-untyped-def]
    """Step `vm` in Python and on chain from the same witness; the post-state hashes must agree,
    through both `step` and `stepCompact`."""
    packed, proof = vm.witness()
    word = vm.mem.read_word(vm.pc & ~3 & M32) if not vm.exited else None
    before = _fields(vm)
    vm.step()
    expected = vm.state_hash()
    try:
        got = mips.call("step", packed, proof, ZERO_CONTEXT)
    except ContractRevert as e:
        raise AssertionError(f"MIPS.sol reverted {e} on insn {word!r:} ({len(proof)}-byte proof); pre: {before}") from None
    assert got == expected, (
        f"post-state hash differs for insn {word:#010x} at {before}\n python post: {_fields(vm)}"
        if word is not None
        else f"exited state: {before}"
    )
    assert mips.call("stepCompact", packed, compact_proof(proof), ZERO_CONTEXT) == expected, "stepCompact differs"
    return got


# -- instruction generators --------------------------------------------------------------------------

SPECIAL_FUNCTS = [0x00, 0x02, 0x03, 0x04, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0F, 0x10, 0x11, 0x12, 0x13,
                  0x18, 0x19, 0x1A, 0x1B, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B,
                  0x30, 0x31, 0x32, 0x33, 0x34, 0x36]
REGIMM_RTS = [0x00, 0x01, 0x10, 0x11, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0E]
SPECIAL2_FUNCTS = [0x00, 0x01, 0x02, 0x04, 0x05, 0x20, 0x21]
IMM_OPS = list(range(0x08, 0x10))
BRANCH_OPS = [0x02, 0x03, 0x04, 0x05, 0x06, 0x07]
MEMORY_OPS = [0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x28, 0x29, 0x2A, 0x2B, 0x2E, 0x30, 0x38]
SYSCALLS = [4246, 4090, 4045, 4120, 4004, 4003, 4055]

u5 = st.integers(0, 31)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, M32)
# Register values: edge cases and small numbers are where ALU/trap/branch semantics differ.
interesting = st.one_of(
    st.sampled_from([0, 1, 2, 3, 4, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFF8000, 0x8000]),
    st.integers(0, 64),
    u32,
)


@st.composite
def r_type(draw, op: int, functs: list[int]) -> int:  # type: ignore[no-untyped-def]
    funct = draw(st.one_of(st.sampled_from(functs), st.integers(0, 63)))
    return (op << 26) | (draw(u5) << 21) | (draw(u5) << 16) | (draw(u5) << 11) | (draw(u5) << 6) | funct


@st.composite
def i_type(draw, ops: list[int]) -> int:  # type: ignore[no-untyped-def]
    op = draw(st.sampled_from(ops))
    if op in (0x02, 0x03):
        return (op << 26) | draw(st.integers(0, (1 << 26) - 1))
    return (op << 26) | (draw(u5) << 21) | (draw(u5) << 16) | draw(u16)


@st.composite
def regimm(draw) -> int:  # type: ignore[no-untyped-def]
    rt = draw(st.one_of(st.sampled_from(REGIMM_RTS), u5))
    return (1 << 26) | (draw(u5) << 21) | (rt << 16) | draw(u16)


instructions = st.one_of(
    r_type(0x00, SPECIAL_FUNCTS),
    r_type(0x1C, SPECIAL2_FUNCTS),
    regimm(),
    i_type(IMM_OPS),
    i_type(BRANCH_OPS),
    u32,  # anything at all: undefined opcodes, coprocessors, branch-likely, ...
)


@st.composite
def machine(draw, insn_strategy=instructions) -> VM:  # type: ignore[no-untyped-def]
    """A VM with a random instruction at a random pc and random registers, hi/lo and control state."""
    vm = VM()
    vm.regs = [0] + [draw(interesting) for _ in range(31)]
    vm.lo, vm.hi = draw(interesting), draw(interesting)
    vm.heap = draw(st.one_of(st.just(HEAP_START), u32))
    vm.step_count = draw(st.one_of(st.integers(0, 1000), st.just((1 << 64) - 1)))
    vm.preimage_key = draw(st.binary(min_size=32, max_size=32))
    vm.preimage_offset = draw(u32)
    pc = draw(st.one_of(st.integers(0, 0x3FFFF).map(lambda x: 0x400000 + 4 * x), u32.map(lambda x: x & ~3)))
    vm.pc = pc
    # Usually not in a delay slot; sometimes in one (nextPC anywhere), sometimes the pc wraps.
    vm.next_pc = draw(st.one_of(st.just((pc + 4) & M32), st.just((pc + 4) & M32), u32.map(lambda x: x & ~3), u32))
    insn = draw(insn_strategy)
    # A little unrelated memory, and memory right after the instruction (same leaf).
    for addr, data in draw(st.lists(st.tuples(u32, st.binary(min_size=1, max_size=40)), max_size=3)):
        vm.mem.write(min(addr, (1 << 32) - len(data)), data)
    vm.mem.write_word(pc, insn)
    return vm


# -- random single steps -------------------------------------------------------------------------------


@given(vm=machine())
def test_random_register_instructions_agree(mips, vm):  # type: ignore[no-untyped-def]
    check_step(mips, vm)


@st.composite
def memory_machine(draw) -> VM:  # type: ignore[no-untyped-def]
    """A load or store whose effective address (often aligned, often in the instruction's own leaf)
    holds random bytes."""
    vm = draw(machine(st.just(0)))
    op, rs, rt = draw(st.sampled_from(MEMORY_OPS)), draw(st.integers(1, 31)), draw(u5)
    imm = draw(st.one_of(st.integers(-64, 64).map(lambda x: x & 0xFFFF), u16))
    simm = imm - 0x10000 if imm & 0x8000 else imm
    where = draw(st.sampled_from(["aligned", "any", "own-leaf"]))
    if where == "own-leaf":
        target = (vm.pc & ~31) | draw(st.integers(0, 31))
    else:
        target = draw(u32)
        if where == "aligned":
            target &= ~3
    vm.regs[rs] = (target - simm) & M32
    ea = (vm.regs[rs] + simm) & M32
    leaf = ea & ~31
    vm.mem.write(leaf, draw(st.binary(min_size=32, max_size=32)))
    insn = (op << 26) | (rs << 21) | (rt << 16) | imm
    vm.mem.write_word(vm.pc, insn)  # last, so the instruction survives an own-leaf data write
    return vm


@given(vm=memory_machine())
def test_random_loads_and_stores_agree(mips, vm):  # type: ignore[no-untyped-def]
    check_step(mips, vm)


@st.composite
def syscall_machine(draw) -> VM:  # type: ignore[no-untyped-def]
    vm = draw(machine(st.just(0x0000000C)))
    vm.regs[2] = draw(st.one_of(st.sampled_from(SYSCALLS), u32))
    for r in (4, 5, 6):
        vm.regs[r] = draw(st.one_of(st.integers(0, 4), st.sampled_from([4095, 4096, 4097, 0xFFFFFFFF]), u32))
    return vm


@given(vm=syscall_machine())
def test_random_syscalls_agree(mips, vm):  # type: ignore[no-untyped-def]
    check_step(mips, vm)


@given(vm=machine(), code=st.integers(0, 255))
def test_exited_states_are_fixed_points_in_both(mips, vm, code):  # type: ignore[no-untyped-def]
    vm.exited, vm.exit_code = True, code
    pre = vm.state_hash()
    assert check_step(mips, vm) == pre
    assert vm.state_hash() == pre


@given(vm=machine(), off=st.integers(1, 3))
def test_misaligned_pc_faults_in_both(mips, vm, off):  # type: ignore[no-untyped-def]
    vm.pc = (vm.pc & ~3) | off
    check_step(mips, vm)
    assert vm.exited and vm.exit_code == 0xF4


# -- real programs ------------------------------------------------------------------------------------

#: Checked at every step until exit (about 1 ms per step for both entry points on chain).
EVERY_STEP = ["echo_O0", "echo_O2", "packed_O2", "fnptr_O2"] + (
    ["packed_O0", "switch_O2", "fnptr_O0", "switch_O0", "math64_O2", "math64_O0"] if LONG_RUN else []
)
#: Checked in windows of consecutive steps at random points of the run (long ones never exit here).
SAMPLED = ["packed_O0", "switch_O2", "fnptr_O0", "switch_O0", "math64_O2", "math64_O0", "hash_O2", "recurse_O2",
           "sort_O2", "long_O2", "hash_O0", "recurse_O0", "sort_O0", "long_O0"]
WINDOWS, WINDOW = (40, 100) if LONG_RUN else (8, 40)


def _elf(name: str) -> str:
    path = PROGRAMS / f"{name}.elf"
    if not path.exists():
        pytest.skip(f"{path} not built")
    return str(path)


@pytest.mark.parametrize("name", EVERY_STEP)
def test_every_step_of_short_programs_agrees(mips, name):  # type: ignore[no-untyped-def]
    vm = VM.from_elf(_elf(name))
    steps = 0
    while not vm.exited:
        check_step(mips, vm)
        steps += 1
        assert steps < 100_000, "program did not exit"
    check_step(mips, vm)  # and the exited state is a fixed point on chain too


@pytest.mark.parametrize("name", SAMPLED)
def test_sampled_steps_of_long_programs_agree(mips, name):  # type: ignore[no-untyped-def]
    rng = random.Random(f"opml-{name}")
    probe = VM.from_elf(_elf(name))
    horizon = 2_000_000 if LONG_RUN else 400_000
    total = probe.run(horizon)
    starts = sorted(rng.randrange(0, max(1, total)) for _ in range(WINDOWS))
    vm, at = VM.from_elf(_elf(name)), 0
    for start in starts:
        if start > at:
            at += vm.run(start - at)
        for _ in range(WINDOW):
            check_step(mips, vm)
            at += 1
            if vm.exited:
                return
