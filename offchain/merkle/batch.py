"""Batched keccak for whole tree levels and whole trees (C when available, else pysha3)."""

import ctypes
import sys
from pathlib import Path

from offchain.merkle.hashing import hash_pair
from offchain.native import load

_lib = load(Path(__file__).with_name("keccak_tree.c"), ("-O3",)) if sys.byteorder == "little" else None
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
