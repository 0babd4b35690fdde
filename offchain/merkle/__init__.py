"""Merkle memory: the 4 GiB VM memory tree, tensor roots and region folding (docs/SPEC.md §1)."""

from offchain.merkle.hashing import ZERO_HASHES, hash_pair, keccak, zero_hash
from offchain.merkle.memory import SparseMemory
from offchain.merkle.proof import (
    InvalidMemoryProof,
    MemoryProofError,
    read_word,
    root_from_path,
    verify_leaf,
    write_leaf,
    write_word,
)
from offchain.merkle.tensor import combine_regions, fold_region, tensor_height, tensor_root

__all__ = [
    "ZERO_HASHES",
    "InvalidMemoryProof",
    "MemoryProofError",
    "SparseMemory",
    "combine_regions",
    "fold_region",
    "hash_pair",
    "keccak",
    "read_word",
    "root_from_path",
    "tensor_height",
    "tensor_root",
    "verify_leaf",
    "write_leaf",
    "write_word",
    "zero_hash",
]
