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
QKK = 256  # a k-quant super-block
#: bytes per 32-value block of each block format
BLOCK_BYTES = {"Q8_0": 34, "Q4_0": 18, "Q4_1": 20}
#: bytes per 256-value super-block of each k-quant, and the values per sub-block scale
K_BYTES = {"Q4_K": 144, "Q5_K": 176, "Q6_K": 210}
K_SUB = {"Q4_K": 32, "Q5_K": 32, "Q6_K": 16}
SUPPORTED = ("F32", "F16", "Q8_0", "Q4_0", "Q4_1", "Q4_K", "Q5_K", "Q6_K")


class FormatError(ValueError):
    """A tensor this spec cannot use (one line, naming the tensor)."""


def unpack_k(kind: str, raw: np.ndarray, name: str, shape: tuple[int, int]) -> "BlockMatrix":
    """A k-quant [N, K] as integers (SPEC §3v2.2): q int8 [N, K]; sc [N, K/sub] the sub-block
    scales (6-bit unsigned for Q4_K/Q5_K, int8 for Q6_K); mn [N, K/32] the 6-bit sub-block mins
    (Q4_K/Q5_K); (dm, de) and (mm, me) [N, K/256] the super-block's fp16 d and dmin. A weight is
    d·sc·q − dmin·mn (Q4_K/Q5_K) or d·sc·q (Q6_K)."""
    n, k = shape
    ns = k // QKK
    sb = np.ascontiguousarray(raw, dtype=np.uint8).reshape(n, ns, K_BYTES[kind]).astype(np.int16)
    if kind == "Q6_K":
        ql, qh, scales = sb[..., 0:128], sb[..., 128:192], sb[..., 192:208]
        dm, de = _fp16(sb[..., 208:210].astype(np.uint8), name)
        parts = []
        for half in range(2):
            lo, hi = ql[..., 64 * half:64 * half + 64], qh[..., 32 * half:32 * half + 32]
            parts += [(lo[..., :32] & 15) | ((hi & 3) << 4), (lo[..., 32:] & 15) | (((hi >> 2) & 3) << 4),
                      (lo[..., :32] >> 4) | (((hi >> 4) & 3) << 4), (lo[..., 32:] >> 4) | (((hi >> 6) & 3) << 4)]
        q = np.concatenate(parts, axis=-1) - 32
        sc = scales.astype(np.uint8).view(np.int8).astype(np.int16)
        return BlockMatrix(kind, q.astype(I8).reshape(n, k), dm.astype(np.int16), de.astype(I8), sc=sc.reshape(n, -1))
    dm, de = _fp16(sb[..., 0:2].astype(np.uint8), name)
    mm, me = _fp16(sb[..., 2:4].astype(np.uint8), name)
    s = sb[..., 4:16]
    sc = np.concatenate([s[..., 0:4] & 63, (s[..., 8:12] & 15) | ((s[..., 0:4] >> 6) << 4)], axis=-1)
    mn = np.concatenate([s[..., 4:8] & 63, (s[..., 8:12] >> 4) | ((s[..., 4:8] >> 6) << 4)], axis=-1)
    if kind == "Q4_K":
        qs, qh = sb[..., 16:144], None
    else:
        qh, qs = sb[..., 16:48], sb[..., 48:176]
    parts = []
    for c in range(4):
        b = qs[..., 32 * c:32 * c + 32]
        lo, hi = b & 15, b >> 4
        if qh is not None:
            lo = lo + 16 * ((qh >> (2 * c)) & 1)
            hi = hi + 16 * ((qh >> (2 * c + 1)) & 1)
        parts += [lo, hi]
    q = np.concatenate(parts, axis=-1)
    return BlockMatrix(kind, q.astype(I8).reshape(n, k), dm.astype(np.int16), de.astype(I8), mm.astype(np.int16),
                       me.astype(I8), sc=sc.reshape(n, -1), mn=mn.reshape(n, -1))


@dataclass
class BlockMatrix:
    kind: str
    q: np.ndarray  # int8 [N, K] (block formats) or int64 mantissas [N, K] (F32/F16)
    dm: np.ndarray  # int16 [N, K/32] scale mantissas (block formats), or int8 exponents [N, K] (F32/F16)
    de: np.ndarray  # int8 [N, K/32] scale exponents (block formats); empty for F32/F16
    mm: np.ndarray | None = None  # Q4_1 minimum mantissas (k-quants: dmin)
    me: np.ndarray | None = None
    sc: np.ndarray | None = None  # k-quants: sub-block scales
    mn: np.ndarray | None = None  # Q4_K/Q5_K: sub-block mins

    @property
    def shape(self) -> tuple[int, int]:
        return self.q.shape  # type: ignore[return-value]


