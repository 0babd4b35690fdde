"""Differential tests: the Python Merkle memory against the compiled MerkleMemory.sol on anvil.

Hypothesis drives random memories, addresses, writes and tensors through both implementations;
roots, words and verdicts must be identical, and every tampered proof must be rejected by both,
on chain with the named custom error.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offchain.constants import PROOF_BYTES, REGION_COUNT, REGION_HEIGHT
from offchain.evm import ContractRevert
from offchain.merkle import (
    ZERO_HASHES,
    InvalidMemoryProof,
    MemoryProofError,
    SparseMemory,
    combine_regions,
    fold_region,
    read_word,
    tensor_root,
    verify_leaf,
    write_leaf,
    write_word,
)

addresses = st.integers(0, (1 << 32) - 1)
words = st.integers(0, (1 << 32) - 1)
# Clustered writes share upper paths; scattered ones exercise all 27 levels.
writes = st.lists(
    st.tuples(st.one_of(addresses, st.integers(0, 4095)), st.binary(min_size=1, max_size=80)), min_size=0, max_size=12
)


def _memory(ws: list[tuple[int, bytes]]) -> SparseMemory:
    mem = SparseMemory()
    for addr, data in ws:
        addr = min(addr, (1 << 32) - len(data))
        mem.write(addr, data)
    return mem


@given(ws=writes, addr=addresses)
def test_valid_proofs_give_the_same_leaf_in_python_and_solidity(merkle_harness, ws, addr):
    mem = _memory(ws)
    root, proof = mem.root(), mem.proof(addr)
    leaf = verify_leaf(root, addr, proof)
    assert merkle_harness.call("readLeaf", root, addr, proof) == leaf


@given(ws=writes, addr=addresses, value=words)
def test_word_writes_give_the_same_new_root_in_python_and_solidity(merkle_harness, ws, addr, value):
    addr &= ~3
    mem = _memory(ws)
    root, proof = mem.root(), mem.proof(addr)
    assert merkle_harness.call("readWord", root, addr, proof) == read_word(root, addr, proof) == mem.read_word(addr)
    expected = write_word(root, addr, proof, value)
    assert merkle_harness.call("writeWord", root, addr, proof, value) == expected
    mem.write_word(addr, value)
    assert mem.root() == expected  # the sparse tree agrees with the one-path update


@given(ws=writes, addr=addresses, leaf=st.binary(min_size=32, max_size=32))
def test_leaf_writes_give_the_same_new_root_in_python_and_solidity(merkle_harness, ws, addr, leaf):
    mem = _memory(ws)
    root, proof = mem.root(), mem.proof(addr)
    assert merkle_harness.call("writeLeaf", root, addr, proof, leaf) == write_leaf(root, addr, proof, leaf)


@given(ws=writes, addr=addresses, at=st.integers(0, PROOF_BYTES - 1), flip=st.integers(1, 255))
def test_a_tampered_proof_is_rejected_by_both(merkle_harness, ws, addr, at, flip):
    mem = _memory(ws)
    root, proof = mem.root(), bytearray(mem.proof(addr))
    proof[at] ^= flip
    with pytest.raises(InvalidMemoryProof):
        verify_leaf(root, addr, bytes(proof))
    with pytest.raises(ContractRevert) as e:
        merkle_harness.call("readLeaf", root, addr, bytes(proof))
    assert e.value.name == "InvalidMemoryProof" and e.value.args == (addr,)


@given(ws=writes, addr=addresses, delta=st.integers(1, (1 << 27) - 1), low=st.integers(0, 31),
       marks=st.tuples(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32)).filter(
           lambda m: m[0] != m[1]))
def test_a_proof_for_another_leaf_is_rejected_by_both(merkle_harness, ws, addr, delta, low, marks):
    # Another leaf (index differs by `delta`) holding different bytes: such a proof can only verify
    # through a hash collision, so every example is a genuine rejection (none is skipped).
    other = ((((addr >> 5) ^ delta) << 5) | low) & 0xFFFFFFFF
    mem = _memory(ws)
    mem.write(addr & ~31, marks[0])
    mem.write(other & ~31, marks[1])
    root, proof = mem.root(), mem.proof(addr)
    with pytest.raises(InvalidMemoryProof):
        verify_leaf(root, other, proof)
    with pytest.raises(ContractRevert) as e:
        merkle_harness.call("readLeaf", root, other, proof)
    assert e.value.name == "InvalidMemoryProof" and e.value.args == (other,)


@given(length=st.integers(0, 2000).filter(lambda n: n != PROOF_BYTES))
def test_a_proof_of_the_wrong_length_is_rejected_by_both(merkle_harness, length):
    with pytest.raises(MemoryProofError):
        verify_leaf(bytes(32), 0, bytes(length))
    with pytest.raises(ContractRevert) as e:
        merkle_harness.call("readLeaf", bytes(32), 0, bytes(length))
    assert e.value.name == "MemoryProofLength" and e.value.args == (length,)


@given(addr=addresses.filter(lambda a: a & 3))
def test_unaligned_word_access_is_rejected_by_both(merkle_harness, addr):
    with pytest.raises(MemoryProofError):
        read_word(bytes(32), addr, bytes(PROOF_BYTES))
    with pytest.raises(ContractRevert) as e:
        merkle_harness.call("readWord", bytes(32), addr, bytes(PROOF_BYTES))
    assert e.value.name == "UnalignedAddress" and e.value.args == (addr,)
    with pytest.raises(MemoryProofError):
        write_word(bytes(32), addr, bytes(PROOF_BYTES), 0)
    with pytest.raises(ContractRevert) as e:
        merkle_harness.call("writeWord", bytes(32), addr, bytes(PROOF_BYTES), 0)
    assert e.value.name == "UnalignedAddress" and e.value.args == (addr,)


@given(data=st.binary(max_size=3000))
def test_tensor_roots_agree(merkle_harness, data):
    root, height = tensor_root(data)
    assert merkle_harness.call("tensorRoot", data) == (root, height)


@given(root=st.binary(min_size=32, max_size=32), height=st.integers(0, REGION_HEIGHT))
def test_region_folds_agree(merkle_harness, root, height):
    assert merkle_harness.call("foldRegion", root, height) == fold_region(root, height)


@given(regions=st.lists(st.binary(min_size=32, max_size=32), min_size=REGION_COUNT, max_size=REGION_COUNT))
def test_region_combination_agrees(merkle_harness, regions):
    assert merkle_harness.call("combineRegions", regions) == combine_regions(regions)


def test_zero_hashes_agree(merkle_harness):
    for h, z in enumerate(ZERO_HASHES):
        assert merkle_harness.call("zeroHash", h) == z
    with pytest.raises(ContractRevert) as e:
        merkle_harness.call("zeroHash", len(ZERO_HASHES))
    assert e.value.name == "HeightOutOfRange" and e.value.args == (len(ZERO_HASHES),)


@given(height=st.integers(REGION_HEIGHT + 1, 2**64))
def test_a_fold_from_above_a_region_is_rejected_by_both(merkle_harness, height):
    with pytest.raises(ValueError, match="outside"):
        fold_region(bytes(32), height)
    with pytest.raises(ContractRevert) as e:
        merkle_harness.call("foldRegion", bytes(32), height)
    assert e.value.name == "HeightOutOfRange" and e.value.args == (height,)


@given(data=st.binary(max_size=2000), region=st.integers(0, REGION_COUNT - 1), addr_in=st.integers(0, 1999))
def test_a_tensor_placed_in_a_region_proves_against_the_combined_root(merkle_harness, data, region, addr_in):
    """The phase link in miniature: region roots built from tensor roots equal the sparse memory's root."""
    base = region << 28
    mem = SparseMemory()
    mem.write(base, data)
    regions = [ZERO_HASHES[REGION_HEIGHT]] * REGION_COUNT
    regions[region] = fold_region(*tensor_root(data))
    root = combine_regions(regions)
    assert mem.root() == root
    assert mem.node(REGION_HEIGHT, region) == regions[region]
    addr = base + addr_in
    assert merkle_harness.call("readLeaf", root, addr, mem.proof(addr)) == mem.leaf(addr >> 5)
