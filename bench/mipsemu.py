"""MIPS VM: exact stepper speed, unicorn fast-forward speed, and the cost of one deep witness.

Programs are the committed test ELFs (tests/mipsemu/programs); `long_O2` is an int8 matmul kernel
of 151.5 M steps.
"""

import time
from pathlib import Path
from typing import Any

from offchain.mipsemu import VM
from offchain.mipsemu.fastforward import _native, fast_forward

ELF = Path(__file__).resolve().parent.parent / "tests" / "mipsemu" / "programs" / "elf"


def _stepper(name: str, steps: int) -> tuple[float, float]:
    """(steps per wall second, steps per CPU second): the machine is shared, so both are shown."""
    vm = VM.from_elf(str(ELF / f"{name}.elf"))
    t0, c0 = time.perf_counter(), time.process_time()
    n = vm.run(steps)
    vm.mem.root()  # roots are lazy: include the one hash-up a witness would need
    return n / (time.perf_counter() - t0), n / (time.process_time() - c0)


def run() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("long_O2", "sort_O0", "recurse_O2"):
        wall, cpu = _stepper(name, 2_000_000)
        out[f"stepper_{name}"] = {
            "value": wall / 1e6,
            "unit": "M steps/s",
            "target": ">= 3",
            "note": f"{cpu / 1e6:.2f} M steps per CPU-second (cold decode included)",
        }

    long = str(ELF / "long_O2.elf")
    vm = VM.from_elf(long)
    t0 = time.perf_counter()
    fast_forward(vm, 150_000_000)
    dt = time.perf_counter() - t0
    out["fastforward_1.5e8"] = {
        "value": vm.step_count / dt / 1e6,
        "unit": "M steps/s",
        "target": ">= 300",
        "note": f"{vm.step_count:,} steps in {dt:.2f}s incl. setup and copy-back; native hooks: {_native() is not None}",
    }

    # Speed against program length: what a per-run setup costs, and where each engine levels off.
    series = []
    for n in (10_000, 100_000, 1_000_000):
        series.append({"engine": "stepper", "steps": n, "M_steps_per_s": _stepper("long_O2", n)[0] / 1e6})
    for n in (1_000_000, 10_000_000, 100_000_000, 150_000_000):
        vm = VM.from_elf(long)
        t0 = time.perf_counter()
        fast_forward(vm, n)
        series.append({"engine": "fast-forward", "steps": vm.step_count,
                       "M_steps_per_s": vm.step_count / (time.perf_counter() - t0) / 1e6})
    out["speed_vs_length"] = {"value": len(series), "unit": "runs", "data": series,
                              "note": "long_O2 (int8 matmul kernel): exact stepper and unicorn fast-forward, "
                                      "load + run, one run each"}

    t0 = time.perf_counter()
    vm = VM.from_elf(long)
    fast_forward(vm, 100_000_000)
    state, proof = vm.witness()
    vm.step()
    vm.state_hash()
    out["witness_step_1e8"] = {
        "value": time.perf_counter() - t0,
        "unit": "s",
        "target": "<= 3",
        "note": f"load + fast-forward + witness ({len(proof)}-byte proof) + post hash",
    }
    return out
