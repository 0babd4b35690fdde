"""The syscalls of SPEC §2.6. Numbers are the MIPS o32 Linux ones (4000 + n).

`dispatch` holds the semantics once; the exact stepper and the unicorn fast-forward pass their own
memory accessors, so both run the same code.
"""

from collections.abc import Callable

from offchain.mipsemu.decode import F_SYSCALL, M32
from offchain.protocol import BRK_START

SYS_READ = 4003
SYS_WRITE = 4004
SYS_BRK = 4045
SYS_FCNTL = 4055
SYS_MMAP = 4090
SYS_CLONE = 4120
SYS_EXIT_GROUP = 4246
EBADF = 9
EINVAL = 22
EXITS = frozenset({SYS_EXIT_GROUP})
KNOWN = frozenset({SYS_READ, SYS_WRITE, SYS_BRK, SYS_FCNTL, SYS_MMAP, SYS_CLONE, SYS_EXIT_GROUP})


class Io:
    """The machine-side state a syscall may touch besides registers: heap, output, stdin."""

    def __init__(self, heap: int, output: Callable[[int, bytes], None] | None, stdin: bytes | None, stdin_pos: int):
        self.heap = heap
        self.output = output
        self.stdin = stdin
        self.stdin_pos = stdin_pos


def dispatch(
    io: Io,
    num: int,
    a0: int,
    a1: int,
    a2: int,
    read_mem: Callable[[int, int], bytes],
    write_mem: Callable[[int, bytes], None],
) -> tuple[int, int] | int:
    """Run syscall `num`. Returns (v0, a3) to write back, or an exit code (int) when the VM stops:
    exit_group's `a0 & 0xFF`, or fault 0xF2 for an unknown number. No register changes then."""
    v0, a3 = 0, 0
    if num == SYS_EXIT_GROUP:
        return a0 & 0xFF
    if num == SYS_MMAP:
        size = (a1 + 0xFFF) & ~0xFFF & M32
        if a0 == 0:
            v0 = io.heap
            io.heap = (io.heap + size) & M32
        else:
            v0 = a0
    elif num == SYS_BRK:
        v0 = BRK_START
    elif num == SYS_CLONE:
        v0 = 1
    elif num == SYS_WRITE:
        if a0 in (1, 2):
            v0 = a2
            if io.output is not None and a2:
                io.output(a0, read_mem(a1, min(a2, (1 << 32) - a1)))
        else:
            v0, a3 = M32, EBADF
    elif num == SYS_READ:
        if a0 == 0:
            if io.stdin is not None:  # not provable (SPEC §2.6 decision): only for `run --stdin`
                chunk = io.stdin[io.stdin_pos : io.stdin_pos + a2][: (1 << 32) - a1]
                io.stdin_pos += len(chunk)
                if chunk:
                    write_mem(a1, chunk)
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
        return F_SYSCALL
    return v0, a3


def syscall(vm) -> None:  # type: ignore[no-untyped-def]
    """The stepper's syscall: registers from the VM, memory through its SparseMemory."""
    r = vm._regs
    io = Io(vm.heap & M32, vm.output, vm.stdin, vm._stdin_pos)
    res = dispatch(io, r[2], r[4], r[5], r[6], vm._mem.read, lambda a, d: _write_bytes(vm, a, d))
    vm.heap = io.heap
    vm._stdin_pos = io.stdin_pos
    if isinstance(res, int):
        vm.exited = True
        vm.exit_code = res
        return
    r[2], r[7] = res


def _write_bytes(vm, addr: int, data: bytes) -> None:  # type: ignore[no-untyped-def]
    vm._mem.write(addr, data)
    code = vm._code
    for w in range(addr & ~3, addr + len(data), 4):
        code.pop(w, None)
