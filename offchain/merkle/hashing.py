"""Keccak-256 and the zero-subtree hashes of the memory tree."""

from functools import lru_cache
from typing import Final

from sha3 import keccak_256 as _keccak_256  # safe-pysha3: C keccak, ~0.5 us per 64-byte node

from offchain.constants import MEMORY_DEPTH

ZERO_LEAF: Final = bytes(32)


def keccak(data: bytes) -> bytes:
    """Ethereum's Keccak-256 (not NIST SHA3-256)."""
    return _keccak_256(data).digest()


def hash_pair(left: bytes, right: bytes) -> bytes:
    """An inner node of the memory tree: keccak256(left ‖ right)."""
    return _keccak_256(left + right).digest()


def _zero_hashes() -> tuple[bytes, ...]:
    out = [ZERO_LEAF]
    for _ in range(MEMORY_DEPTH):
        out.append(hash_pair(out[-1], out[-1]))
    return tuple(out)


#: ZERO_HASHES[h] is the root of an all-zero subtree of height h (h = 0 is a zero leaf).
ZERO_HASHES: Final[tuple[bytes, ...]] = _zero_hashes()


@lru_cache(maxsize=None)
def zero_hash(height: int) -> bytes:
    """Root of an all-zero subtree of `height` levels above the leaves (0 <= height <= 27)."""
    if not 0 <= height <= MEMORY_DEPTH:
        raise ValueError(f"zero-subtree height {height} is outside 0..{MEMORY_DEPTH}")
    return ZERO_HASHES[height]
