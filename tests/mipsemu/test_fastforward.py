"""Fast-forward (unicorn) against the exact stepper, in lockstep: after fast_forward(vm, k) the
whole packed state (pc, nextPC, registers, hi/lo, heap, step, memory root) and the program's
output must equal what the stepper alone produces after k steps."""

import mmap
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.mipsemu import VM, fastforward
from offchain.mipsemu.fastforward import _native, fast_forward, run_to_exit, scan_words
from tests.budget import examples
from tests.mipsemu.asm import NOP, SYSCALL, exit_with, i_type, li, r_type, vm_with

ELF_DIR = Path(__file__).parent / "programs" / "elf"
# Programs small enough to step exactly in a test (-O0 and -O2; math64 pulls in libgcc's 64-bit
# division, with divu/teq/clz; packed uses lwl/lwr/swl/swr).
PROGRAMS = ["math64_O0", "math64_O2", "packed_O0", "packed_O2", "fnptr_O0", "fnptr_O2", "switch_O0", "switch_O2", "sort_O2"]


def _collecting(vm: VM) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    vm.output = lambda fd, data: out.append((fd, data))
    return out


def test_native_block_counter_builds():
    assert _native() is not None, "no C compiler: fast-forward falls back to Python hooks (slow)"


@pytest.mark.parametrize("name", PROGRAMS)
def test_lockstep_with_the_stepper(name: str):
    path = str(ELF_DIR / f"{name}.elf")
    ref = VM.from_elf(path)
    ref_out = _collecting(ref)
    total = VM.from_elf(path)
    total.run(1 << 40)
    rng = random.Random(name)
    targets = sorted(rng.sample(range(1, total.step_count), 3)) + [total.step_count - 1, total.step_count + 5]
    for k in targets:
        ref.run(k - ref.step_count)
        vm = VM.from_elf(path)
        out = _collecting(vm)
        fast_forward(vm, k, exact_below=0)
        assert vm.pack() == ref.pack(), f"{name}: state differs after {k} steps"
        assert out == ref_out and vm.exit_code == ref.exit_code


@pytest.mark.parametrize("name", ["math64_O2", "sort_O2"])
def test_the_copy_back_without_pagemap_reads_every_page_and_agrees(monkeypatch, name: str):
    # the fallback where /proc/self/pagemap cannot be read: the whole region is scanned
    path = str(ELF_DIR / f"{name}.elf")
    ref = VM.from_elf(path)
    ref.run(1 << 40)
    vm = VM.from_elf(path)
    monkeypatch.setattr(fastforward, "_touched_pages", lambda addr, n: None)
    fast_forward(vm, 1 << 40, exact_below=0)
    assert vm.pack() == ref.pack()


@settings(max_examples=examples(25), deadline=None)
@given(st.sets(st.integers(0, 4095), max_size=40), st.integers(0, 255))
def test_pagemap_lists_every_written_page_of_a_fresh_mapping(pages, byte):
    # every page outside the list is untouched, hence zero: the copy-back reads only the list
    region = np.frombuffer(mmap.mmap(-1, 4096 * 4096), dtype=np.uint8)
    for p in pages:
        region[4096 * p + byte * 16] = 1
    touched = fastforward._touched_pages(region.ctypes.data, region.size)
    assert touched is not None and set(pages) <= set(touched.tolist())
    outside = np.ones(4096, dtype=bool)
    outside[touched] = False
    assert not region.reshape(4096, 4096)[outside].any()


@settings(max_examples=examples(25))
@given(st.data())
def test_fast_forward_from_any_step_to_any_later_step(data: st.DataObject):
    path = str(ELF_DIR / "math64_O0.elf")
    a = data.draw(st.integers(0, 64_400), label="from")
    b = data.draw(st.integers(a, 64_400), label="to")
    ref = VM.from_elf(path)
    ref.run(b)
    vm = VM.from_elf(path)
    vm.run(a)  # start anywhere, even inside a delay slot
    fast_forward(vm, b, exact_below=0)
    assert vm.pack() == ref.pack()


