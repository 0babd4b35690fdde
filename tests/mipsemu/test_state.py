"""State is data: its copy is independent of the original, of the same class, and runs the same."""

from offchain.mipsemu import VM, State
from offchain.mipsemu.step import run

PROGRAM = "tests/mipsemu/programs/elf/hash_O2.elf"


def test_a_copy_has_the_same_state_and_shares_nothing() -> None:
    vm = VM.from_elf(PROGRAM)
    vm.run(500)
    twin = vm.copy()
    assert type(twin) is VM and twin.pack() == vm.pack() and twin.state_hash() == vm.state_hash()
    vm.mem.write(0x1000, b"\x01\x02\x03\x04")
    vm.regs[5] ^= 1
    vm.run(10)
    assert twin.pack() != vm.pack() and twin.mem.read(0x1000, 4) != b"\x01\x02\x03\x04"


def test_a_copy_runs_as_the_original_would() -> None:
    vm = VM.from_elf(PROGRAM)
    vm.run(300)
    twin = vm.copy()
    vm.run(2000)
    twin.run(2000)
    assert twin.state_hash() == vm.state_hash() and twin.step_count == vm.step_count


def test_a_bare_state_copies_and_steps_through_the_functions() -> None:
    state = State.from_elf(PROGRAM)
    twin = state.copy()
    assert type(twin) is State and not hasattr(twin, "step")
    run(state, 100)
    assert state.step_count == 100 and twin.step_count == 0
