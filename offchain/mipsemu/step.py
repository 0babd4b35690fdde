"""The exact stepper (SPEC §2.3): one step at a time, or many in a tight loop.

Both paths run the same decoded closures (decode.py), so what the differential tests check is
what the fast path executes. The loop keeps pc/nextPC/step in locals and only writes them back
when it stops.
"""

from offchain.mipsemu.decode import F_ALIGN, F_DELAY_SLOT, MISALIGNED, M32, SYSCALL, Closure, decode
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


def run(vm, max_steps: int) -> int:  # type: ignore[no-untyped-def]
    """Execute up to `max_steps` steps; stop early when the VM exits. Returns the steps executed."""
    if vm.exited or max_steps <= 0:
        return 0
    code_get = vm._code.get
    branches = vm._branches
    r = vm._regs
    # r0 reads 0 whatever its packed slot holds, and the slot is carried unchanged (SPEC §2.3):
    # no closure writes r[0], so it is zero while running and the slot is put back afterwards.
    r0_slot = r[0]
    r[0] = 0
    pc = vm.pc & M32
    npc = vm.next_pc & M32
    done = 0
    fault = 0
    # A branch executed while nextPC != pc + 4 faults (SPEC §2.3). Inside the loop that can only
    # happen right after a branch, so it is checked there; here for a state handed in mid-slot.
    if npc != (pc + 4) & M32 and not pc & 3:
        if code_get(pc) is None:
            _decode_at(vm, pc)
        if pc in branches:
            done, fault = 1, F_DELAY_SLOT
            max_steps = 0
    try:
        while done < max_steps:
            f = code_get(pc)
            if f is None:
                f = MISALIGNED if pc & 3 else _decode_at(vm, pc)
            res = f()
            done += 1
            if res is None:
                pc = npc
                npc = (npc + 4) & M32
            elif res >= 0:  # branch or jump: the delay slot runs next, as its own step
                pc = npc
                npc = res
                if pc not in branches and code_get(pc) is not None:
                    continue
                if code_get(pc) is None and not pc & 3:
                    _decode_at(vm, pc)
                if pc in branches:
                    if done < max_steps:
                        done += 1
                        fault = F_DELAY_SLOT
                    break
            elif res == SYSCALL:
                vm.pc, vm.next_pc = pc, npc  # syscalls see a consistent state
                syscall(vm)
                if vm.exited:
                    break
                pc = npc
                npc = (npc + 4) & M32
            else:
                fault = -res
                break
    finally:
        if fault:
            vm.exited = True
            vm.exit_code = fault
        vm.pc = pc
        vm.next_pc = npc
        vm.step_count = (vm.step_count + done) & M64
        r[0] = r0_slot
    return done


__all__ = ["F_ALIGN", "run", "step"]
