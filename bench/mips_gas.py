"""MIPS.sol gas per step: a distribution over instruction kinds, and the EIP-7623 calldata floor.

Every figure comes from a mined transaction's receipt (`gasUsed`) on a Cancun anvil, where the
calldata floor does not exist yet, so `execution = gasUsed - 21000 - standard calldata gas`. The
cost on today's rules (EIP-7623, Prague) is then `21000 + max(4·tokens + execution, 10·tokens)`
with `tokens = zero bytes + 4 × non-zero bytes`; one step per class is also mined on a Prague node
to check that formula.

Both entry points are measured: `step` (SPEC §2.7, full 896-byte proofs) and `stepCompact`
(SPEC §2.8, zero siblings left out), from the same witnesses. Two distributions:
- per class: one hand-built step of each instruction kind (ALU, shifts, branches, mult/div, each
  load/store width, syscalls, faults, exited), run inside a real program's memory so the proofs have
  realistic (mostly non-zero) siblings;
- real: consecutive steps sampled from the test programs, i.e. the mix gcc actually emits.
"""

from __future__ import annotations

import random
import statistics
from pathlib import Path
from typing import Any

from offchain.evm import Anvil, Chain, Contract, calldata_tokens
from offchain.mipsemu import VM
from offchain.mipsemu.witness import compact_proof

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "tests" / "mipsemu" / "programs" / "elf"
CONTEXT = bytes(32)

#: Cannon MIPS.sol v1.2.1 on this machine kind (ANCHORS.md), for the notes.
CANNON = {"tx_median": 61_700, "tx_max": 84_100, "exec_median": 19_100, "floor_median": 75_100}


def _r(funct: int, rs: int = 8, rt: int = 9, rd: int = 10, sa: int = 3) -> int:
    return (rs << 21) | (rt << 16) | (rd << 11) | (sa << 6) | funct


def _i(op: int, rs: int = 8, rt: int = 9, imm: int = 4) -> int:
    return (op << 26) | (rs << 21) | (rt << 16) | (imm & 0xFFFF)


# (class, instruction, register overrides). r29 (sp) points at the program's stack, so loads and
# stores through it touch a populated leaf.
CLASSES: list[tuple[str, int, dict[int, int]]] = [
    ("addu", _r(0x21), {}),
    ("addiu", _i(0x09), {}),
    ("sll", _r(0x00), {}),
    ("slt", _r(0x2A), {}),
    ("lui", _i(0x0F), {}),
    ("beq taken", _i(0x04, 8, 8, 16), {}),
    ("bne not taken", _i(0x05, 8, 8, 16), {}),
    ("bltzal", (1 << 26) | (8 << 21) | (0x10 << 16) | 16, {8: 0xFFFFFFFF}),
    ("j", (2 << 26) | 0x100040, {}),
    ("jal", (3 << 26) | 0x100040, {}),
    ("jr", _r(0x08, rs=31), {31: 0x00400100}),
    ("jalr", _r(0x09, rs=25, rd=31), {25: 0x00400100}),
    ("movn", _r(0x0B), {}),
    ("mfhi", _r(0x10), {}),
    ("mult", _r(0x18), {8: 0x12345678, 9: 0x9ABCDEF0}),
    ("multu", _r(0x19), {8: 0x12345678, 9: 0x9ABCDEF0}),
    ("div", _r(0x1A), {8: 0x82345678, 9: 7}),
    ("divu", _r(0x1B), {8: 0x82345678, 9: 7}),
    ("mul", (28 << 26) | _r(0x02), {}),
    ("madd", (28 << 26) | _r(0x00), {}),
    ("clz", (28 << 26) | _r(0x20), {8: 0x00012345}),
    ("teq (not taken)", _r(0x34), {8: 1, 9: 2}),
    ("lw", _i(0x23, 29, 9, 8), {}),
    ("lb", _i(0x20, 29, 9, 5), {}),
    ("lhu", _i(0x25, 29, 9, 6), {}),
    ("lwl", _i(0x22, 29, 9, 5), {}),
    ("lwr", _i(0x26, 29, 9, 6), {}),
    ("ll", _i(0x30, 29, 9, 8), {}),
    ("sw", _i(0x2B, 29, 9, 8), {9: 0xDEADBEEF}),
    ("sb", _i(0x28, 29, 9, 5), {9: 0xDEADBEEF}),
    ("sh", _i(0x29, 29, 9, 6), {9: 0xDEADBEEF}),
    ("swl", _i(0x2A, 29, 9, 5), {9: 0xDEADBEEF}),
    ("swr", _i(0x2E, 29, 9, 6), {9: 0xDEADBEEF}),
    ("sc", _i(0x38, 29, 9, 8), {9: 0xDEADBEEF}),
    ("syscall write", 0x0000000C, {2: 4004, 4: 1, 5: 0x1000, 6: 12}),
    ("syscall mmap", 0x0000000C, {2: 4090, 4: 0, 5: 65536}),
    ("syscall exit_group", 0x0000000C, {2: 4246, 4: 0}),
    ("fault: undefined", 0x0000000D, {}),
    ("fault: div by zero", _r(0x1A), {9: 0}),
    ("fault: misaligned lw", _i(0x23, 29, 9, 2), {}),
    ("fault: add overflow", _r(0x20), {8: 0x7FFFFFFF, 9: 1}),
]


