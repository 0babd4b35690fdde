"""Step witnesses (SPEC §2.7): the packed pre-state and the memory proofs one step needs."""

from offchain.mipsemu.decode import _MEMORY_OPS, M32, data_address
from offchain.mipsemu.fastforward import fast_forward
from offchain.mipsemu.state import State
from offchain.mipsemu.step import step


def data_word(vm) -> int | None:  # type: ignore[no-untyped-def]
    """The aligned data word the next step reads or writes, or None if it touches no data memory.

    None for an exited state, a misaligned pc, non-memory instructions, and loads/stores that fault
    on alignment (they read nothing: SPEC §2.7).
    """
    if vm.exited or vm.pc & 3:
        return None
    word = vm.mem.read_word(vm.pc & M32)
    op = word >> 26
    if op not in _MEMORY_OPS:
        return None
    imm = word & 0xFFFF
    simm = imm - 0x10000 if imm & 0x8000 else imm
    rs = (word >> 21) & 31
    base = vm.regs[rs] if rs else 0
    return data_address(op, base, simm)


def witness(vm) -> tuple[bytes, bytes]:  # type: ignore[no-untyped-def]
    """(packed pre-state, proof): the instruction proof, then the data proof if the step has one."""
    packed = vm.pack()
    proof = vm.mem.proof(vm.pc & M32 & ~3)
    addr = data_word(vm)
    if addr is not None:
        proof += vm.mem.proof(addr)
    return packed, proof


def witness_of_step(path: str, k: int) -> dict[str, str]:
    """The `mipsemu witness ELF --step K` object: pre-state after K steps, its proof, post hash.

    Past the program's exit the exited state is given (a fixed point, SPEC §2.7).
    """
    if k < 0:
        raise ValueError("the step must be >= 0")
    vm = State.from_elf(path)
    fast_forward(vm, k)
    state, proof = witness(vm)
    step(vm)
    return {"state": "0x" + state.hex(), "proof": "0x" + proof.hex(), "post_hash": "0x" + vm.state_hash().hex()}


def compact_proof(proof: bytes) -> bytes:
    """The `stepCompact` form of a step proof (SPEC §2.8): each 896-byte part becomes its leaf, a
    u32 mask with bit h set where sibling h is the zero-subtree hash zero[h], and only the other
    siblings. Most siblings of a sparse program's memory are zero subtrees, so calldata shrinks."""
    from offchain.merkle.hashing import ZERO_HASHES

    out = b""
    for o in range(0, len(proof), 896):
        part, mask, sibs = proof[o : o + 896], 0, b""
        for h in range(27):
            sib = part[32 + 32 * h : 64 + 32 * h]
            if sib == ZERO_HASHES[h]:
                mask |= 1 << h
            else:
                sibs += sib
        out += part[:32] + mask.to_bytes(4, "big") + sibs
    return out
