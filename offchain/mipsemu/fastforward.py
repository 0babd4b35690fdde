"""Fast-forward with unicorn: reach step K quickly, then hand over to the exact stepper.

Unicorn runs the program from the VM's current state while native hooks (blockcount.c) count
instructions per basic block, delay slots included, exactly as the stepper counts steps. It stops
*before* the block that would pass the target, so the stop is always a block boundary (never in a
delay slot) with an exact step count; state and memory are copied back and the exact stepper runs
the last steps.

Unicorn and the VM disagree on a few things (division by zero, instructions the VM does not
support, branch-likely, `sc` without `ll`, branches in delay slots, traps). Such words are found by
scanning region 0 and get code hooks that stop before them; unicorn exceptions and syscalls that
stop the VM stop it too. After such an event the attempt is thrown away, unicorn is re-run from
the same start to the last block boundary before the event (deterministic), and the exact stepper
executes the troublesome stretch. Only the exact stepper ever decides a fault.

Memory: unicorn's MIPS has kernel segments, so VM addresses cannot all map to themselves. The
CPU is a 4Km (fixed-mapping MMU) with Status.ERL = 0: VM regions 0..7 live at physical
+0x40000000 and regions 12..15 at themselves, mapped on demand; regions 8..11 (kseg0/kseg1) fold
onto physical 0..0x1FFFFFFF, which is never mapped, so any access there is an event and the exact
stepper runs that stretch (programs working mostly there run at about stepper speed). The
virtual-TLB mode would avoid this but re-enters blocks on TLB fills, breaking the step count.

Limitations: code written at run time into pages that were zero when the scan ran is not scanned;
code outside region 0 always goes to the exact stepper.
"""

import ctypes
import mmap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from unicorn import (
    UC_ARCH_MIPS,
    UC_HOOK_BLOCK,
    UC_HOOK_CODE,
    UC_HOOK_INTR,
    UC_HOOK_MEM_UNMAPPED,
    UC_MODE_BIG_ENDIAN,
    UC_MODE_MIPS32,
    UC_PROT_ALL,
    Uc,
    UcError,
)
from unicorn import mips_const as mc

from offchain import native
from offchain.mipsemu.decode import M32
from offchain.mipsemu.state import OutputSink, State
from offchain.mipsemu.step import run
from offchain.mipsemu.syscall import Io, dispatch

REGION0 = 0x10000000
_CHUNK = 1 << 20  # mapping granularity outside region 0
_STATUS_ERL = 1 << 2
_KUSEG_PHYS = 0x40000000  # where the 4Km's fixed MMU puts kuseg while Status.ERL = 0


def _phys(vaddr: int) -> int | None:
    """Physical address unicorn uses for the VM address `vaddr`, or None for kseg0/kseg1.

    With ERL = 0 the 4Km maps kuseg (VM regions 0..7) to +0x40000000 and kseg2/3 (regions 12..15)
    to themselves; kseg0 and kseg1 (regions 8..11) both fold onto physical 0..0x1FFFFFFF, which
    is never mapped, so every access there stops unicorn instead of aliasing.
    """
    if vaddr < 0x80000000:
        return vaddr + _KUSEG_PHYS
    if vaddr >= 0xC0000000:
        return vaddr
    return None


def _virt(paddr: int) -> int | None:
    if _KUSEG_PHYS <= paddr < 0xC0000000:
        return paddr - _KUSEG_PHYS
    if paddr >= 0xC0000000:
        return paddr
    return None


class _Unsupported(Exception):
    """A syscall buffer unicorn cannot address; the attempt is redone up to this point."""
_ZERO_CHUNK = bytes(_CHUNK)
_EXCP_SYSCALL = 17  # QEMU's MIPS exception number for `syscall`
_REGS = [mc.UC_MIPS_REG_0 + i for i in range(32)]
#: Below this many remaining steps the exact stepper is cheaper than setting up unicorn.
EXACT_BELOW = 20_000

# -- native hooks ------------------------------------------------------------------------------


