"""Generate tests/vectors/known_answers.json: roots and step witnesses from an independent source.

Run once (`.venv/bin/python tests/vectors/make_known_answers.py`) and commit the output; the test
(tests/test_known_answers.py) checks the implementation against it byte for byte. Nothing here
imports `offchain`: keccak is pycryptodome's (the implementation uses safe-pysha3 and a C tree),
the trees are built from SPEC §1 directly, and the step vectors come from a hand-written program
whose every step is interpreted below from the MIPS32 manual, small enough to check by hand.
A change that moved both sides of a differential test at once would not move these bytes.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from Crypto.Hash import keccak as _keccak

OUT = Path(__file__).with_name("known_answers.json")
M32 = 0xFFFFFFFF


def keccak(data: bytes) -> bytes:
    return _keccak.new(digest_bits=256, data=data).digest()


ZERO = [bytes(32)]
for _ in range(32):
    ZERO.append(keccak(ZERO[-1] + ZERO[-1]))


# -- trees (SPEC §1.1, §5.2) -----------------------------------------------------------------------


def padded_root(leaves: list[bytes], height: int) -> bytes:
    """Root of 2^height leaves: `leaves` then zero leaves (raw leaves, keccak inner nodes)."""
    level = list(leaves)
    for h in range(height):
        if len(level) % 2:
            level.append(ZERO[h])
        level = [keccak(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0] if level else ZERO[height]


def tensor(data: bytes) -> tuple[bytes, int]:
    n = max(1, (len(data) + 31) // 32)
    k = 0
    while (1 << k) < n:
        k += 1
    chunks = [data[i : i + 32].ljust(32, b"\0") for i in range(0, max(len(data), 1), 32)]
    return padded_root(chunks, k), k


def region_memory_root(region: int, data: bytes) -> bytes:
    """The memory root with `data` at the base of `region` and zeros elsewhere."""
    node, k = tensor(data)
    for h in range(k, 23):
        node = keccak(node + ZERO[h])
    regions = [ZERO[23]] * 16
    regions[region] = node
    return padded_root(regions, 4)


def pattern(n: int, seed: int) -> bytes:
    return bytes((seed * 31 + i * 7 + (i >> 8)) & 0xFF for i in range(n))


# -- a sparse memory of a few words (SPEC §1) ------------------------------------------------------


class Words:
    def __init__(self) -> None:
        self.w: dict[int, int] = {}

    def leaf(self, index: int) -> bytes:
        return b"".join(struct.pack(">I", self.w.get(index * 32 + 4 * j, 0)) for j in range(8))

    def node(self, h: int, index: int) -> bytes:
        if not any((a >> 5) >> h == index for a in self.w):
            return ZERO[h]
        if h == 0:
            return self.leaf(index)
        return keccak(self.node(h - 1, 2 * index) + self.node(h - 1, 2 * index + 1))

    def root(self) -> bytes:
        return self.node(27, 0)

    def proof(self, addr: int) -> bytes:
        i = addr >> 5
        return self.leaf(i) + b"".join(self.node(h, (i >> h) ^ 1) for h in range(27))


# -- the hand-checkable program and its interpreter (MIPS32 manual, SPEC §2) -----------------------

BASE, DATA = 0x00400000, 0x00010000


def i_t(op: int, rs: int, rt: int, imm: int) -> int:
    return (op << 26) | (rs << 21) | (rt << 16) | (imm & 0xFFFF)


def r_t(funct: int, rs: int = 0, rt: int = 0, rd: int = 0, sa: int = 0) -> int:
    return (rs << 21) | (rt << 16) | (rd << 11) | (sa << 6) | funct


PROGRAM = [
    i_t(0x0F, 0, 8, 0x1234),  # lui   t0, 0x1234
    i_t(0x0D, 8, 8, 0x5678),  # ori   t0, t0, 0x5678          t0 = 0x12345678
    i_t(0x09, 0, 9, 0xFFFF),  # addiu t1, zero, -1            t1 = 0xFFFFFFFF
    r_t(0x21, 8, 9, 10),  # addu  t2, t0, t1              t2 = 0x12345677
    i_t(0x0F, 0, 11, 0x0001),  # lui   t3, 0x0001              t3 = DATA
    i_t(0x2B, 11, 10, 8),  # sw    t2, 8(t3)               [DATA+8] = 0x12345677
    i_t(0x23, 11, 12, 8),  # lw    t4, 8(t3)               t4 = 0x12345677
    i_t(0x28, 11, 9, 13),  # sb    t1, 13(t3)              [DATA+12] = 0x00FF0000
    i_t(0x23, 11, 13, 12),  # lw    t5, 12(t3)              t5 = 0x00FF0000
    i_t(0x04, 12, 10, 2),  # beq   t4, t2, +2 (taken)      pc -> delay slot, then +12
    i_t(0x09, 0, 14, 7),  # addiu t6, zero, 7 (delay slot)
    i_t(0x09, 0, 14, 9),  # addiu t6, zero, 9 (skipped)
    r_t(0x2B, 8, 9, 15),  # sltu  t7, t0, t1              t7 = 1
    r_t(0x26, 8, 9, 24),  # xor   t8, t0, t1              t8 = 0xEDCBA987
    r_t(0x02, 0, 24, 25, 4),  # srl   t9, t8, 4               t9 = 0x0EDCBA98
    r_t(0x03, 0, 24, 16, 4),  # sra   s0, t8, 4               s0 = 0xFEDCBA98
    r_t(0x19, 8, 8),  # multu t0, t0                  hi:lo = 0x12345678^2
    r_t(0x12, rd=17),  # mflo  s1
    r_t(0x10, rd=18),  # mfhi  s2
    (0x03 << 26) | ((BASE + 4 * 23) >> 2),  # jal   sub (word 23)
    i_t(0x09, 0, 19, 1),  # addiu s3, zero, 1 (delay slot)
    i_t(0x09, 0, 4, 3),  # addiu a0, zero, 3   (after the return)
    r_t(0x0C),  # syscall: exit_group(3)
    i_t(0x09, 0, 2, 4246),  # sub: addiu v0, zero, 4246
    r_t(0x08, 31),  # jr    ra
    r_t(0x00),  # nop (delay slot)
]


class Machine:
    def __init__(self) -> None:
        self.mem = Words()
        for i, w in enumerate(PROGRAM):
            self.mem.w[BASE + 4 * i] = w
        self.pc, self.next_pc = BASE, BASE + 4
        self.lo = self.hi = 0
        self.heap = 0x90000000
        self.exit_code = self.exited = 0
        self.step = 0
        self.regs = [0] * 32
        self.regs[29] = 0x0FFFFFF0

    def pack(self) -> bytes:
        return self.mem.root() + bytes(32) + struct.pack(
            ">IIIIIIBBQ32I", 0, self.pc, self.next_pc, self.lo, self.hi, self.heap, self.exit_code, self.exited,
            self.step, *self.regs)

    def state_hash(self) -> bytes:
        status = 3 if not self.exited else (self.exit_code if self.exit_code in (0, 1) else 2)
        return bytes([status]) + keccak(self.pack())[1:]

    def data_addr(self, w: int) -> int | None:
        op = w >> 26
        if op in (0x23, 0x2B, 0x28):
            return (self.regs[(w >> 21) & 31] + ((w & 0xFFFF) ^ 0x8000) - 0x8000) & M32
        return None

    def witness(self) -> tuple[bytes, bytes]:
        if self.exited:
            return self.pack(), b""
        proof = self.mem.proof(self.pc)
        ea = self.data_addr(self.mem.w[self.pc])
        if ea is not None:
            proof += self.mem.proof(ea & ~3)
        return self.pack(), proof

    def set(self, r: int, v: int) -> None:
        if r:
            self.regs[r] = v & M32

    def run_one(self) -> None:
        if self.exited:
            return
        self.step += 1
        w = self.mem.w[self.pc]
        op, rs, rt, rd = w >> 26, (w >> 21) & 31, (w >> 16) & 31, (w >> 11) & 31
        s, t = self.regs[rs], self.regs[rt]
        imm = w & 0xFFFF
        simm = (imm ^ 0x8000) - 0x8000
        pc, nxt = self.pc, self.next_pc
        new_next = nxt + 4
        if op == 0x0F:
            self.set(rt, imm << 16)
        elif op == 0x0D:
            self.set(rt, s | imm)
        elif op == 0x09:
            self.set(rt, s + simm)
        elif op == 0x2B:
            self.mem.w[(s + simm) & M32] = t
        elif op == 0x23:
            self.set(rt, self.mem.w.get((s + simm) & M32, 0))
        elif op == 0x28:
            ea = (s + simm) & M32
            lane = 24 - 8 * (ea & 3)  # big-endian: byte 0 is the top byte
            old = self.mem.w.get(ea & ~3, 0)
            self.mem.w[ea & ~3] = (old & ~(0xFF << lane) & M32) | ((t & 0xFF) << lane)
        elif op == 0x04:
            if s == t:
                new_next = (pc + 4 + (simm << 2)) & M32
        elif op == 0x03:
            self.regs[31] = pc + 8
            new_next = ((pc + 4) & 0xF0000000) | ((w & 0x3FFFFFF) << 2)
        elif op == 0:
            f, sa = w & 63, (w >> 6) & 31
            if f == 0x21:
                self.set(rd, s + t)
            elif f == 0x2B:
                self.set(rd, int(s < t))
            elif f == 0x26:
                self.set(rd, s ^ t)
            elif f == 0x02:
                self.set(rd, t >> sa)
            elif f == 0x03:
                self.set(rd, (t - (1 << 32) if t >> 31 else t) >> sa)
            elif f == 0x19:
                p = s * t
                self.lo, self.hi = p & M32, p >> 32
            elif f == 0x12:
                self.set(rd, self.lo)
            elif f == 0x10:
                self.set(rd, self.hi)
            elif f == 0x08:
                new_next = s
            elif f == 0x0C:
                assert self.regs[2] == 4246
                self.exited, self.exit_code = 1, self.regs[4] & 0xFF
                return
            else:
                assert w == 0, hex(w)
        else:
            raise AssertionError(f"not in the program: {w:#010x}")
        self.pc, self.next_pc = nxt, new_next


def step_vectors() -> list[dict[str, str | int]]:
    m = Machine()
    out: list[dict[str, str | int]] = []
    while True:
        pre, proof = m.witness()
        was_exited = m.exited
        m.run_one()
        out.append({"step": len(out), "pre_state": pre.hex(), "proof": proof.hex(), "post_hash": m.state_hash().hex(),
                    "post_state": m.pack().hex()})
        if was_exited:  # one step of the fixed point is recorded too
            return out


def main() -> None:
    tensors = []
    for n, seed in [(0, 0), (1, 1), (31, 2), (32, 3), (33, 4), (100, 5), (1000, 6), (4096, 7), (4101, 8)]:
        data = pattern(n, seed)
        root, k = tensor(data)
        tensors.append({"length": n, "seed": seed, "root": root.hex(), "height": k,
                        "memory_root_in_region": [region_memory_root(r, data).hex() for r in (0, 2, 15)]})
    leaves = [tensor(pattern(n, 40 + n))[0] for n in (4, 64, 300, 0, 7)]
    acc = {"leaves": [x.hex() for x in leaves],
           "roots": [padded_root(leaves[:i], 32).hex() for i in range(len(leaves) + 1)]}
    vectors = {"about": "generated by tests/vectors/make_known_answers.py (pycryptodome keccak, no offchain code)",
               "pattern": "byte i of (length, seed) is (seed*31 + i*7 + (i >> 8)) & 0xFF",
               "zero_hashes": [z.hex() for z in ZERO[:28]], "tensors": tensors, "accumulator": acc,
               "program": {"base": BASE, "words": PROGRAM}, "steps": step_vectors()}
    OUT.write_text(json.dumps(vectors, indent=1) + "\n")
    print(f"{OUT}: {len(tensors)} tensors, {len(acc['roots'])} accumulator roots, {len(vectors['steps'])} steps")


if __name__ == "__main__":
    main()