def _both(words: list[int], steps: int = 1 << 30) -> tuple[VM, VM, list, list]:
    ref, vm = vm_with(words), vm_with(words)
    ref_out, out = _collecting(ref), _collecting(vm)
    ref.run(steps)
    fast_forward(vm, steps, exact_below=0)
    return ref, vm, ref_out, out


T0, T1, T2 = 8, 9, 10


def _loop(body: list[int], n: int = 3000) -> list[int]:
    """t0 = n; do { body; t0-- } while (t0 != 0); exit(7). The body starts at index 2."""
    head = li(T0, n)
    back = -(len(body) + 2)
    return head + body + [i_type(9, T0, T0, 0xFFFF), i_type(5, T0, 0, back & 0xFFFF), NOP] + exit_with(7)


@pytest.mark.parametrize(
    ("name", "body", "code"),
    [
        ("divide by zero on the last trip", [i_type(9, T0, T1, 0xFFFF), r_type(0x1B, T2, T1)], 0xF5),
        ("divisions that never fault", [r_type(0x1B, T2, T0)], 7),
        ("sc in a hot loop", [i_type(56, 29, T1, 0xFFF0)], 7),
        ("trap taken on the last trip", [i_type(1, T0, 12, 1)], 0xF1),
        ("signed overflow on trip 2048", [i_type(15, 0, T1, 0x10), r_type(0x20, T2, T1, T2)], 0xF1),
        ("misaligned load", [i_type(9, 29, T1, 0), i_type(35, T1, T2, 2)], 0xF4),
        ("unsupported instruction (beql)", [i_type(4, T0, T1, 0), i_type(20, 0, 0, 1), NOP], 0xF0),
    ],
)
def test_fault_paths_match_the_stepper(name: str, body: list[int], code: int):
    ref, vm, ref_out, out = _both(_loop(body))
    assert ref.exit_code == code, name
    assert vm.pack() == ref.pack() and vm.state_hash() == ref.state_hash()


def test_output_is_not_repeated_when_an_attempt_is_redone():
    # Each trip writes one byte, then runs an sc (which sends the fast-forward back to the stepper).
    msg = 0x3000
    write = li(4, 1) + li(5, msg) + li(6, 1) + li(2, 4004) + [SYSCALL]
    ref, vm, ref_out, out = _both(_loop(write + [i_type(56, 29, T1, 0xFFF0)], n=50))
    assert len(ref_out) == 50 and out == ref_out and vm.pack() == ref.pack()


def test_branch_in_delay_slot_and_misaligned_jump():
    ref, vm, _, _ = _both(_loop([i_type(4, 0, 0, 2), i_type(5, 0, T0, 1)], n=10))
    assert ref.exit_code == 0xF3 and vm.pack() == ref.pack()
    ref, vm, _, _ = _both(li(T1, 0x1002) + [r_type(8, T1), NOP])
    assert ref.exit_code == 0xF4 and vm.pack() == ref.pack()


def test_memory_outside_region_0_and_heap_round_trip():
    # mmap a heap block, fill it, then store into region 15 too; all must reach the Merkle tree.
    body = li(4, 0) + li(5, 1 << 16) + li(2, 4090) + [SYSCALL, i_type(43, 2, T0, 0x40), i_type(43, 2, T0, 0x7FFC)]
    body += li(T2, 0xF0001000) + [i_type(43, T2, T0, 0)]
    ref, vm, _, _ = _both(_loop(body, n=100))
    assert ref.exit_code == 7 and ref.heap > 0x90000000 and vm.pack() == ref.pack()


def test_run_to_exit_matches_the_stepper_on_a_real_program():
    path = str(ELF_DIR / "sort_O0.elf")
    vm = VM.from_elf(path)
    out = _collecting(vm)
    run_to_exit(vm)
    ref = VM.from_elf(path)
    ref_out = _collecting(ref)
    ref.run(1 << 40)
    assert vm.pack() == ref.pack() and out == ref_out and vm.exited


