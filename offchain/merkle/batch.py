"""Batched keccak for whole tree levels and whole trees (C when available, else pysha3)."""

import ctypes
import sys
from array import array
from pathlib import Path

from offchain.constants import LEAF_BYTES, REGION_HEIGHT
from offchain.merkle.hashing import hash_pair
from offchain.native import load

_lib = load(Path(__file__).with_name("keccak_tree.c"), ("-O3", "-pthread")) if sys.byteorder == "little" else None
if _lib is not None:
    _lib.opml_hash_pairs.argtypes = [ctypes.c_char_p, ctypes.c_uint64, ctypes.c_char_p]
    _lib.opml_tree_root.argtypes = [ctypes.c_char_p, ctypes.c_uint64, ctypes.c_char_p]

NATIVE = _lib is not None


def hash_pairs(pairs: bytes) -> bytes:
    """keccak256 of each 64-byte chunk of `pairs`, concatenated."""
    n = len(pairs) // 64
    if _lib is None:
        return b"".join(hash_pair(pairs[64 * i : 64 * i + 32], pairs[64 * i + 32 : 64 * i + 64]) for i in range(n))
    out = ctypes.create_string_buffer(32 * n)
    _lib.opml_hash_pairs(pairs, n, out)
    return out.raw


def tree_root(padded: bytes) -> bytes:
    """Root of the tree whose leaves are the 32-byte chunks of `padded` (a power of two of them)."""
    leaves = len(padded) // 32
    if _lib is None:
        level = padded
        while len(level) > 32:
            level = hash_pairs(level)
        return level
    buf = ctypes.create_string_buffer(bytes(padded), len(padded))
    out = ctypes.create_string_buffer(32)
    _lib.opml_tree_root(buf, leaves, out)
    return out.raw