def _measure(chain: Chain, mips: Contract, packed: bytes, proof: bytes, fn: str = "step") -> dict[str, int]:
    """Mine one step transaction; split its gas into intrinsic, calldata and execution."""
    if fn == "stepCompact":
        proof = compact_proof(proof)
    data, _ = mips._calldata(fn, (packed, proof, CONTEXT))
    txh = chain.rpc.request("eth_sendTransaction", [{"from": chain.sender, "to": mips.address,
                                                     "data": "0x" + data.hex(), "gas": hex(1_000_000)}])
    receipt = chain.wait_for_receipt(txh)
    if int(receipt["status"], 16) != 1:
        raise RuntimeError(f"step reverted: {receipt}")
    used = int(receipt["gasUsed"], 16)
    tokens = calldata_tokens(data)
    execution = used - 21000 - 4 * tokens
    return {
        "calldata_bytes": len(data),
        "tx_cancun": used,
        "execution": execution,
        "floor": 21000 + 10 * tokens,
        "tx_eip7623": 21000 + max(4 * tokens + execution, 10 * tokens),
    }


def _base_vm(rng: random.Random) -> VM:
    """A real program part-way through its run: populated code, data and stack."""
    vm = VM.from_elf(str(PROGRAMS / "sort_O2.elf"))
    vm.run(rng.randrange(1000, 5000))
    return vm


def _class_witness(rng: random.Random, insn: int, regs: dict[int, int]) -> tuple[bytes, bytes]:
    vm = _base_vm(rng)
    vm.next_pc = (vm.pc + 4) & 0xFFFFFFFF  # never in a delay slot
    for r, v in {8: 0x1234, 9: 0x5678, **regs}.items():
        vm.regs[r] = v
    vm.mem.write_word(vm.pc, insn)
    return vm.witness()


def _classify(word: int) -> str:
    op = word >> 26
    if op in (0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x30):
        return "load"
    if op in (0x28, 0x29, 0x2A, 0x2B, 0x2E, 0x38):
        return "store"
    if op in (1, 2, 3, 4, 5, 6, 7) or (op == 0 and word & 0x3F in (8, 9)):
        return "branch/jump"
    if op == 0 and word & 0x3F == 0x0C:
        return "syscall"
    if (op == 0 and word & 0x3F in (0x18, 0x19, 0x1A, 0x1B)) or op == 0x1C:
        return "mult/div/special2"
    return "alu"


def _summary(values: list[int]) -> dict[str, int]:
    return {"min": min(values), "median": int(statistics.median(values)), "max": max(values)}


