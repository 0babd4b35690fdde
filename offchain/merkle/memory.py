"""A sparse 4 GiB byte-addressable memory with a lazily updated Merkle root.

Bytes live in 4 KiB pages created on first write; an unwritten byte reads as zero. A write only
records which leaves changed. `root()` then rehashes exactly the ancestors of those leaves, level
by level, so shared upper paths are hashed once: O(dirty leaves x depth) hashes at most, and
nothing at all when no write happened since the last root.
"""

from collections.abc import Iterable

from offchain.constants import LEAF_BYTES, MEMORY_DEPTH
from offchain.merkle.hashing import ZERO_HASHES, ZERO_LEAF, hash_pair

PAGE_BITS = 12
PAGE_SIZE = 1 << PAGE_BITS
_LEAVES_PER_PAGE_BITS = PAGE_BITS - 5
_ADDR_MASK = (1 << 32) - 1


class SparseMemory:
    """Big-endian 32-bit memory backed by pages, with Merkle roots and proofs on demand."""

    __slots__ = ("_pages", "_dirty", "_nodes")

    def __init__(self) -> None:
        self._pages: dict[int, bytearray] = {}
        # Leaf indices written since the last root() call.
        self._dirty: set[int] = set()
        # _nodes[h][i]: hash of the node at height h (1..27), index i. Absent means all-zero.
        self._nodes: list[dict[int, bytes]] = [{} for _ in range(MEMORY_DEPTH + 1)]

    def copy(self) -> "SparseMemory":
        """An independent copy with the Merkle caches up to date, so the copy's next root()
        rehashes only what changes after it (a bisection clones checkpoints of long runs)."""
        self._flush()
        out = SparseMemory()
        out._pages = {k: bytearray(v) for k, v in self._pages.items()}
        out._nodes = [dict(level) for level in self._nodes]
        return out

    # -- bytes -------------------------------------------------------------------------------
    def read(self, addr: int, n: int) -> bytes:
        """`n` bytes from `addr` (wrapping is not allowed)."""
        if addr < 0 or n < 0 or addr + n > 1 << 32:
            raise ValueError(f"read of {n} bytes at {addr:#x} leaves the 32-bit address space")
        out = bytearray()
        while n:
            page = self._pages.get(addr >> PAGE_BITS)
            off = addr & (PAGE_SIZE - 1)
            take = min(n, PAGE_SIZE - off)
            out += page[off : off + take] if page is not None else bytes(take)
            addr += take
            n -= take
        return bytes(out)

    def write(self, addr: int, data: bytes) -> None:
        """Store `data` at `addr`. No hashing happens until the next root() or proof()."""
        n = len(data)
        if n == 0:
            return
        if addr < 0 or addr + n > 1 << 32:
            raise ValueError(f"write of {n} bytes at {addr:#x} leaves the 32-bit address space")
        self._dirty.update(range(addr >> 5, ((addr + n - 1) >> 5) + 1))
        pos = 0
        while pos < n:
            pidx = addr >> PAGE_BITS
            page = self._pages.get(pidx)
            if page is None:
                page = self._pages[pidx] = bytearray(PAGE_SIZE)
            off = addr & (PAGE_SIZE - 1)
            take = min(n - pos, PAGE_SIZE - off)
            page[off : off + take] = data[pos : pos + take]
            addr += take
            pos += take

    def read_word(self, addr: int) -> int:
        """The big-endian u32 at the 4-aligned `addr`."""
        page = self._pages.get(addr >> PAGE_BITS)
        if page is None:
            return 0
        off = addr & (PAGE_SIZE - 4)
        return int.from_bytes(page[off : off + 4], "big")

    def write_word(self, addr: int, value: int) -> None:
        """Store the u32 `value` big-endian at the 4-aligned `addr`."""
        addr &= _ADDR_MASK & ~3
        pidx = addr >> PAGE_BITS
        page = self._pages.get(pidx)
        if page is None:
            page = self._pages[pidx] = bytearray(PAGE_SIZE)
        off = addr & (PAGE_SIZE - 1)
        page[off : off + 4] = (value & 0xFFFFFFFF).to_bytes(4, "big")
        self._dirty.add(addr >> 5)

    def page_store(self) -> tuple[dict[int, bytearray], set[int]]:
        """(pages, dirty leaves) for hot loops that access words in place (the VM stepper).

        `pages` maps address >> 12 to a 4 KiB bytearray (absent = all zero). A caller that changes
        bytes in place must add each changed byte's leaf index (address >> 5) to `dirty`. Both
        objects live as long as this memory, so they can be captured once.
        """
        return self._pages, self._dirty

    def leaf(self, index: int) -> bytes:
        """The raw 32-byte leaf `index` (address index * 32)."""
        page = self._pages.get(index >> _LEAVES_PER_PAGE_BITS)
        if page is None:
            return ZERO_LEAF
        off = (index << 5) & (PAGE_SIZE - 1)
        return bytes(page[off : off + LEAF_BYTES])

    def pages(self) -> Iterable[tuple[int, bytes]]:
        """(page base address, contents) of every page ever written, in address order."""
        for pidx in sorted(self._pages):
            yield pidx << PAGE_BITS, bytes(self._pages[pidx])

    # -- Merkle ------------------------------------------------------------------------------
    def _flush(self) -> None:
        dirty = self._dirty
        if not dirty:
            return
        leaf = self.leaf
        below_nodes: dict[int, bytes] | None = None
        indices: Iterable[int] = dirty
        for h in range(1, MEMORY_DEPTH + 1):
            parents = {i >> 1 for i in indices}
            level = self._nodes[h]
            if below_nodes is None:
                for p in parents:
                    level[p] = hash_pair(leaf(2 * p), leaf(2 * p + 1))
            else:
                zero = ZERO_HASHES[h - 1]
                get = below_nodes.get
                for p in parents:
                    level[p] = hash_pair(get(2 * p, zero), get(2 * p + 1, zero))
            below_nodes = level
            indices = parents
        dirty.clear()

    def root(self) -> bytes:
        """The memory root. Costs nothing if no write happened since the last call."""
        self._flush()
        return self._nodes[MEMORY_DEPTH].get(0, ZERO_HASHES[MEMORY_DEPTH])

    def node(self, height: int, index: int) -> bytes:
        """Hash of the subtree at `height` (0 = a leaf) and `index` within that level."""
        if height == 0:
            return self.leaf(index)
        self._flush()
        return self._nodes[height].get(index, ZERO_HASHES[height])

    def proof(self, addr: int) -> bytes:
        """The 896-byte proof for the leaf holding `addr`: the leaf, then 27 siblings bottom-up."""
        self._flush()
        index = (addr & _ADDR_MASK) >> 5
        parts = [self.leaf(index), self.leaf(index ^ 1)]
        for h in range(1, MEMORY_DEPTH):
            parts.append(self._nodes[h].get((index >> h) ^ 1, ZERO_HASHES[h]))
        return b"".join(parts)