def _fp16(raw: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    bits = (raw[..., 0].astype(np.uint16) | (raw[..., 1].astype(np.uint16) << 8))
    if np.any((bits & 0x7C00) == 0x7C00):
        raise FormatError(f"{name}: a block scale is infinite or NaN")
    return fp16_parts(bits)


@dataclass
class Weight:
    """A weight matrix [N, K] as the file holds it: `raw` is a view of the file's bytes (uint8
    [N, bytes per row] for block formats; the F32/F16 array otherwise). The native matmul reads it
    directly; `unpacked()` gives the integer form of the numpy definition (made on first use)."""
    name: str
    kind: str
    raw: np.ndarray
    n: int
    k: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.n, self.k

    def unpacked(self) -> BlockMatrix:
        u = self.__dict__.get("_unpacked")
        if u is None:
            u = unpack(self.kind, self.raw, self.name, self.shape)
            self.__dict__["_unpacked"] = u
        return u

    def row(self, i: int) -> BlockMatrix:
        """Row i alone, unpacked (an embedding lookup)."""
        return unpack(self.kind, self.raw[i:i + 1], self.name, (1, self.k))


def weight(kind: str, raw: np.ndarray, name: str, shape: tuple[int, int]) -> Weight:
    """A file tensor as a Weight, refused in one line if its type is unsupported, its rows are not
    whole blocks, its bytes are short, or a scale (or an F32/F16 value) is infinite or NaN."""
    n, k = shape
    if kind not in SUPPORTED:
        raise FormatError(f"{name}: quantization type {kind} is not supported (supported: {', '.join(SUPPORTED)})")
    if kind in K_BYTES:
        if k % QKK:
            raise FormatError(f"{name}: row length {k} is not a multiple of {QKK}")
        raw = np.asarray(raw, dtype=np.uint8).reshape(-1)
        if raw.size != n * (k // QKK) * K_BYTES[kind]:
            raise FormatError(f"{name}: {raw.size} bytes, not the {n * (k // QKK) * K_BYTES[kind]} of a {kind} "
                              f"[{n}, {k}] tensor")
        raw = raw.reshape(n, (k // QKK) * K_BYTES[kind])
        sb = raw.reshape(n, k // QKK, K_BYTES[kind])
        for off in ((208,) if kind == "Q6_K" else (0, 2)):
            _fp16(sb[:, :, off:off + 2], name)
    elif kind in BLOCK_BYTES:
        if k % QK:
            raise FormatError(f"{name}: row length {k} is not a multiple of {QK}")
        bb = BLOCK_BYTES[kind]
        raw = np.asarray(raw, dtype=np.uint8).reshape(-1)
        if raw.size != n * (k // QK) * bb:
            raise FormatError(f"{name}: {raw.size} bytes, not the {n * (k // QK) * bb} of a {kind} [{n}, {k}] tensor")
        raw = raw.reshape(n, (k // QK) * bb)
        blocks = raw.reshape(n, k // QK, bb)
        for off in (0, 2) if kind == "Q4_1" else (0,):
            _fp16(blocks[:, :, off:off + 2], name)
    else:
        unpack(kind, raw, name, shape)  # checks every value
    return Weight(name, kind, raw, n, k)


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
    if kind in K_BYTES:
        return unpack_k(kind, raw, name, shape)
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


@dataclass
class QuantAct:
    """An activation vector quantized per 32-value block, as llama.cpp's Q8_0/Q8_1 does on CPU:
    q = round-half-away(127·x/amax), scale d = fp16(amax/127) = xm·2^xe, qsum = Σq per block."""
    q: np.ndarray  # int8 [K]
    xm: np.ndarray  # int64 [K/32]
    xe: np.ndarray  # int64 [K/32]
    qsum: np.ndarray  # int64 [K/32]
    x: np.ndarray  # the int32 input itself (F32/F16 weights multiply it unquantized)
    k256: "QuantAct | None" = None  # the same input quantized per 256 (k-quant weights), made on first use