def test_scan_marks_words_unicorn_must_not_decide():
    words = [NOP, r_type(0x1A, T0, T1), i_type(20, 0, 0, 1), r_type(2, 1, T0, T1), i_type(56, 0, 0, 0),
             i_type(4, 0, 0, 1), i_type(5, 0, 0, 1), SYSCALL, i_type(9, 0, 0, 0)]  # fmt: skip
    import numpy as np

    div, risky = scan_words(np.array(words, dtype=np.uint32))
    assert div.tolist() == [False, True] + [False] * 7
    assert risky.tolist() == [False, False, True, True, True, False, True, True, False]  # 6, 7: in a delay slot


def test_nonzero_r0_slot_survives_a_fast_forward():
    words = _loop([r_type(0x21, 0, T0, T1)], n=5000)  # addu t1, r0, t0 reads r0 as 0
    ref, vm = vm_with(words), vm_with(words)
    ref.regs[0] = vm.regs[0] = 0xABCD
    ref.run(9000)
    fast_forward(vm, 9000, exact_below=0)
    assert vm.pack() == ref.pack() and vm.regs[0] == 0xABCD


def test_preloaded_data_outside_region_0_is_read_and_updated():
    # Sum 4 KiB-spaced words of a 3 MiB block in region 3 into the block itself (read + write).
    base = 0x30000000
    body = [i_type(35, T1, T2, 0), r_type(0x21, T2, 3, 3), i_type(43, T1, 3, 4), i_type(9, T1, T1, 0x1000)]
    words = li(T1, base) + _loop(body, n=700)
    ref, vm = vm_with(words), vm_with(words)
    blob = random.Random(3).randbytes(3 << 20)
    for m in (ref, vm):
        m.mem.write(base, blob)
    ref.run(1 << 30)
    fast_forward(vm, 1 << 30, exact_below=0)
    assert ref.exit_code == 7 and vm.pack() == ref.pack()


@pytest.mark.parametrize("base", [0x20000000, 0x7FF00000, 0x80000000, 0xA0000000, 0xC0000000, 0xFFF00000])
def test_memory_mapped_on_demand_in_every_segment_keeps_the_step_count(base: int):
    # Each trip stores into a fresh 1 MiB chunk from a branch delay slot and from mid-block, then
    # loads it back: unicorn maps memory on demand (kuseg, kseg2/3) or hands kseg0/1 to the stepper.
    body = [i_type(43, T1, T0, 0), i_type(35, T1, T2, 0), r_type(0x21, T2, 3, 3), i_type(15, 0, 11, 0x10),
            r_type(0x21, T1, 11, T1), i_type(4, 0, 0, 1), i_type(43, T1, T0, 0xFFFC), NOP]  # fmt: skip
    ref, vm, _, _ = _both(li(T1, base) + _loop(body, n=15))
    assert ref.exit_code == 7 and vm.pack() == ref.pack()


@pytest.mark.parametrize("k", [0, 1, 19_999, 20_001, 99_999, 100_001, 150_000])
def test_default_settings_stop_exactly_at_the_target(k: int):
    path = str(ELF_DIR / "sort_O2.elf")
    ref, vm = VM.from_elf(path), VM.from_elf(path)
    ref.run(k)
    fast_forward(vm, k)
    assert vm.step_count == k and vm.pack() == ref.pack()


def test_python_hooks_without_a_c_compiler_agree(monkeypatch: pytest.MonkeyPatch):
    import offchain.mipsemu.fastforward as ff

    monkeypatch.setattr(ff, "_native", lambda: None)
    path = str(ELF_DIR / "math64_O2.elf")
    ref, vm = VM.from_elf(path), VM.from_elf(path)
    ref.run(30_000)
    fast_forward(vm, 30_000, exact_below=0)
    assert vm.pack() == ref.pack()
