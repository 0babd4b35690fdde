"""The test programs behave identically under the VM and under qemu-mips-static (an independent
MIPS implementation): same fd 1 and fd 2 bytes, same exit code."""

import shutil
import subprocess
from pathlib import Path

import pytest

from offchain.mipsemu import VM
from offchain.mipsemu.fastforward import run_to_exit

ELF_DIR = Path(__file__).parent / "programs" / "elf"
QEMU = shutil.which("qemu-mips-static") or shutil.which("qemu-mips")
PROGRAMS = [f"{p}_{o}" for p in ("sort", "hash", "math64", "recurse", "fnptr", "switch", "packed") for o in ("O0", "O2")]

pytestmark = pytest.mark.skipif(QEMU is None, reason="qemu-mips-static not installed (make setup)")


def vm_run(path: Path, stdin: bytes | None = None) -> tuple[bytes, bytes, int]:
    vm = VM.from_elf(str(path))
    streams = {1: bytearray(), 2: bytearray()}
    vm.output = lambda fd, data: streams[fd].extend(data)
    vm.stdin = stdin
    run_to_exit(vm)
    return bytes(streams[1]), bytes(streams[2]), vm.exit_code


def qemu_run(path: Path, stdin: bytes = b"") -> tuple[bytes, bytes, int]:
    p = subprocess.run([QEMU, str(path)], input=stdin, capture_output=True, timeout=60)
    return p.stdout, p.stderr, p.returncode


@pytest.mark.parametrize("name", PROGRAMS)
def test_same_output_and_exit_code_as_qemu(name: str):
    path = ELF_DIR / f"{name}.elf"
    ours = vm_run(path)
    assert ours == qemu_run(path)
    assert ours[0] and ours[2] != 0  # each program prints and exits with a computed code


@pytest.mark.parametrize("opt", ["O0", "O2"])
def test_stdin_is_fed_like_qemu(opt: str):
    path = ELF_DIR / f"echo_{opt}.elf"
    data = b"hello, mips\n" * 20 + b"tail without newline"
    assert vm_run(path, data) == qemu_run(path, data)
    assert vm_run(path) == (b"", b"done\n", 0)  # without --stdin, read(0) is end-of-file