class _Counter(ctypes.Structure):
    _fields_ = [
        ("count", ctypes.c_uint64),
        ("limit", ctypes.c_uint64),
        ("block", ctypes.c_uint64),
        ("last_n", ctypes.c_uint64),
        ("event", ctypes.c_uint64),
        ("event_pc", ctypes.c_uint64),
        ("stop", ctypes.c_void_p),
        ("reg_read", ctypes.c_void_p),
        ("mem_read", ctypes.c_void_p),
        ("reg0", ctypes.c_int64),
    ]


def _native() -> ctypes.CDLL | None:
    """The compiled blockcount.c, or None if no C compiler works (then Python hooks count)."""
    return native.load(Path(__file__).with_name("blockcount.c"))


def _uclib() -> ctypes.CDLL:
    from unicorn.unicorn_py3 import unicorn as ucmod

    return ucmod.uclib


# -- which words unicorn must not run on its own ------------------------------------------------

_SPECIAL_OK = {0, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 15, 16, 17, 18, 19, 24, 25, 26, 27}
_SPECIAL_OK |= set(range(32, 40)) | {42, 43, 48, 49, 50, 51, 52, 54}
_REGIMM_OK = {0, 1, 8, 9, 10, 11, 12, 14, 16, 17}
_SPECIAL2_OK = {0, 1, 2, 4, 5, 32, 33}
_OPS_OK = set(range(2, 16)) | {32, 33, 34, 35, 36, 37, 38, 40, 41, 42, 43, 46, 48}


def _table(ok: set[int], size: int) -> np.ndarray:
    t = np.zeros(size, dtype=bool)
    t[list(ok)] = True
    return t


_T_OPS = _table(_OPS_OK | {0, 1, 28}, 64)
_T_SPECIAL = _table(_SPECIAL_OK, 64)
_T_REGIMM = _table(_REGIMM_OK, 32)
_T_SPECIAL2 = _table(_SPECIAL2_OK, 64)


