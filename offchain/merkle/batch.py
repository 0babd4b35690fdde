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

# Addresses of a whole token's arrays in one call (node_table.c, through the buffer protocol);
# without Python's headers add_batch falls back to add.
_table = load(Path(__file__).with_name("node_table.c"), ("-O2",), python_api=True) if _lib is not None else None
if _table is not None:
    _table.opml_fill_addresses.argtypes = [ctypes.py_object, ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_void_p]
    _table.opml_fill_addresses.restype = ctypes.c_ssize_t

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
        # add_batch's template: the keys and rows of the last batch it described from scratch
        self._plan_keys: list[str] | None = None
        self._batch_keys: set[str] = set()  # keys queued by add in this batch
        self._template = array("Q")
        self._bad = (ctypes.c_ssize_t * 0)()

    def add(self, key: str, x: "object", keep: int | None = None, prefix_of: int | None = None) -> None:
        """Queue array `x` (its first `keep` canonical bytes) for the next batch, under `key`.

        `prefix_of`: the batch position (see `count`) of this same array queued whole (it may
        come later in the batch); the prefix's root is then read off that node's tree in
        O(log size) hashes. Without it, or if that node keeps no tree, it is hashed in full."""
        if not x.flags.c_contiguous:  # type: ignore[attr-defined]
            x = self._np.ascontiguousarray(x)
        self._alive.append(x)
        if key in self._batch_keys:  # a key seen before in this batch: its tree is that row's
            self._rows.extend(self._row_without_tree(x, keep, prefix_of))
        else:
            self._batch_keys.add(key)
            self._rows.extend(self._row(key, x, keep, prefix_of))
        self._plan_keys = None  # the rows no longer follow a template

    def _row_without_tree(self, x: "object", keep: int | None, prefix_of: int | None) -> tuple[int, ...]:
        """A row hashed in full, touching no key's saved tree: a tree holds one row's bytes per
        batch, and a prefix row reads its base's tree after every other row has run."""
        nbytes, dt = x.nbytes, x.dtype  # type: ignore[attr-defined]
        leaves = _leaf_count(nbytes, dt)
        self._most = max(self._most, leaves)
        base = 0 if prefix_of is None else prefix_of + 1
        return (_address(x), nbytes, nbytes if keep is None else keep, dt.itemsize, leaves, 0, 0, base)

    def _row(self, key: str, x: "object", keep: int | None, prefix_of: int | None) -> tuple[int, ...]:
        """The table row of one queued array (struct opml_node); marks a saved tree as built by it."""
        nbytes = x.nbytes  # type: ignore[attr-defined]
        kept = nbytes if keep is None else keep
        if prefix_of is not None:  # no tree of its own: it is read off the whole array's
            m = self._prefix_meta(key, nbytes, x.dtype)  # type: ignore[attr-defined]
            return (_address(x), nbytes, kept, m[4], m[2], 0, 0, prefix_of + 1)
        m = self._meta.get(key)
        if m is None or m[0] != nbytes or m[1] is not x.dtype:  # type: ignore[attr-defined]
            m = self._describe(key, nbytes, x.dtype)  # type: ignore[attr-defined]
        tree = m[3]
        if tree is None:
            return (_address(x), nbytes, kept, m[4], m[2], 0, 0, 0)
        valid, tree[2] = tree[2], 1  # this batch builds it; later batches (run after it) patch it
        return (_address(x), nbytes, kept, m[4], m[2], tree[1], valid, 0)

    def add_batch(self, keys: list[str], arrays: list, special: dict[int, tuple[int, int]] | None = None) -> None:
        """`add(keys[i], arrays[i], keep, prefix_of)` for each i, in one step, where (keep,
        prefix_of) is `special.get(i)` (a matmul tile's prefix row; prefix_of counts from this
        batch's first array) or (None, None).

        A batch with the same keys as the previous one (the next token of a trace) reuses that
        batch's rows: the native helper fills in the arrays' addresses and new lengths, and flags
        the rows whose tree shape or dtype changed, which alone are described again. Keys must be
        distinct for that."""
        special = special or {}
        base = self.count
        if _table is None or base or keys != self._plan_keys:  # describe every row; keep them as the template
            for i, (key, x) in enumerate(zip(keys, arrays, strict=True)):
                keep, of = special.get(i, (None, None))
                self.add(key, x, keep, None if of is None else base + of)
            if _table is not None and not base and len(set(keys)) == len(keys):
                # distinct keys: each template row owns its key's saved tree, kept alive by _meta
                self._plan_keys, self._template = list(keys), self._steady(self._rows)
            return
        rows = array("Q", self._template)
        if len(self._bad) < len(keys):
            self._bad = (ctypes.c_ssize_t * len(keys))()
        try:
            nbad = _table.opml_fill_addresses(arrays, rows.buffer_info()[0], len(keys), self._bad)
        except (BufferError, ValueError):  # a non-contiguous array: hash a contiguous copy, as add does
            arrays = [self._np.ascontiguousarray(x) for x in arrays]
            nbad = _table.opml_fill_addresses(arrays, rows.buffer_info()[0], len(keys), self._bad)
        for i in self._bad[:nbad]:  # a new size or dtype: described afresh, here and in the template
            row = array("Q", self._row(keys[i], arrays[i], *special.get(i, (None, None))))
            rows[_NODE_FIELDS * i : _NODE_FIELDS * (i + 1)] = row
            self._template[_NODE_FIELDS * i : _NODE_FIELDS * (i + 1)] = self._steady(row)
        for i, (keep, of) in special.items():  # a prefix's kept length may change with the position
            rows[_NODE_FIELDS * i + 2], rows[_NODE_FIELDS * i + 7] = keep, of + 1
        self._rows = rows
        self._alive.extend(arrays)
        self._batch_keys = set(keys)  # a later add() of one of these keys must not share its tree

    @staticmethod
    def _steady(rows: array) -> array:
        """`rows` as the next batch over the same arrays sees them: every saved tree built."""
        t = array("Q", rows)
        for i in range(5, len(t), _NODE_FIELDS):  # levels (field 5) set: valid (field 6) is 1 from now on
            if t[i]:
                t[i + 1] = 1
        return t

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
        leaves = _leaf_count(nbytes, dt)
        old = self._meta.get(key)
        tree = None
        if keep_tree and leaves >= SAVED_TREE_MIN_LEAVES:
            if old is not None and old[3] is not None and old[2] == leaves:
                tree = old[3]  # same tree shape (e.g. the dtype changed): patching stays exact
            else:
                buf = self._np.zeros(32 * (2 * leaves - 1), self._np.uint8)
                tree = [buf, buf.ctypes.data, 0]
        if old is not None and old[3] is not None and old[3] is not tree:
            # a row queued earlier in this batch may still point into the replaced tree
            self._alive.append(old[3][0])
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
        self._batch_keys = set()
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


def _leaf_count(nbytes: int, dt: "object") -> int:
    """Leaves of the tensor tree of an `nbytes`-byte integer array (SPEC §1.1), or ValueError."""
    if dt.kind not in "iu":  # type: ignore[attr-defined]
        raise ValueError(f"only integer tensors have a canonical encoding, got {dt}")
    leaves = 1 << (max(1, -(-nbytes // LEAF_BYTES)) - 1).bit_length()
    if leaves > 1 << REGION_HEIGHT:
        raise ValueError(f"a {nbytes}-byte tensor does not fit in one {LEAF_BYTES << REGION_HEIGHT}-byte region")
    return leaves


class _Batch:
    """A prepared native call: its table, buffers and everything they point into."""

    def __init__(self, n: int, table: array, scratch: int, out: object, alive: list[object]) -> None:
        self.n, self.table, self.scratch, self.out, self.alive = n, table, scratch, out, alive
        self.table_at = table.buffer_info()[0]  # the native thread may write it (valid flags)
        self.ticket = 0


def split_roots(raw: bytes) -> list[bytes]:
    """The 32-byte roots of NodeRoots.run's output, in order."""
    return [raw[i : i + 32] for i in range(0, len(raw), 32)]