def _summarise(out: dict[str, Any], label: str, classes: dict[str, dict[str, int]],
               mix: list[tuple[str, dict[str, int]]]) -> None:
    """min/median/max over the instruction classes (faults and exited excluded) and the real mix."""
    ordinary = [v for k, v in classes.items() if not k.startswith(("fault", "exited"))]
    for key, note in (("tx_cancun", "whole tx, Cancun rules"), ("execution", "execution only"),
                      ("tx_eip7623", "whole tx, EIP-7623 (today)")):
        for stat, value in _summary([v[key] for v in ordinary]).items():
            target = ""
            if key == "tx_eip7623" and stat == "median":
                target = "<= 60k typical"
            elif key == "tx_eip7623" and stat == "max":
                target = "<= 100k worst"
            out[f"{label}_{key}_{stat}"] = {"value": value, "unit": "gas", "target": target,
                                            "note": f"{note}; {len(ordinary)} instruction classes"}
    worst = max(classes.items(), key=lambda kv: kv[1]["tx_eip7623"])
    out[f"{label}_worst_class"] = {"value": worst[1]["tx_eip7623"], "unit": "gas", "note": worst[0]}
    for key in ("tx_eip7623", "execution", "calldata_bytes"):
        unit = "bytes" if key == "calldata_bytes" else "gas"
        for stat, value in _summary([m[key] for _, m in mix]).items():
            out[f"{label}_real_{key}_{stat}"] = {"value": value, "unit": unit, "note": f"{len(mix)} program steps"}
    for kind in sorted({k for k, _ in mix}):
        vals = [m["tx_eip7623"] for k, m in mix if k == kind]
        out[f"{label}_real {kind}"] = {"value": int(statistics.median(vals)), "unit": "gas",
                                       "note": f"median of {len(vals)} steps (EIP-7623)"}


def run() -> dict[str, Any]:
    rng = random.Random(7623)
    out: dict[str, Any] = {}
    per_class: dict[str, dict[str, int]] = {}
    per_class_c: dict[str, dict[str, int]] = {}
    real: list[tuple[str, dict[str, int]]] = []
    real_c: list[tuple[str, dict[str, int]]] = []

    with Anvil(args=("--hardfork", "cancun")) as node:
        chain = Chain(node)
        mips = chain.deploy("MIPS")
        witnesses: dict[str, tuple[bytes, bytes]] = {}
        for name, insn, regs in CLASSES:
            w = _class_witness(rng, insn, regs)
            per_class[name] = _measure(chain, mips, *w)
            per_class_c[name] = _measure(chain, mips, *w, fn="stepCompact")
            if name in ("addu", "lw", "sw"):
                witnesses[name] = w
        exited = _base_vm(rng)
        exited.exited, exited.exit_code = True, 0
        per_class["exited (fixed point)"] = _measure(chain, mips, *exited.witness())
        per_class_c["exited (fixed point)"] = _measure(chain, mips, *exited.witness(), fn="stepCompact")

        # The real mix: windows of consecutive steps from several programs.
        for prog in ("sort_O2", "hash_O2", "math64_O2", "recurse_O2", "fnptr_O0"):
            vm = VM.from_elf(str(PROGRAMS / f"{prog}.elf"))
            for _ in range(4):
                vm.run(rng.randrange(100, 3000))
                for _ in range(10):
                    if vm.exited:
                        break
                    word = vm.mem.read_word(vm.pc & ~3)
                    w = vm.witness()
                    real.append((_classify(word), _measure(chain, mips, *w)))
                    real_c.append((_classify(word), _measure(chain, mips, *w, fn="stepCompact")))
                    vm.step()

    # Check the EIP-7623 formula against a node that applies it (anvil's default fork).
    with Anvil() as node:
        chain = Chain(node)
        mips = chain.deploy("MIPS")
        for name, (packed, proof) in witnesses.items():
            got = _measure(chain, mips, packed, proof)["tx_cancun"]
            want = per_class[name]["tx_eip7623"]
            out[f"eip7623_check {name}"] = {"value": got, "unit": "gas",
                                            "note": f"mined on the default fork; formula from Cancun: {want}"}

    for label, classes, mix in (("step", per_class, real), ("compact", per_class_c, real_c)):
        _summarise(out, label, classes, mix)
    out["cannon_reference"] = {"value": CANNON["floor_median"], "unit": "gas",
                               "note": "Cannon v1.2.1 median step under EIP-7623 (ANCHORS.md)"}
    for name, v in per_class.items():
        c = per_class_c[name]
        out[f"class {name}"] = {"value": v["tx_eip7623"], "unit": "gas",
                                "note": f"step: exec {v['execution']}, cancun tx {v['tx_cancun']}, "
                                        f"{v['calldata_bytes']} B | stepCompact: {c['tx_eip7623']} "
                                        f"(exec {c['execution']}, {c['calldata_bytes']} B)"}
    return out


if __name__ == "__main__":
    for k, v in run().items():
        print(f"{k:40} {v}")