def scan_words(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(division mask, risky mask) over consecutive big-endian instruction words."""
    w = words.astype(np.uint32)
    op = w >> 26
    funct = w & 63
    rt = (w >> 16) & 31
    rs = (w >> 21) & 31
    sa = (w >> 6) & 31
    special, regimm, special2 = op == 0, op == 1, op == 28
    ok = _T_OPS[op]
    ok &= ~special | _T_SPECIAL[funct]
    ok &= ~regimm | _T_REGIMM[rt]
    ok &= ~special2 | _T_SPECIAL2[funct]
    div = special & ((funct == 26) | (funct == 27))
    branch = (op >= 2) & (op <= 7) | special & ((funct == 8) | (funct == 9)) | regimm & ((rt <= 1) | (rt >= 16)) & ok
    in_slot = np.zeros_like(branch)
    in_slot[1:] = branch[:-1]
    risky = ~ok
    risky |= special & (funct == 2) & (rs != 0)  # rotr on release 2
    risky |= special & (funct == 6) & (sa != 0)  # rotrv
    risky |= op == 56  # sc: the VM always succeeds, QEMU needs a matching ll
    risky |= in_slot & (branch | (special & (funct == 12)))  # branch or syscall in a delay slot
    return div & ~risky, risky


def _scan(vm: State) -> tuple[list[int], list[int]]:
    divs: list[int] = []
    risky: list[int] = []
    for base, page in vm.mem.pages():
        if base >= REGION0:
            break
        words = np.frombuffer(page, dtype=">u4")
        if not words.any():
            continue
        d, r = scan_words(words)
        divs.extend(base + 4 * int(i) for i in np.flatnonzero(d))
        risky.extend(base + 4 * int(i) for i in np.flatnonzero(r))
    return divs, risky


# -- one unicorn attempt -------------------------------------------------------------------------


@dataclass
class _Outcome:
    kind: str  # "stop": clean stop at a block boundary; "exit": the VM exited; "event": redo needed
    count: int  # exact steps executed (for "event": a safe block boundary to redo up to)
    pc: int = 0
    regs: list[int] = field(default_factory=list)
    lo: int = 0
    hi: int = 0
    exit_code: int = 0


class _Attempt:
    def __init__(self, vm: State, limit: int, scan: tuple[list[int], list[int]]) -> None:
        self.vm = vm
        # vm.output is the fast-forward's _OutputGate while an attempt runs.
        self.io = Io(vm.heap & M32, vm.output, vm.stdin, vm._stdin_pos)
        self.uc = uc = Uc(UC_ARCH_MIPS, UC_MODE_MIPS32 + UC_MODE_BIG_ENDIAN)
        # MIPS32 r1 with a fixed-mapping MMU (4Km), run with Status.ERL = 0 (see _phys): no FPU,
        # no TLB, and no block is ever re-entered (unicorn's virtual-TLB mode re-enters blocks
        # on TLB fills, which would break the step count).
        uc.ctl_set_cpu_model(mc.UC_CPU_MIPS32_4KM)
        uc.reg_write(mc.UC_MIPS_REG_CP0_STATUS, uc.reg_read(mc.UC_MIPS_REG_CP0_STATUS) & ~_STATUS_ERL)
        # Region 0 is backed by an anonymous mapping of our own (page-aligned, zero until
        # touched), so the copy-back reads only the pages the kernel says were ever touched.
        self.region0 = np.frombuffer(mmap.mmap(-1, REGION0), dtype=np.uint8)
        uc.mem_map_ptr(_phys(0), REGION0, UC_PROT_ALL, self.region0.ctypes.data)
        self.chunks: set[int] = set()
        # Outside region 0, memory is mapped and copied a whole chunk at a time; the copies are
        # kept so the copy-back can skip unchanged chunks with one comparison.
        self.loaded: dict[int, bytes] = {}
        for base, page in vm.mem.pages():
            if base < REGION0:
                self.region0[base : base + len(page)] = np.frombuffer(page, dtype=np.uint8)
            else:
                chunk = base & ~(_CHUNK - 1)
                if chunk not in self.loaded and _phys(chunk) is not None:
                    self._map(chunk)
                    self.loaded[chunk] = data = vm.mem.read(chunk, _CHUNK)
                    uc.mem_write(_phys(chunk), data)
        r = vm.regs
        for i in range(1, 32):
            uc.reg_write(_REGS[i], r[i])
        uc.reg_write(mc.UC_MIPS_REG_LO, vm.lo)
        uc.reg_write(mc.UC_MIPS_REG_HI, vm.hi)
        self.c = c = _Counter()
        lib = _uclib()
        c.limit = limit
        c.stop = ctypes.cast(lib.uc_emu_stop, ctypes.c_void_p)
        c.reg_read = ctypes.cast(lib.uc_reg_read, ctypes.c_void_p)
        c.mem_read = ctypes.cast(lib.uc_mem_read, ctypes.c_void_p)
        c.reg0 = mc.UC_MIPS_REG_0
        native = _native()
        divs, risky = scan
        if native is not None:
            self._hook_native(lib, native.ff_block, UC_HOOK_BLOCK, 1, 0)
            for a in divs:
                self._hook_native(lib, native.ff_div, UC_HOOK_CODE, a, a)
            for a in risky:
                self._hook_native(lib, native.ff_risky, UC_HOOK_CODE, a, a)
        else:  # same logic in Python: exact, about 20x slower
            uc.hook_add(UC_HOOK_BLOCK, self._py_block)
            for a in divs:
                uc.hook_add(UC_HOOK_CODE, self._py_div, begin=a, end=a)
            for a in risky:
                uc.hook_add(UC_HOOK_CODE, self._py_risky, begin=a, end=a)
        uc.hook_add(UC_HOOK_BLOCK, self._outside_region0, begin=REGION0, end=M32)
        uc.hook_add(UC_HOOK_INTR, self._intr)
        uc.hook_add(UC_HOOK_MEM_UNMAPPED, self._unmapped)
        self.exit: _Outcome | None = None

    def _hook_native(self, lib: ctypes.CDLL, fn: ctypes._CFuncPtr, kind: int, begin: int, end: int) -> None:
        h = ctypes.c_size_t()
        err = lib.uc_hook_add(
            self.uc._uch, ctypes.byref(h), kind, ctypes.cast(fn, ctypes.c_void_p), ctypes.addressof(self.c), begin, end
        )
        if err:
            raise UcError(err)

    def _map(self, addr: int) -> None:
        """Map the chunk holding the VM address `addr` (which must have a physical address)."""
        base = addr & ~(_CHUNK - 1)
        if base not in self.chunks:
            self.uc.mem_map(_phys(base), _CHUNK, UC_PROT_ALL)  # type: ignore[arg-type]
            self.chunks.add(base)

    # Python versions of blockcount.c (used only without a C compiler)
    def _py_block(self, uc: Uc, address: int, size: int, _: object) -> None:
        c = self.c
        if c.event:
            return
        n = size >> 2
        if c.count + n > c.limit:
            c.event, c.event_pc = 1, address
            uc.emu_stop()
            return
        c.count += n
        c.block, c.last_n = address, n

    def _py_div(self, uc: Uc, address: int, size: int, _: object) -> None:
        rt = (int.from_bytes(uc.mem_read(_phys(address), 4), "big") >> 16) & 31  # type: ignore[arg-type]
        if not self.c.event and uc.reg_read(_REGS[rt]) == 0:
            self._event(address)

    def _py_risky(self, uc: Uc, address: int, size: int, _: object) -> None:
        if not self.c.event:
            self._event(address)

    def _event(self, pc: int) -> None:
        self.c.event, self.c.event_pc = 2, pc
        self.uc.emu_stop()

    def _outside_region0(self, uc: Uc, address: int, size: int, _: object) -> None:
        if not self.c.event:  # code outside region 0 was never scanned
            self._event(address)

    def _unmapped(self, uc: Uc, access: int, paddr: int, size: int, value: int, _: object) -> bool:
        """Map memory on demand. Unicorn reports physical addresses; kseg0/kseg1 (VM regions
        8..11) have none of their own, so an access there sends the stretch to the exact stepper."""
        vaddr = _virt(paddr)
        if vaddr is None or _virt(paddr + size - 1) is None:
            if not self.c.event:
                self._event(uc.reg_read(mc.UC_MIPS_REG_PC))
            return False
        self._map(vaddr)
        self._map(vaddr + size - 1)
        return True

    def _intr(self, uc: Uc, intno: int, _: object) -> None:
        c = self.c
        if c.event:
            return
        s = (uc.reg_read(mc.UC_MIPS_REG_PC) - 4) & M32
        in_block = c.block <= s < c.block + 4 * c.last_n
        if intno != _EXCP_SYSCALL or not in_block:
            self._event(s)
            return
        r = [0] + [uc.reg_read(_REGS[i]) for i in range(1, 32)]
        io = self.io
        saved = (io.heap, io.stdin_pos)
        try:
            res = dispatch(io, r[2], r[4], r[5], r[6], self._read, self._write_mem)
        except _Unsupported:
            io.heap, io.stdin_pos = saved
            self._event(s)
            return
        if isinstance(res, int):  # exit_group or unknown syscall: the VM stops at this syscall
            io.heap, io.stdin_pos = saved
            self.exit = _Outcome(
                "exit",
                c.count - c.last_n + (s - c.block) // 4 + 1,
                s,
                r,
                uc.reg_read(mc.UC_MIPS_REG_LO),
                uc.reg_read(mc.UC_MIPS_REG_HI),
                res,
            )
            c.event = 3
            uc.emu_stop()
            return
        uc.reg_write(mc.UC_MIPS_REG_V0, res[0])
        uc.reg_write(mc.UC_MIPS_REG_A3, res[1])

    def _read(self, addr: int, n: int) -> bytes:
        return bytes(self.uc.mem_read(self._syscall_phys(addr, n), n))

    def _write_mem(self, addr: int, data: bytes) -> None:
        self.uc.mem_write(self._syscall_phys(addr, len(data)), data)

    def _syscall_phys(self, addr: int, n: int) -> int:
        """Physical address of a syscall buffer, mapping it; raises _Unsupported where unicorn
        cannot hold it (kseg0/kseg1, or crossing out of a segment)."""
        p = _phys(addr)
        if n and (p is None or _phys(addr + n - 1) != p + n - 1):
            raise _Unsupported
        for chunk in range(addr & ~(_CHUNK - 1), addr + max(n, 1), _CHUNK):
            self._map(chunk)
        return p  # type: ignore[return-value]

    def run(self, pc: int) -> _Outcome:
        c, uc = self.c, self.uc
        try:
            uc.emu_start(pc, 0)
        except UcError:
            return _Outcome("event", c.count - c.last_n)
        if self.exit is not None:
            return self.exit
        if c.event == 2:
            return _Outcome("event", c.count - c.last_n)
        pc_now = uc.reg_read(mc.UC_MIPS_REG_PC)
        regs = [0] + [uc.reg_read(_REGS[i]) for i in range(1, 32)]
        return _Outcome("stop", c.count, pc_now, regs, uc.reg_read(mc.UC_MIPS_REG_LO), uc.reg_read(mc.UC_MIPS_REG_HI))

    def copy_back(self, out: _Outcome) -> None:
        """Write the outcome's registers and every changed leaf of memory into the VM."""
        vm = self.vm
        mem = vm.mem
        changed = False
        # Region 0: pages that are non-zero now or were present before.
        pages64 = self.region0.view(np.uint64).reshape(-1, 512)
        touched = _touched_pages(self.region0.ctypes.data, REGION0)
        if touched is None:  # no pagemap here: read all 256 MiB (faulting in every zero page)
            candidates = set(np.flatnonzero(pages64.any(axis=1)).tolist())
        else:
            candidates = set(touched[pages64[touched].any(axis=1)].tolist())
        old_pages = {}
        for base, page in mem.pages():
            if base < REGION0:
                candidates.add(base >> 12)
                old_pages[base >> 12] = page
        for p in sorted(candidates):
            new = self.region0[p << 12 : (p + 1) << 12]
            changed |= _update_page(mem, p << 12, new, old_pages.get(p))
        for base in sorted(self.chunks):
            raw = bytes(self.uc.mem_read(_phys(base), _CHUNK))  # type: ignore[arg-type]
            before = self.loaded.get(base)
            if raw == (before if before is not None else _ZERO_CHUNK):
                continue
            data = np.frombuffer(raw, dtype=np.uint8)
            old_chunk = before if before is not None else _ZERO_CHUNK
            for off in range(0, _CHUNK, 4096):
                old = old_chunk[off : off + 4096]
                if raw[off : off + 4096] != old:
                    changed |= _update_page(mem, base + off, data[off : off + 4096], old)
        if changed:
            vm.invalidate_code()
        vm.regs = [vm.regs[0]] + out.regs[1:]  # the r0 slot is carried unchanged (SPEC §2.3)
        vm.lo, vm.hi = out.lo, out.hi
        vm.pc = out.pc
        vm.next_pc = (out.pc + 4) & M32
        vm.heap = self.io.heap
        vm._stdin_pos = self.io.stdin_pos
        vm.step_count += out.count
        if out.kind == "exit":
            vm.exited = True
            vm.exit_code = out.exit_code


def _touched_pages(addr: int, nbytes: int) -> np.ndarray | None:
    """Indices of the 4 KiB pages of the anonymous mapping at `addr` that were ever touched:
    present or swapped out, by /proc/self/pagemap (bits 63 and 62). Every other page has never
    been written and is zero. None where pagemap cannot be read or pages are not 4 KiB."""
    if mmap.PAGESIZE != 4096 or addr % 4096:
        return None
    try:
        with open("/proc/self/pagemap", "rb") as f:
            f.seek((addr >> 12) * 8)
            raw = f.read((nbytes >> 12) * 8)
    except OSError:
        return None
    if len(raw) != (nbytes >> 12) * 8:
        return None
    return np.flatnonzero(np.frombuffer(raw, dtype="<u8") >> np.uint64(62))


def _update_page(mem, addr: int, new: np.ndarray, old: bytes | None) -> bool:  # type: ignore[no-untyped-def]
    """Write the bytes of `new` that differ from `old` (None = zero page); True if any did."""
    old_arr = np.frombuffer(old, dtype=np.uint8) if old is not None else np.zeros(4096, dtype=np.uint8)
    diff = np.flatnonzero(new != old_arr)
    if diff.size == 0:
        return False
    lo, hi = int(diff[0]), int(diff[-1]) + 1
    mem.write(addr + lo, new[lo:hi].tobytes())
    return True


class _OutputGate:
    """Wraps the VM's output sink during a fast-forward. Writes already emitted by an attempt that
    was thrown away are re-executed by the redo and the exact stepper; `skip` swallows them."""

    def __init__(self, sink: "OutputSink | None") -> None:
        self.sink = sink
        self.skip = 0
        self.count = 0

    def __call__(self, fd: int, data: bytes) -> None:
        self.count += 1
        if self.skip:
            self.skip -= 1
        elif self.sink is not None:
            self.sink(fd, data)


def fast_forward(vm: State, target_step: int, exact_below: int = EXACT_BELOW, expect_exit: bool = False) -> None:
    """Advance `vm` to step_count == target_step (or to its exit), exactly as `vm.run` would.

    `expect_exit`: the target is only a bound and the program may well exit long before it (a
    kernel run to its end), so the first 5·exact_below steps are tried in the stepper first: a
    small program then never pays for unicorn's setup. With a target the program reaches (a
    bisection's step k) that probe would only cost stepper time."""
    gate = _OutputGate(vm.output)
    vm.output = gate
    scan: tuple[list[int], list[int]] | None = None
    # Exact steps after an event. It grows while events keep coming (e.g. a program working in
    # kseg0 memory), so such programs run at about the stepper's speed instead of below it.
    stretch = 4096
    try:
        # Short runs (small kernels) finish in the stepper before unicorn's setup (~50 ms) pays off.
        if expect_exit and target_step - vm.step_count > exact_below:
            run(vm, min(5 * exact_below, target_step - vm.step_count))
        while not vm.exited and vm.step_count < target_step:
            remaining = target_step - vm.step_count
            if vm.pc & 3 or vm.next_pc != (vm.pc + 4) & M32:
                run(vm, 1)  # unicorn cannot start inside a delay slot
                continue
            if remaining < exact_below:
                run(vm, remaining)
                continue
            if scan is None:
                scan = _scan(vm)
            before = gate.count
            attempt = _Attempt(vm, remaining, scan)
            out = attempt.run(vm.pc)
            if out.kind != "event":
                stretch = 4096
                attempt.copy_back(out)
                if out.kind == "stop" and not vm.exited and vm.step_count < target_step:
                    # Stopped before a block that would pass the target: the rest is less than one
                    # block (or unicorn stopped at address 0), so the exact stepper finishes.
                    run(vm, min(target_step - vm.step_count, 4096))
                continue
            # Something unicorn must not decide lies ahead: redo up to the last block boundary
            # before it, then let the exact stepper through.
            gate.skip += gate.count - before
            if out.count:
                redo = _Attempt(vm, out.count, scan)
                out = redo.run(vm.pc)
                if out.kind == "stop":
                    redo.copy_back(out)
            run(vm, min(target_step - vm.step_count, stretch))
            stretch = min(stretch * 4, 1 << 22)
    finally:
        vm.output = gate.sink


def run_to_exit(vm: State) -> None:
    """Run until the VM exits (fast-forward, then the exact stepper for the last block)."""
    while not vm.exited:
        fast_forward(vm, vm.step_count + (1 << 62), expect_exit=True)
