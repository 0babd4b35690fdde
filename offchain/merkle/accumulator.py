"""The phase-2 state: a fixed-depth Merkle accumulator over node output roots (docs/SPEC.md §5.2).

S_i is the root of a depth-32 tree whose leaf k < i is node k's output tensor root and whose
leaves from i on are zero; leaves are raw 32-byte values and inner nodes keccak pairs, as in VM
memory. Consecutive states differ in one leaf, so one path of siblings proves the step
S_i -> S_{i+1}: the same siblings give S_i with a zero leaf and S_{i+1} with the output root.

All level hashes of the final tree are built once (O(n)); any S_i or transition path is then
read off in O(depth), which is what a bisection needs: a few dozen S_i out of millions.
"""

from offchain.constants import ACC_DEPTH
from offchain.merkle.batch import hash_pairs
from offchain.merkle.hashing import ZERO_HASHES, ZERO_LEAF, hash_pair
from offchain.merkle.proof import root_from_path


def _zeros(depth: int) -> tuple[bytes, ...]:
    z = list(ZERO_HASHES)
    while len(z) <= depth:
        z.append(hash_pair(z[-1], z[-1]))
    return tuple(z)


ACC_ZEROS = _zeros(ACC_DEPTH)


class Accumulator:
    """All phase-2 states S_0 .. S_n of a task whose node outputs are `leaves`."""

    def __init__(self, leaves: list[bytes], depth: int = ACC_DEPTH) -> None:
        if len(leaves) > 1 << depth:
            raise ValueError(f"{len(leaves)} nodes do not fit a depth-{depth} accumulator")
        if any(len(x) != 32 for x in leaves):
            raise ValueError("every accumulator leaf is a 32-byte output root")
        self.depth = depth
        self.zeros = _zeros(depth)
        # levels[h][j]: node at height h, index j, of the tree holding all n leaves (zeros beyond).
        self.levels: list[list[bytes]] = [list(leaves)]
        for h in range(depth):
            below = self.levels[-1]
            if len(below) % 2:
                below = below + [self.zeros[h]]
            # one native call per level (pysha3 pair by pair without a compiler)
            above = hash_pairs(b"".join(below))
            self.levels.append([above[k : k + 32] for k in range(0, len(above), 32)])

    @property
    def n(self) -> int:
        return len(self.levels[0])

    def _prefix(self, h: int, j: int, count: int) -> bytes:
        """Node (h, j) of the tree holding only the first `count` leaves under it."""
        if count <= 0:
            return self.zeros[h]
        if count >= 1 << h:
            return self.levels[h][j]  # fully inside [0, i) ⊆ [0, n): the final tree's node
        half = 1 << (h - 1)
        # One child is full or empty, so this recursion follows a single path: O(h).
        return hash_pair(self._prefix(h - 1, 2 * j, count), self._prefix(h - 1, 2 * j + 1, count - half))

    def root(self, i: int) -> bytes:
        """S_i: the state after i nodes (S_0 is the empty accumulator)."""
        if not 0 <= i <= self.n:
            raise ValueError(f"state index {i} is outside 0..{self.n}")
        return self._prefix(self.depth, 0, i)

    def transition_path(self, i: int) -> list[bytes]:
        """Siblings of leaf i, bottom-up, in S_i and S_{i+1} alike (leaves right of i are zero)."""
        if not 0 <= i < self.n:
            raise ValueError(f"node index {i} is outside 0..{self.n - 1}")
        return self.leaf_path(i, i)

    def leaf_path(self, i: int, state: int) -> list[bytes]:
        """Siblings of leaf i, bottom-up, in S_state (a leaf an input or a token proof reads)."""
        if not 0 <= i < 1 << self.depth or not 0 <= state <= self.n:
            raise ValueError(f"leaf {i} of state {state} is outside the accumulator of {self.n} leaves")
        sibs = []
        for h in range(self.depth):
            j = (i >> h) ^ 1
            # The sibling subtree covers leaves [j·2^h, (j+1)·2^h); only those below `state` are set.
            sibs.append(self._prefix(h, j, state - (j << h)))
        return sibs


def verify_transition(before: bytes, after: bytes, i: int, output_root: bytes, siblings: list[bytes]) -> bool:
    """True iff `after` is `before` with leaf i (zero in `before`) set to `output_root`."""
    return root_from_path(ZERO_LEAF, i, siblings) == before and root_from_path(output_root, i, siblings) == after
