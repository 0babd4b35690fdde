"""The VM state (SPEC §2.1): registers, pc/nextPC, hi/lo, heap, exit status, step counter, memory.

This module holds the state itself and its packed form and hash (`State`). Executing steps lives
in `step.py`, syscalls in `syscall.py`, proofs in `witness.py`, as functions over a State; `vm.py`'s
`VM`, the public object, is a State with those functions as methods. Nothing here imports them.
"""

import struct
from collections.abc import Callable
from typing import Self

from offchain.merkle import SparseMemory, keccak
from offchain.mipsemu.elf import load_elf
from offchain.protocol import (
    BRK_START,
    HEAP_START,
    OFF_EXIT_CODE,
    OFF_EXITED,
    STACK_TOP,
    STATE_BYTES,
    STATUS_EXIT_ONE,
    STATUS_EXIT_OTHER,
    STATUS_EXIT_ZERO,
    STATUS_RUNNING,
)

__all__ = ["BRK_START", "HEAP_START", "STACK_TOP", "STATE_BYTES", "OutputSink", "State", "hash_packed", "status_byte"]

_TAIL = struct.Struct(">IIIIIIBBQ32I")  # preimageOffset .. registers, after the two 32-byte fields

#: A sink for what the program writes to fd 1/2: called with (fd, bytes).
OutputSink = Callable[[int, bytes], None]


class State:
    """One MIPS32 machine. Every field is settable; `mem` is a SparseMemory (Merkle root on demand).

    Decoded instructions are cached per pc. Stores made by the VM invalidate the words they touch;
    `step()` also re-checks the fetched word, so writes made directly to `vm.mem` are always seen.
    `run()` trusts the cache: call `invalidate_code()` after patching code behind the VM's back.
    """

    def __init__(self) -> None:
        self._mem = SparseMemory()
        self._regs: list[int] = [0] * 32
        self._hilo: list[int] = [0, 0]  # [lo, hi], shared with the decoded closures
        self.pc = 0
        self.next_pc = 4
        self.heap = HEAP_START
        self.exit_code = 0
        self.exited = False
        self.step_count = 0
        self.preimage_key = bytes(32)
        self.preimage_offset = 0
        self._regs[29] = STACK_TOP
        #: fd 1/2 output of `write`; None drops it (the provable VM has no output effect).
        self.output: OutputSink | None = None
        #: bytes served to `read(0, ...)`; None means end-of-file, the provable behaviour (SPEC §2.6).
        self.stdin: bytes | None = None
        self._stdin_pos = 0
        self.invalidate_code()

    @classmethod
    def from_elf(cls, path: str) -> "Self":
        """The initial state of a program (SPEC §2.2). Raises ElfError for anything but a static BE MIPS32 ELF."""
        image = load_elf(path)
        vm = cls()
        for seg in image.segments:
            vm._mem.write(seg.vaddr, seg.data)
            if seg.memsz > len(seg.data):
                # Only zero-fill what is already backed by a page: absent pages read as zero anyway.
                vm._zero_fill(seg.vaddr + len(seg.data), seg.memsz - len(seg.data))
        vm.pc = image.entry
        vm.next_pc = (image.entry + 4) & 0xFFFFFFFF
        return vm

    def _zero_fill(self, addr: int, n: int) -> None:
        end = addr + n
        page_end = min(end, (addr | 0xFFF) + 1)
        self._mem.write(addr, bytes(page_end - addr))  # the tail of a page that holds file bytes
        addr = page_end
        while addr < end:
            chunk = min(end, addr + 0x1000) - addr
            if any(self._mem.read(addr, chunk)):
                self._mem.write(addr, bytes(chunk))
            addr += chunk

    # -- fields shared with the decoded-instruction closures --------------------------------------
    @property
    def mem(self) -> SparseMemory:
        return self._mem

    @mem.setter
    def mem(self, mem: SparseMemory) -> None:
        self._mem = mem
        self.invalidate_code()

    @property
    def regs(self) -> list[int]:
        return self._regs

    @regs.setter
    def regs(self, values: list[int]) -> None:
        if len(values) != 32:
            raise ValueError(f"need 32 registers, got {len(values)}")
        self._regs[:] = [v & 0xFFFFFFFF for v in values]

    @property
    def lo(self) -> int:
        return self._hilo[0]

    @lo.setter
    def lo(self, v: int) -> None:
        self._hilo[0] = v & 0xFFFFFFFF

    @property
    def hi(self) -> int:
        return self._hilo[1]

    @hi.setter
    def hi(self, v: int) -> None:
        self._hilo[1] = v & 0xFFFFFFFF

    def invalidate_code(self) -> None:
        """Forget every decoded instruction (they capture the memory and register objects)."""
        self._code: dict[int, Callable[[], int | None]] = {}
        self._words: dict[int, int] = {}
        self._branches: set[int] = set()

    # -- packed state and hash -------------------------------------------------------------------
    def pack(self) -> bytes:
        """The 226-byte packed state of SPEC §2.1 (memRoot = mem.root())."""
        if len(self.preimage_key) != 32:
            raise ValueError("preimage_key must be 32 bytes")
        return (
            self._mem.root()
            + bytes(self.preimage_key)
            + _TAIL.pack(
                self.preimage_offset & 0xFFFFFFFF,
                self.pc & 0xFFFFFFFF,
                self.next_pc & 0xFFFFFFFF,
                self._hilo[0],
                self._hilo[1],
                self.heap & 0xFFFFFFFF,
                self.exit_code & 0xFF,
                1 if self.exited else 0,
                self.step_count & 0xFFFFFFFFFFFFFFFF,
                *self._regs,
            )
        )

    def state_hash(self) -> bytes:
        return hash_packed(self.pack())

    def copy(self) -> Self:
        """An independent copy of the machine (memory included), of the same class, ready to run.
        Like a fresh state it has no output sink and no stdin (the provable VM's), and its decode
        cache starts empty."""
        out = type(self)()
        out.mem = self.mem.copy()
        out.regs = list(self.regs)
        out.lo, out.hi = self.lo, self.hi
        out.pc, out.next_pc, out.heap = self.pc, self.next_pc, self.heap
        out.exit_code, out.exited, out.step_count = self.exit_code, self.exited, self.step_count
        out.preimage_key, out.preimage_offset = bytes(self.preimage_key), self.preimage_offset
        return out


def status_byte(exited: bool, exit_code: int) -> int:
    if not exited:
        return STATUS_RUNNING
    return {0: STATUS_EXIT_ZERO, 1: STATUS_EXIT_ONE}.get(exit_code, STATUS_EXIT_OTHER)


def hash_packed(packed: bytes) -> bytes:
    """State hash: keccak256(packed) with byte 0 replaced by the status (SPEC §2.1)."""
    h = keccak(packed)
    return bytes([status_byte(packed[OFF_EXITED] != 0, packed[OFF_EXIT_CODE])]) + h[1:]
