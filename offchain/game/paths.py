"""Compact Merkle paths (SPEC §6.1): the one path format every game proof uses.

A path is a 4-byte big-endian mask, then the siblings that are not zero subtrees, bottom-up. Bit
h of the mask set means the sibling at height h is `zero[h]` and is left out. The depth and the
leaf index are never the caller's: the checker is given both, as the contract derives them.

Trees are the ones of §6.1's table (weight tree, F, programs, prompt, accumulator, output region
in a memory root); each is hashed like memory (leaves raw, inner nodes keccak pairs), so the
siblings come from the existing tree code (`offchain.merkle`), not from a second implementation.
"""

from __future__ import annotations

from collections.abc import Sequence

from offchain.constants import LEAF_BYTES, REGION_COUNT, REGION_HEIGHT, REGION_LEVELS
from offchain.game.errors import Revert
from offchain.merkle import root_from_path
from offchain.merkle.accumulator import ACC_ZEROS, Accumulator
from offchain.merkle.batch import hash_pairs
from offchain.merkle.memory import SparseMemory
from offchain.merkle.tensor import tensor_height

#: zero[h] for h = 0 .. 32 (the accumulator is the deepest tree, SPEC §6.1).
ZEROS = ACC_ZEROS
MASK_BYTES = 4


def encode_path(siblings: Sequence[bytes]) -> bytes:
    """The compact form of a full sibling list (bottom-up): zero subtrees are left out."""
    if len(siblings) > 32:
        raise ValueError(f"a path of depth {len(siblings)} is deeper than the accumulator's 32")
    mask, kept = 0, []
    for h, sib in enumerate(siblings):
        if len(sib) != LEAF_BYTES:
            raise ValueError(f"sibling {h} is {len(sib)} bytes, not 32")
        if sib == ZEROS[h]:
            mask |= 1 << h
        else:
            kept.append(sib)
    return mask.to_bytes(MASK_BYTES, "big") + b"".join(kept)


def decode_path(path: bytes, depth: int) -> list[bytes]:
    """The full sibling list of a compact path of `depth`, checked as the contract checks it."""
    if len(path) < MASK_BYTES:
        raise Revert("InvalidPathLength", f"a path of depth {depth} needs at least 4 bytes, got {len(path)}",
                     (MASK_BYTES, len(path)))
    mask = int.from_bytes(path[:MASK_BYTES], "big")
    if mask >> depth:
        raise Revert("InvalidSiblingMask", f"mask {mask:#010x} has a bit at or above depth {depth}", (mask,))
    explicit = depth - bin(mask).count("1")
    expected = MASK_BYTES + LEAF_BYTES * explicit
    if len(path) != expected:
        raise Revert("InvalidPathLength", f"expected {expected} bytes for depth {depth}, got {len(path)}",
                     (expected, len(path)))
    sibs, off = [], MASK_BYTES
    for h in range(depth):
        if mask >> h & 1:
            sibs.append(ZEROS[h])
        else:
            sibs.append(path[off : off + LEAF_BYTES])
            off += LEAF_BYTES
    return sibs


def path_root(leaf: bytes, index: int, path: bytes, depth: int) -> bytes:
    """The root that `leaf` at `index` and the compact `path` of `depth` hash to."""
    if len(leaf) != LEAF_BYTES:
        raise ValueError(f"a leaf is 32 bytes, got {len(leaf)}")
    if depth > 32 or not 0 <= index < 1 << depth:  # MerklePath.root's first check
        raise Revert("IndexOutOfRange", f"leaf index {index} does not exist at depth {depth}", (index, depth))
    return root_from_path(leaf, index, decode_path(path, depth))


def check_path(root: bytes, leaf: bytes, index: int, path: bytes, depth: int, tree: int | None = None) -> None:
    """Raise Revert unless `path` proves `leaf` at `index` of the depth-`depth` tree `root`.
    `tree` is NodeLink's number for the tree (its InvalidProof(tree, index)); None where the
    contract's InvalidProof has no arguments (TaskRegistry's)."""
    if path_root(leaf, index, path, depth) != root:
        raise Revert("InvalidProof", f"the path does not prove leaf {index} of depth {depth} under the root",
                     () if tree is None else (tree, index))


# -- the trees of §6.1 --------------------------------------------------------------------------


def leaves_depth(n_leaves: int) -> int:
    """⌈log2 n⌉ (0 for one leaf): the depth of a tree over n 32-byte leaves, as a tensor's height."""
    return tensor_height(LEAF_BYTES * n_leaves)


def tree_siblings(data: bytes, index: int) -> list[bytes]:
    """Siblings of leaf `index` in the tensor tree of `data` (zero-padded to 2^height leaves)."""
    height = tensor_height(len(data))
    level = bytes(data) + bytes((LEAF_BYTES << height) - len(data))
    if not 0 <= index < 1 << height:
        raise ValueError(f"leaf {index} is outside a tree of {1 << height} leaves")
    sibs = []
    for _ in range(height):
        k = index ^ 1
        sibs.append(level[LEAF_BYTES * k : LEAF_BYTES * (k + 1)])
        level = hash_pairs(level)
        index >>= 1
    return sibs


def tree_path(data: bytes, index: int) -> bytes:
    """Compact path of leaf `index` in the tensor tree of `data` (weight tree, F, programs, prompt)."""
    return encode_path(tree_siblings(data, index))


def leaf_of(data: bytes, index: int) -> bytes:
    """Leaf `index` of the tensor tree of `data` (zero past its end)."""
    chunk = bytes(data[LEAF_BYTES * index : LEAF_BYTES * (index + 1)])
    return chunk + bytes(LEAF_BYTES - len(chunk))


def accumulator_path(acc: Accumulator, leaf: int, state: int) -> bytes:
    """Compact path of `leaf` in S_state of the phase-2 accumulator (depth 32)."""
    return encode_path(acc.leaf_path(leaf, state))


def region_siblings(mem: SparseMemory, region: int) -> list[bytes]:
    """Siblings of region `region`'s root in the memory root: the 4 levels above the regions."""
    if not 0 <= region < REGION_COUNT:
        raise ValueError(f"region {region} is outside 0..{REGION_COUNT - 1}")
    return [mem.node(REGION_HEIGHT + h, (region >> h) ^ 1) for h in range(REGION_LEVELS)]


def region_path(mem: SparseMemory, region: int) -> bytes:
    """Compact path (depth 4) of a region root in a memory root (SPEC §6.6 `regionPath`)."""
    return encode_path(region_siblings(mem, region))
