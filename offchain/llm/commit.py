"""Tensor roots and the weight commitment (SPEC §3.6).

The weight tree is a binary Merkle tree whose leaf w is the tensor root of the model's w-th tensor
(canonical order of `model.tensor_specs`), zero-padded to a power of two leaves and hashed like VM
memory. Leaves are 32 bytes and are not hashed, so the weight root is exactly the tensor root of
the concatenated tensor roots.
"""

from __future__ import annotations

import numpy as np

from offchain.llm.ops import canonical_bytes
from offchain.merkle import tensor_root


def root_of(x: np.ndarray) -> bytes:
    """Tensor root of an integer array's canonical encoding."""
    return tensor_root(canonical_bytes(x))[0]


def weight_root(tensor_roots: list[bytes]) -> bytes:
    """Root of the tree of tensor roots, in the given (canonical) order."""
    if any(len(r) != 32 for r in tensor_roots):
        raise ValueError("a tensor root is 32 bytes")
    return tensor_root(b"".join(tensor_roots))[0]