if _lib is not None:
    _lib.opml_node_roots.argtypes = [ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    _lib.opml_node_roots.restype = None
    _lib.opml_node_roots_submit.argtypes = _lib.opml_node_roots.argtypes
    _lib.opml_node_roots_submit.restype = ctypes.c_uint64
    _lib.opml_node_roots_wait.argtypes = [ctypes.c_uint64]
    _lib.opml_node_roots_wait.restype = None

_NODE_FIELDS = 8  # struct opml_node in keccak_tree.c: src, nbytes, keep, itemsize, leaves, levels, valid, base
SAVED_TREE_MIN_LEAVES = 64  # below this a full rebuild is cheaper than keeping a tree


def _address(x: "object") -> int:
    """Address of an array's first byte. ctypes.addressof(from_buffer) costs a fifth of
    ndarray.ctypes.data, which matters at ~70 arrays per token; read-only arrays take the latter."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return x.ctypes.data  # type: ignore[attr-defined]


class NodeRoots:
    """Tensor roots of integer arrays' canonical bytes (SPEC §1.1), a whole batch per native call.

    `roots(items)` takes (key, array, keep) triples: the root is that of the array's canonical
    bytes with only the first `keep` kept (None: all) and the rest zero, as tensor_root computes
    it. Arrays of at least SAVED_TREE_MIN_LEAVES leaves keep a tree per key, so an array that
    changes a little between calls (a KV cache) costs only the paths above its changed leaves.

    `roots` is `add` for each item, `take` (the native call's table) and `run`. `start`
    instead queues a prepared batch on a native background thread and `finish` waits for it: the
    caller may go on computing (and preparing later batches) meanwhile, provided it does not write
    the batch's arrays before `finish`, and finishes every started batch, even on error. Batches
    run in the order they are started. Native only: callers check NATIVE and fall back to
    tensor_root / TensorTree.
    """

    def __init__(self) -> None:
        if _lib is None:
            raise RuntimeError("NodeRoots needs the native keccak helper (no C compiler here)")
        import numpy as np  # local: the pure-bytes functions above stay numpy-free

        self._np = np
        # key -> (nbytes, dtype, leaves, tree, itemsize); tree = [buffer, address, built] or None, where
        # `built` is set once a batch that (re)builds it has been taken
        self._meta: dict[str, tuple] = {}
        self._scratch = np.zeros(32 * 64, np.uint8)
        self._rows = array("Q")  # the rows of the next call's table, _NODE_FIELDS words each
        self._alive: list[object] = []
        self._most = 1

    def add(self, key: str, x: "object", keep: int | None = None, prefix_of: int | None = None) -> None:
        """Queue array `x` (its first `keep` canonical bytes) for the next batch, under `key`.

        `prefix_of`: the batch position (see `count`) of this same array queued whole (it may
        come later in the batch); the prefix's root is then read off that node's tree in
        O(log size) hashes. Without it, or if that node keeps no tree, it is hashed in full."""
        if not x.flags.c_contiguous:  # type: ignore[attr-defined]
            x = self._np.ascontiguousarray(x)
        nbytes = x.nbytes  # type: ignore[attr-defined]
        if prefix_of is not None:  # no tree of its own: it is read off the whole array's
            m = self._prefix_meta(key, nbytes, x.dtype)  # type: ignore[attr-defined]
            self._alive.append(x)
            self._rows.extend((_address(x), nbytes, nbytes if keep is None else keep, m[4], m[2], 0, 0, prefix_of + 1))
            return
        m = self._meta.get(key)
        if m is None or m[0] != nbytes or m[1] is not x.dtype:  # type: ignore[attr-defined]
            m = self._describe(key, nbytes, x.dtype)  # type: ignore[attr-defined]
        self._alive.append(x)
        tree = m[3]
        if tree is None:
            self._rows.extend((_address(x), nbytes, nbytes if keep is None else keep, m[4], m[2], 0, 0, 0))
        else:
            self._rows.extend((_address(x), nbytes, nbytes if keep is None else keep, m[4], m[2], tree[1], tree[2], 0))
            tree[2] = 1  # this batch builds it; later batches (run after it) patch it

    @property
    def count(self) -> int:
        """Arrays queued for the next batch so far."""
        return len(self._rows) // _NODE_FIELDS

    def _prefix_meta(self, key: str, nbytes: int, dt: "object") -> tuple:
        m = self._meta.get(key)
        if m is None or m[0] != nbytes or m[1] is not dt:
            m = self._describe(key, nbytes, dt, keep_tree=False)
        return m

    def _describe(self, key: str, nbytes: int, dt: "object", keep_tree: bool = True) -> tuple:
        if dt.kind not in "iu":  # type: ignore[attr-defined]
            raise ValueError(f"only integer tensors have a canonical encoding, got {dt}")
        leaves = 1 << (max(1, -(-nbytes // LEAF_BYTES)) - 1).bit_length()
        if leaves > 1 << REGION_HEIGHT:
            raise ValueError(f"a {nbytes}-byte tensor does not fit in one {LEAF_BYTES << REGION_HEIGHT}-byte region")
        tree = None
        if keep_tree and leaves >= SAVED_TREE_MIN_LEAVES:
            old = self._meta.get(key)
            if old is not None and old[3] is not None and old[2] == leaves:
                tree = old[3]  # same tree shape (e.g. the dtype changed): patching stays exact
            else:
                buf = self._np.zeros(32 * (2 * leaves - 1), self._np.uint8)
                tree = [buf, buf.ctypes.data, 0]
        self._most = max(self._most, leaves)
        m = self._meta[key] = (nbytes, dt, leaves, tree, dt.itemsize)  # type: ignore[attr-defined]
        return m

    def take(self) -> "_Batch":
        """The queued arrays as one prepared native call; the queue starts empty again."""
        np = self._np
        if self._scratch.size < 32 * self._most:
            self._scratch = np.zeros(32 * self._most, np.uint8)
        alive = self._alive
        alive.append(self._scratch)
        alive.extend(m[3][0] for m in self._meta.values() if m[3] is not None)
        n = self.count
        b = _Batch(n, self._rows, self._scratch.ctypes.data, ctypes.create_string_buffer(32 * n), alive)
        self._rows, self._alive = array("Q"), []
        return b

    @staticmethod
    def run(b: "_Batch") -> bytes:
        """The concatenated 32-byte roots of a prepared batch."""
        _lib.opml_node_roots(b.n, b.table_at, b.scratch, b.out)
        return b.out.raw

    @staticmethod
    def start(b: "_Batch") -> "_Batch":
        b.ticket = _lib.opml_node_roots_submit(b.n, b.table_at, b.scratch, b.out)
        if b.ticket == 0:  # no thread could be started: hash it now
            _lib.opml_node_roots(b.n, b.table_at, b.scratch, b.out)
        return b

    @staticmethod
    def finish(b: "_Batch") -> bytes:
        if b.ticket:
            _lib.opml_node_roots_wait(b.ticket)
        return b.out.raw

    def roots(self, items: "list[tuple[str, object, int | None]]") -> list[bytes]:
        """Roots of (key, array, keep) items, each hashed in full (see `add`)."""
        for key, x, keep in items:
            self.add(key, x, keep)
        return split_roots(self.run(self.take()))


class _Batch:
    """A prepared native call: its table, buffers and everything they point into."""

    def __init__(self, n: int, table: array, scratch: int, out: object, alive: list[object]) -> None:
        self.n, self.table, self.scratch, self.out, self.alive = n, table, scratch, out, alive
        self.table_at = table.buffer_info()[0]  # the native thread may write it (valid flags)
        self.ticket = 0


def split_roots(raw: bytes) -> list[bytes]:
    """The 32-byte roots of NodeRoots.run's output, in order."""
    return [raw[i : i + 32] for i in range(0, len(raw), 32)]
