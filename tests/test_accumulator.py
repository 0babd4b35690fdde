"""The phase-2 accumulator: every S_i and every one-leaf transition, against a from-scratch tree."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offchain.merkle.accumulator import ACC_ZEROS, Accumulator, verify_transition
from offchain.merkle.hashing import hash_pair

leaf = st.binary(min_size=32, max_size=32)


def _naive_root(leaves: list[bytes], depth: int) -> bytes:
    level = list(leaves) or [ACC_ZEROS[0]]
    for h in range(depth):
        if len(level) % 2:
            level.append(ACC_ZEROS[h])
        level = [hash_pair(level[k], level[k + 1]) for k in range(0, len(level), 2)]
    return level[0]


@given(leaves=st.lists(leaf, max_size=40), depth=st.sampled_from([6, 32]))
def test_every_state_is_the_root_of_its_prefix_padded_with_zeros(leaves, depth):
    acc = Accumulator(leaves, depth)
    for i in range(len(leaves) + 1):
        assert acc.root(i) == _naive_root(leaves[:i], depth)


@given(leaves=st.lists(leaf, min_size=1, max_size=40), data=st.data())
def test_one_path_proves_each_transition_and_nothing_else(leaves, data):
    acc = Accumulator(leaves)
    i = data.draw(st.integers(0, len(leaves) - 1))
    sibs = acc.transition_path(i)
    assert verify_transition(acc.root(i), acc.root(i + 1), i, leaves[i], sibs)
    wrong = bytes(b ^ 1 for b in leaves[i])
    assert not verify_transition(acc.root(i), acc.root(i + 1), i, wrong, sibs)
    if i + 2 <= len(leaves):
        assert not verify_transition(acc.root(i + 1), acc.root(i + 2), i, leaves[i], sibs)


def test_the_empty_accumulator_is_the_zero_tree():
    assert Accumulator([]).root(0) == ACC_ZEROS[32]


def test_out_of_range_states_and_bad_leaves_are_refused():
    acc = Accumulator([bytes(32)] * 3)
    with pytest.raises(ValueError):
        acc.root(4)
    with pytest.raises(ValueError):
        acc.transition_path(3)
    with pytest.raises(ValueError):
        Accumulator([b"short"])
