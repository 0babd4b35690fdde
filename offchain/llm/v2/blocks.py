"""The GGUF block formats spec v2 multiplies with, unpacked to integers (SPEC §3v2.2).

A weight matrix [N, K] in a 32-value block format becomes, exactly:
- `q`  int8 [N, K]: the block's integer values (Q8_0: −128..127; Q4_0: nibble − 8; Q4_1: nibble 0..15);
- `dm, de` [N, K/32]: the block scale d = dm·2^de (the fp16, exactly: |dm| < 2^11);
- `mm, me` [N, K/32] (Q4_1 only): the block minimum m = mm·2^me; a weight is d·q + m.
F32 and F16 matrices are kept per element as (m, e) pairs (a block of one with no activation
quantization, §3v2.3). The bytes themselves stay the file's own: the commitment hashes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from offchain.llm.v2.fixed import I8, I64, f32_parts, fp16_parts

QK = 32
#: bytes per 32-value block of each block format
BLOCK_BYTES = {"Q8_0": 34, "Q4_0": 18, "Q4_1": 20}
SUPPORTED = ("F32", "F16", "Q8_0", "Q4_0", "Q4_1")


class FormatError(ValueError):
    """A tensor this spec cannot use (one line, naming the tensor)."""


@dataclass
class BlockMatrix:
    kind: str
    q: np.ndarray  # int8 [N, K] (block formats) or int64 mantissas [N, K] (F32/F16)
    dm: np.ndarray  # int16 [N, K/32] scale mantissas (block formats), or int8 exponents [N, K] (F32/F16)
    de: np.ndarray  # int8 [N, K/32] scale exponents (block formats); empty for F32/F16
    mm: np.ndarray | None = None  # Q4_1 minimum mantissas
    me: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.q.shape  # type: ignore[return-value]

    def pointers(self) -> tuple[int | None, ...]:
        """The arrays' addresses for the native matmul, read once (numpy's .ctypes is slow)."""
        ptrs = self.__dict__.get("_ptrs")
        if ptrs is None:
            ptrs = tuple(None if a is None else a.ctypes.data for a in (self.q, self.dm, self.de, self.mm, self.me))
            self.__dict__["_ptrs"] = ptrs
        return ptrs


def _fp16(raw: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    bits = np.ascontiguousarray(raw).view("<u2")[..., 0]
    if np.any((bits & 0x7C00) == 0x7C00):
        raise FormatError(f"{name}: a block scale is infinite or NaN")
    return fp16_parts(bits)


def unpack(kind: str, raw: np.ndarray, name: str, shape: tuple[int, int]) -> BlockMatrix:
    """raw: the file's bytes of a [N, K] tensor (uint8 [N, bytes per row], or the F32/F16 array)."""
    n, k = shape
    if kind in ("F32", "F16"):
        if kind == "F32":
            bits = np.ascontiguousarray(raw).reshape(n, k).view("<u4")
            if np.any((bits & 0x7F800000) == 0x7F800000):
                raise FormatError(f"{name}: a weight is infinite or NaN")
            m, e = f32_parts(bits)
        else:
            bits = np.ascontiguousarray(raw).reshape(n, k).view("<u2")
            if np.any((bits & 0x7C00) == 0x7C00):
                raise FormatError(f"{name}: a weight is infinite or NaN")
            m, e = fp16_parts(bits)
        return BlockMatrix(kind, m.astype(I64), e.astype(np.int16), np.zeros(0, np.int8))
    if kind not in BLOCK_BYTES:
        raise FormatError(f"{name}: quantization type {kind} is not supported (supported: {', '.join(SUPPORTED)})")
    if k % QK:
        raise FormatError(f"{name}: row length {k} is not a multiple of {QK}")
    nb = k // QK
    blocks = np.ascontiguousarray(raw, dtype=np.uint8).reshape(n, nb, BLOCK_BYTES[kind])
    dm, de = _fp16(blocks[:, :, 0:2], name)
    mm = me = None
    if kind == "Q8_0":
        q = blocks[:, :, 2:].view(I8).reshape(n, k)
    else:
        nib = blocks[:, :, 4:] if kind == "Q4_1" else blocks[:, :, 2:]
        lo, hi = (nib & 0x0F).astype(I8), (nib >> 4).astype(I8)
        q = np.concatenate([lo, hi], axis=2).reshape(n, k)  # value j < 16: low nibble of byte j; else high of j−16
        if kind == "Q4_0":
            q = q - np.int8(8)
        else:
            mm, me = _fp16(blocks[:, :, 2:4], name)
            mm, me = mm.astype(np.int16), me.astype(I8)
    return BlockMatrix(kind, np.ascontiguousarray(q), dm.astype(np.int16), de.astype(I8), mm, me)
