"""Tensor roots and the weight commitment (SPEC §3.6).

The weight tree is a binary Merkle tree whose leaf w is the tensor root of the model's w-th tensor
(canonical order of `model.tensor_specs`), zero-padded to a power of two leaves and hashed like VM
memory. Leaves are 32 bytes and are not hashed, so the weight root is exactly the tensor root of
the concatenated tensor roots. An MLP's tree has one derived leaf after its stored tensors, the
packed weights of the single-phase node (`PACKED_MLP`).
"""

from __future__ import annotations

import numpy as np

from offchain.llm.model import ARCH_MLP, PACKED_MLP, IntModel
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


def leaf_bytes(model: IntModel, name: str) -> bytes:
    """The canonical bytes of weight leaf `name`: a stored tensor, or the derived packed leaf."""
    if name == PACKED_MLP:
        from offchain.llm.kernels.registry import pack_mlp  # the one definition of the packing

        return pack_mlp(model.tensors, list(model.config.dims))
    return canonical_bytes(model.tensors[name])


def derived_roots(model: IntModel) -> list[bytes]:
    """Roots of the leaves that follow the stored tensors (an MLP's packed weights; none for LLaMA)."""
    return [tensor_root(leaf_bytes(model, PACKED_MLP))[0]] if model.config.arch == ARCH_MLP else []


def weight_leaf_roots(model: IntModel) -> list[bytes]:
    """Every weight-tree leaf (the tensor root of each stored tensor, then the derived leaves), in
    leaf order. Computed once per model object and kept on it: the game asks for it at every
    transition, and a 7B-shaped model's 6.7 GB take minutes to hash. A model's tensors are not
    changed after it is loaded or built."""
    cached = model.__dict__.get("_weight_leaves")
    if cached is None:
        import os
        from concurrent.futures import ThreadPoolExecutor

        from offchain.llm.model import tensor_specs

        # The native tree hash releases the GIL: one tensor per core.
        with ThreadPoolExecutor(max(1, os.cpu_count() or 1)) as pool:
            cached = list(pool.map(lambda s: root_of(model.tensors[s.name]), tensor_specs(model.config)))
        cached += derived_roots(model)
        model.__dict__["_weight_leaves"] = cached
    return cached
