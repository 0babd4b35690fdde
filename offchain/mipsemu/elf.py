"""Loader for the programs the VM runs: static, big-endian, 32-bit MIPS executables (SPEC §2.2).

Everything else is rejected with a one-line `ElfError`, so a wrong build (little-endian, 64-bit,
a PIE, a segment outside region 0) fails at load time instead of running into a fault later.
"""

import struct
from dataclasses import dataclass

#: PT_LOAD segments must end at or below this address (region 0).
REGION0_END = 0x10000000

_EM_MIPS = 8
_ET_EXEC = 2
_PT_LOAD = 1
_EHDR = struct.Struct(">16sHHIIIIIHHHHHH")
_PHDR = struct.Struct(">IIIIIIII")


class ElfError(ValueError):
    """The file is not an ELF the VM accepts."""


@dataclass(frozen=True)
class Segment:
    vaddr: int
    data: bytes  # the file bytes; the loader zero-fills up to memsz
    memsz: int


@dataclass(frozen=True)
class ElfImage:
    entry: int
    segments: tuple[Segment, ...]


def parse_elf(blob: bytes) -> ElfImage:
    """Validate `blob` as a static big-endian MIPS32 executable and return its loadable parts."""
    if len(blob) < 4 or blob[:4] != b"\x7fELF":
        raise ElfError("not an ELF file (bad magic)")
    if len(blob) < _EHDR.size:
        raise ElfError(f"truncated ELF header ({len(blob)} bytes, need {_EHDR.size})")
    ident = blob[:16]
    if ident[4] != 1:
        raise ElfError(f"not a 32-bit ELF (EI_CLASS={ident[4]}); the VM is MIPS32")
    if ident[5] != 2:
        raise ElfError(f"not big-endian (EI_DATA={ident[5]}); build with -EB")
    (_, e_type, e_machine, _, e_entry, e_phoff, _, _, _, e_phentsize, e_phnum, _, _, _) = _EHDR.unpack_from(blob)
    if e_machine != _EM_MIPS:
        raise ElfError(f"not a MIPS ELF (e_machine={e_machine}, want {_EM_MIPS})")
    if e_type != _ET_EXEC:
        raise ElfError(f"not a static executable (e_type={e_type}, want ET_EXEC=2); link with -static, no PIE")
    if e_phnum == 0:
        raise ElfError("ELF has no program headers")
    if e_phentsize != _PHDR.size:
        raise ElfError(f"unexpected program header size {e_phentsize} (want {_PHDR.size})")
    if e_phoff + e_phnum * _PHDR.size > len(blob):
        raise ElfError("truncated ELF: program headers run past the end of the file")
    segments = []
    for i in range(e_phnum):
        p_type, p_offset, p_vaddr, _, p_filesz, p_memsz, _, _ = _PHDR.unpack_from(blob, e_phoff + i * _PHDR.size)
        if p_type != _PT_LOAD:
            continue
        if p_filesz > p_memsz:
            raise ElfError(f"segment {i}: file size {p_filesz:#x} exceeds memory size {p_memsz:#x}")
        if p_filesz and p_offset + p_filesz > len(blob):
            raise ElfError(f"truncated ELF: segment {i} data runs past the end of the file")
        if p_vaddr + p_memsz > REGION0_END:
            raise ElfError(
                f"segment {i} at {p_vaddr:#x}+{p_memsz:#x} is outside region 0 (must end by {REGION0_END:#x})"
            )
        segments.append(Segment(p_vaddr, bytes(blob[p_offset : p_offset + p_filesz]), p_memsz))
    if not segments:
        raise ElfError("ELF has no PT_LOAD segment")
    return ElfImage(e_entry, tuple(segments))


def load_elf(path: str) -> ElfImage:
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError as e:
        raise ElfError(f"cannot read {path}: {e.strerror}") from None
    return parse_elf(blob)
