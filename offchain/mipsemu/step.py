"""The exact stepper (SPEC §2.3): one step at a time, or many in a tight loop.

Both paths run the same decoded closures (decode.py), so what the differential tests check is
what the fast path executes. The loop keeps pc/nextPC/step in locals and only writes them back
when it stops.
"""

from offchain.mipsemu.decode import F_DELAY_SLOT, M32, MISALIGNED, SYSCALL, Closure, decode
from offchain.mipsemu.syscall import syscall

M64 = 0xFFFFFFFFFFFFFFFF


def _decode_at(vm, pc: int) -> Closure:  # type: ignore[no-untyped-def]
    """Decode and cache the instruction at the aligned `pc`."""
    word = vm._mem.read_word(pc)
    fn, is_branch = decode(vm, pc, word)
    vm._code[pc] = fn
    vm._words[pc] = word
    if is_branch:
        vm._branches.add(pc)
    else:
        vm._branches.discard(pc)
    return fn


def step(vm) -> None:  # type: ignore[no-untyped-def]
    """One step. Re-checks the fetched word against the cache, so direct writes to vm.mem are seen."""
    if vm.exited:
        return
    pc = vm.pc & M32
    if not pc & 3 and vm._words.get(pc) != vm._mem.read_word(pc):
        vm._code.pop(pc, None)
    run(vm, 1)


def _delay_slot_fault() -> int:
    return -F_DELAY_SLOT


def run(vm, max_steps: int) -> int:  # type: ignore[no-untyped-def]
    """Execute up to `max_steps` steps; stop early when the VM exits. Returns the steps executed."""
    if vm.exited or max_steps <= 0:
        return 0
    code = vm._code
    branches = vm._branches
    r = vm._regs
    # r0 reads 0 whatever its packed slot holds, and the slot is carried unchanged (SPEC §2.3):
    # no closure writes r[0], so it is zero while running and the slot is put back afterwards.
    r0_slot = r[0]
    r[0] = 0
    pc = vm.pc & M32
    npc = vm.next_pc & M32  # below, npc may run past 2^32 by 4; it is masked where it matters
    done = 0
    fault = 0
    # A branch executed while nextPC != pc + 4 faults (SPEC §2.3). In the loop that is checked
    # right after a branch (for a decoded delay slot) and when decoding; here for a cached branch
    # in a state handed in mid-slot.
    if npc != (pc + 4) & M32 and pc in code and pc in branches:
        code = {pc: _delay_slot_fault}
    try:
        for done in range(1, max_steps + 1):
            try:
                f = code[pc]
            except KeyError:
                if pc > M32 or npc > M32:
                    pc &= M32
                    npc &= M32
                if pc & 3:
                    f = MISALIGNED
                else:
                    f = _decode_at(vm, pc)
                    if pc in branches and npc & M32 != (pc + 4) & M32:
                        f = _delay_slot_fault
                code = vm._code
            res = f()
            if res is None:
                pc = npc
                npc += 4
            elif res >= 0:  # branch or jump: the delay slot runs next, as its own step
                pc = npc & M32
                npc = res
                if pc in branches and pc in code:
                    if done < max_steps:
                        done += 1
                        fault = F_DELAY_SLOT
                    break
            elif res == SYSCALL:
                npc &= M32
                vm.pc, vm.next_pc = pc, npc  # syscalls see a consistent state
                syscall(vm)
                if vm.exited:
                    break
                pc = npc
                npc += 4
            else:
                fault = -res
                break
    finally:
        if fault:
            vm.exited = True
            vm.exit_code = fault
        vm.pc = pc & M32
        vm.next_pc = npc & M32
        vm.step_count = (vm.step_count + done) & M64
        r[0] = r0_slot
    return done


__all__ = ["run", "step"]
