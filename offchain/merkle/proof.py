"""Single-leaf memory proofs: verification and the new root after a write.

A proof for the leaf holding byte address `addr` is 28 x 32 bytes: the leaf itself, then its 27
sibling hashes from the bottom of the tree up. This mirrors `src/lib/MerkleMemory.sol`.
"""

from offchain.constants import LEAF_BYTES, MEMORY_DEPTH, PROOF_BYTES
from offchain.merkle.hashing import hash_pair


class MemoryProofError(ValueError):
    """A memory proof is malformed or does not lead to the expected root."""


class InvalidMemoryProof(MemoryProofError):
    """The proof is well formed but its leaf and siblings do not hash to the expected root."""


def leaf_index(addr: int) -> int:
    if not 0 <= addr < 1 << 32:
        raise ValueError(f"address {addr:#x} is outside the 32-bit address space")
    return addr >> 5


def _split(proof: bytes) -> tuple[bytes, list[bytes]]:
    if len(proof) != PROOF_BYTES:
        raise MemoryProofError(f"memory proof is {len(proof)} bytes, expected {PROOF_BYTES}")
    leaf = proof[:LEAF_BYTES]
    sibs = [proof[LEAF_BYTES * (i + 1) : LEAF_BYTES * (i + 2)] for i in range(MEMORY_DEPTH)]
    return leaf, sibs


def root_from_path(leaf: bytes, index: int, siblings: list[bytes]) -> bytes:
    """Root of the tree in which leaf `index` is `leaf` and its path has these siblings."""
    node = leaf
    for sib in siblings:
        node = hash_pair(sib, node) if index & 1 else hash_pair(node, sib)
        index >>= 1
    return node


def verify_leaf(root: bytes, addr: int, proof: bytes) -> bytes:
    """Return the proven 32-byte leaf holding `addr`, or raise InvalidMemoryProof."""
    leaf, sibs = _split(proof)
    if root_from_path(leaf, leaf_index(addr), sibs) != root:
        raise InvalidMemoryProof(f"memory proof for address {addr:#010x} does not match the root")
    return leaf


def _check_word_aligned(addr: int) -> None:
    if addr & 3:
        raise MemoryProofError(f"address {addr:#010x} is not 4-byte aligned")


def read_word(root: bytes, addr: int, proof: bytes) -> int:
    """The big-endian u32 at the 4-aligned `addr`, proven against `root`."""
    _check_word_aligned(addr)
    leaf = verify_leaf(root, addr, proof)
    off = addr & 31
    return int.from_bytes(leaf[off : off + 4], "big")


def write_word(root: bytes, addr: int, proof: bytes, value: int) -> bytes:
    """The new root after storing the u32 `value` at the 4-aligned `addr`; the proof is checked first."""
    _check_word_aligned(addr)
    leaf = verify_leaf(root, addr, proof)
    off = addr & 31
    new_leaf = leaf[:off] + (value & 0xFFFFFFFF).to_bytes(4, "big") + leaf[off + 4 :]
    return root_from_path(new_leaf, leaf_index(addr), _split(proof)[1])


def write_leaf(root: bytes, addr: int, proof: bytes, new_leaf: bytes) -> bytes:
    """The new root after replacing the whole leaf holding `addr`; the proof is checked first."""
    if len(new_leaf) != LEAF_BYTES:
        raise MemoryProofError(f"a leaf is {LEAF_BYTES} bytes, got {len(new_leaf)}")
    verify_leaf(root, addr, proof)
    return root_from_path(new_leaf, leaf_index(addr), _split(proof)[1])
