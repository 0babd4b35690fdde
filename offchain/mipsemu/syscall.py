"""The syscalls of SPEC §2.6. Numbers are the MIPS o32 Linux ones (4000 + n)."""

from offchain.mipsemu.decode import F_SYSCALL, M32
from offchain.mipsemu.state import BRK_START

SYS_READ = 4003
SYS_WRITE = 4004
SYS_BRK = 4045
SYS_FCNTL = 4055
SYS_MMAP = 4090
SYS_CLONE = 4120
SYS_EXIT_GROUP = 4246
EBADF = 9
EINVAL = 22


def syscall(vm) -> None:  # type: ignore[no-untyped-def]
    """Run the syscall in v0. Sets `exited` for exit_group and for an unknown number (fault 0xF2)."""
    r = vm._regs
    num, a0, a1, a2 = r[2], r[4], r[5], r[6]
    v0, a3 = 0, 0
    if num == SYS_EXIT_GROUP:
        vm.exited = True
        vm.exit_code = a0 & 0xFF
        return  # no register changes (SPEC §2.6)
    if num == SYS_MMAP:
        size = (a1 + 0xFFF) & ~0xFFF & M32
        if a0 == 0:
            v0 = vm.heap & M32
            vm.heap = (vm.heap + size) & M32
        else:
            v0 = a0
    elif num == SYS_BRK:
        v0 = BRK_START
    elif num == SYS_CLONE:
        v0 = 1
    elif num == SYS_WRITE:
        if a0 in (1, 2):
            v0 = a2
            if vm.output is not None and a2:
                vm.output(a0, _read_bytes(vm, a1, a2))
        else:
            v0, a3 = M32, EBADF
    elif num == SYS_READ:
        if a0 == 0:
            if vm.stdin is not None:  # not provable (SPEC §2.6 decision): only for `run --stdin`
                chunk = vm.stdin[vm._stdin_pos : vm._stdin_pos + a2]
                vm._stdin_pos += len(chunk)
                _write_bytes(vm, a1, chunk)
                v0 = len(chunk)
        else:
            v0, a3 = M32, EBADF
    elif num == SYS_FCNTL:
        if a1 == 3:
            if a0 == 0:
                v0 = 0
            elif a0 in (1, 2):
                v0 = 1
            else:
                v0, a3 = M32, EBADF
        else:
            v0, a3 = M32, EINVAL
    else:
        vm.exited = True
        vm.exit_code = F_SYSCALL
        return
    r[2] = v0
    r[7] = a3


def _read_bytes(vm, addr: int, n: int) -> bytes:  # type: ignore[no-untyped-def]
    n = min(n, (1 << 32) - addr)
    return vm._mem.read(addr, n)


def _write_bytes(vm, addr: int, data: bytes) -> None:  # type: ignore[no-untyped-def]
    if not data:
        return
    data = data[: (1 << 32) - addr]
    vm._mem.write(addr, data)
    code = vm._code
    for w in range((addr & ~3), addr + len(data), 4):
        code.pop(w, None)
