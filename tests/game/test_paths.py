"""Compact paths (SPEC §6.1): every tree's path round-trips, and only the derived index and depth verify."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offchain.constants import ACC_DEPTH, REGION_BYTES, REGION_HEIGHT
from offchain.game.errors import Revert
from offchain.game.paths import (
    ZEROS,
    accumulator_path,
    check_path,
    decode_path,
    encode_path,
    leaf_of,
    leaves_depth,
    region_path,
    tree_path,
    tree_siblings,
)
from offchain.merkle import SparseMemory, tensor_root
from offchain.merkle.accumulator import Accumulator

leaf32 = st.binary(min_size=32, max_size=32)


@given(st.integers(0, 32).flatmap(lambda d: st.lists(st.one_of(leaf32, st.sampled_from(ZEROS)), min_size=d,
                                                     max_size=d)))
def test_encode_then_decode_gives_the_siblings_back(sibs):
    path = encode_path(sibs)
    assert decode_path(path, len(sibs)) == sibs
    explicit = sum(s != ZEROS[h] for h, s in enumerate(sibs))
    assert len(path) == 4 + 32 * explicit


@given(st.binary(min_size=1, max_size=32 * 40), st.data())
def test_a_tensor_tree_path_proves_its_leaf_and_no_neighbour(data, draw):
    root, height = tensor_root(data)
    n_leaves = 1 << height
    i = draw.draw(st.integers(0, n_leaves - 1))
    path, leaf = tree_path(data, i), leaf_of(data, i)
    check_path(root, leaf, i, path, height)
    assert len(tree_siblings(data, i)) == leaves_depth(-(-len(data) // 32)) == height
    if n_leaves > 1:
        j = draw.draw(st.integers(0, n_leaves - 1).filter(lambda j: j != i))
        if leaf_of(data, j) != leaf or tree_siblings(data, j) != tree_siblings(data, i):
            with pytest.raises(Revert) as e:
                check_path(root, leaf, j, path, height)
            assert e.value.error == "InvalidProof"


def test_a_path_of_the_wrong_depth_or_mask_is_refused():
    data = bytes(range(256)) * 2  # 16 leaves, depth 4
    root, height = tensor_root(data)
    path = tree_path(data, 5)
    for depth in (height - 1, height + 1):
        with pytest.raises(Revert) as e:
            check_path(root, leaf_of(data, 5), 5, path, depth)
        assert e.value.error in ("InvalidPathLength", "InvalidSiblingMask")
    high_bit = (int.from_bytes(path[:4], "big") | 1 << height).to_bytes(4, "big") + path[4:]
    with pytest.raises(Revert) as e:
        check_path(root, leaf_of(data, 5), 5, high_bit, height)
    assert e.value.error == "InvalidSiblingMask"
    with pytest.raises(Revert) as e:
        check_path(root, leaf_of(data, 5), 5, path + bytes(32), height)
    assert e.value.error == "InvalidPathLength"
    with pytest.raises(Revert) as e:
        check_path(root, leaf_of(data, 5), 16, path, height)
    assert e.value.error == "IndexOutOfRange"  # MerklePath.root checks the index first


@given(st.lists(leaf32, min_size=1, max_size=40), st.data())
def test_accumulator_paths_prove_leaves_of_every_later_state(leaves, draw):
    acc = Accumulator(leaves)
    i = draw.draw(st.integers(0, len(leaves) - 1))
    state = draw.draw(st.integers(i + 1, len(leaves)))
    check_path(acc.root(state), leaves[i], i, accumulator_path(acc, i, state), ACC_DEPTH)
    path = accumulator_path(acc, i, i)  # the transition path: zero in S_i, the leaf in S_{i+1}
    check_path(acc.root(i), bytes(32), i, path, ACC_DEPTH)
    check_path(acc.root(i + 1), leaves[i], i, path, ACC_DEPTH)
    if i + 1 < len(leaves):
        with pytest.raises(Revert):
            check_path(acc.root(i + 1), leaves[i], i + 1, path, ACC_DEPTH)


@given(st.integers(0, 15), st.lists(st.tuples(st.integers(0, 15), st.binary(min_size=1, max_size=64)), max_size=6))
def test_a_region_path_proves_the_region_root_in_the_memory_root(region, writes):
    mem = SparseMemory()
    for r, data in writes:
        mem.write(r * REGION_BYTES, data)
    check_path(mem.root(), mem.node(REGION_HEIGHT, region), region, region_path(mem, region), 4)
    other = region ^ 1
    if mem.node(REGION_HEIGHT, other) != mem.node(REGION_HEIGHT, region):  # equal twins prove each other
        with pytest.raises(Revert):
            check_path(mem.root(), mem.node(REGION_HEIGHT, region), other, region_path(mem, region), 4)
