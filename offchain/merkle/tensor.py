"""Tensor roots and the region layout of the memory tree (docs/SPEC.md §1.1).

A tensor's bytes are zero-padded to 2^k leaves of 32 bytes and hashed like VM memory. Placed at
the start of a 256 MiB region, the tensor is a subtree of the memory tree, so its root folds up
with zero siblings into the region root, and 16 region roots combine into the memory root.
"""

from offchain.constants import LEAF_BYTES, REGION_COUNT, REGION_HEIGHT
from offchain.merkle.batch import hash_pairs, tree_root
from offchain.merkle.hashing import hash_pair, zero_hash


def tensor_height(nbytes: int) -> int:
    """Smallest k with 2^k leaves holding `nbytes` (an empty tensor is one zero leaf, k = 0)."""
    leaves = max(1, -(-nbytes // LEAF_BYTES))
    return (leaves - 1).bit_length()


def tensor_root(data: bytes) -> tuple[bytes, int]:
    """(root, height) of `data` zero-padded to 2^height leaves."""
    height = tensor_height(len(data))
    if height > REGION_HEIGHT:
        raise ValueError(f"a {len(data)}-byte tensor does not fit in one {LEAF_BYTES << REGION_HEIGHT}-byte region")
    padded = bytes(data) + bytes((LEAF_BYTES << height) - len(data))
    return tree_root(padded), height


def fold_region(root: bytes, height: int) -> bytes:
    """Region root of a region whose first 2^height leaves have `root` and the rest are zero."""
    if not 0 <= height <= REGION_HEIGHT:
        raise ValueError(f"subtree height {height} is outside 0..{REGION_HEIGHT}")
    node = root
    for h in range(height, REGION_HEIGHT):
        node = hash_pair(node, zero_hash(h))
    return node


def combine_regions(region_roots: list[bytes]) -> bytes:
    """Memory root from the 16 region roots, region 0 first."""
    if len(region_roots) != REGION_COUNT:
        raise ValueError(f"expected {REGION_COUNT} region roots, got {len(region_roots)}")
    level = list(region_roots)
    while len(level) > 1:
        level = [hash_pair(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


class TensorTree:
    """The tensor tree of a byte string that changes a little at a time (e.g. a KV cache).

    `update(data)` returns the same root as `tensor_root(data)`, but rehashes only the paths above
    the 32-byte leaves that differ from the previous call's bytes, so appending one cache row costs
    a few dozen hashes instead of a full rebuild.
    """

    def __init__(self) -> None:
        # _levels[h] holds the concatenated 32-byte nodes of height h; _levels[0] is the padded data.
        self._levels: list[bytearray] = []

    def update(self, data: bytes) -> tuple[bytes, int]:
        import numpy as np  # local: the rest of this module stays numpy-free

        height = tensor_height(len(data))
        padded = bytes(data) + bytes((LEAF_BYTES << height) - len(data))
        if len(padded) < 64 * LEAF_BYTES:  # small: one native call beats diffing with numpy
            self._levels = []
            return tree_root(padded), height
        if not self._levels or len(padded) != len(self._levels[0]):
            self._levels = [bytearray(padded)]
            while len(self._levels[-1]) > LEAF_BYTES:
                self._levels.append(bytearray(hash_pairs(bytes(self._levels[-1]))))
            return bytes(self._levels[-1]), height
        old = np.frombuffer(self._levels[0], np.uint8).reshape(-1, LEAF_BYTES)
        new = np.frombuffer(padded, np.uint8).reshape(-1, LEAF_BYTES)
        dirty = set(np.flatnonzero((old != new).any(axis=1)).tolist())
        self._levels[0][:] = padded
        for h in range(1, len(self._levels)):
            dirty = {i >> 1 for i in dirty}
            below, level = self._levels[h - 1], self._levels[h]
            for p in dirty:
                level[32 * p : 32 * p + 32] = hash_pair(bytes(below[64 * p : 64 * p + 32]), bytes(below[64 * p + 32 : 64 * p + 64]))
        return bytes(self._levels[-1]), height
