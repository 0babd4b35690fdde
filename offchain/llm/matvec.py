"""The native exact int8 matrix-vector product (matvec_i8.c), loaded through offchain.native.

`matvec_rows` is None when no C compiler works here; ops.matmul_i8 then uses its numpy path.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from offchain.native import load

_lib = load(Path(__file__).with_name("matvec_i8.c"), ("-O3",))
if _lib is not None:
    _lib.opml_matvec_i8.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64,
                                    ctypes.c_uint64, ctypes.c_void_p]
    _lib.opml_matvec_i8.restype = None
    _lib.opml_matvec_i8_portable.argtypes = _lib.opml_matvec_i8.argtypes
    _lib.opml_matvec_i8_portable.restype = None
    _lib.opml_matvec_i8_kind.restype = ctypes.c_char_p
    _lib.opml_read_words.argtypes = [ctypes.c_void_p, ctypes.c_uint64]
    _lib.opml_read_words.restype = ctypes.c_uint64

NATIVE = _lib is not None
KIND = _lib.opml_matvec_i8_kind().decode() if _lib is not None else "numpy"


def matvec_rows(w: np.ndarray, x: np.ndarray, out: np.ndarray, r0: int, r1: int, portable: bool = False) -> None:
    """out[r] = Σ_k w[r,k]·x[k] (int32, wrapped like the int64 reference) for r0 <= r < r1.

    w: C-contiguous int8 [N, K]; x: C-contiguous int8 [K]; out: C-contiguous int32 [N]. ctypes
    releases the GIL for the call, so disjoint row ranges run in parallel threads. `portable`
    forces the scalar C path (tests use it to cover that path on SIMD hosts)."""
    assert _lib is not None
    (_lib.opml_matvec_i8_portable if portable else _lib.opml_matvec_i8)(w.ctypes.data, x.ctypes.data, w.shape[1], r0, r1, out.ctypes.data)


def read_words(buf: np.ndarray) -> int:
    """XOR of a C-contiguous uint64 array, read at memory speed (benches time it for the bound)."""
    assert _lib is not None
    return int(_lib.opml_read_words(buf.ctypes.data, buf.size))
