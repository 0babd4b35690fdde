"""Properties of the Python sparse memory against a from-scratch reference tree."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offchain.constants import MEMORY_DEPTH
from offchain.merkle import ZERO_HASHES, SparseMemory, hash_pair, tensor_root, verify_leaf
from offchain.merkle import memory as memory_mod


def _reference_root(mem: SparseMemory) -> bytes:
    """Root rebuilt from the leaves alone, with no caching: the obviously-correct oracle."""
    level: dict[int, bytes] = {}
    for base, page in mem.pages():
        for off in range(0, len(page), 32):
            level[(base + off) >> 5] = page[off : off + 32]
    for h in range(MEMORY_DEPTH):
        nxt: dict[int, bytes] = {}
        for p in {i >> 1 for i in level}:
            nxt[p] = hash_pair(level.get(2 * p, ZERO_HASHES[h]), level.get(2 * p + 1, ZERO_HASHES[h]))
        level = nxt
    return level.get(0, ZERO_HASHES[MEMORY_DEPTH])


ops = st.lists(
    st.tuples(st.integers(0, (1 << 32) - 200), st.binary(min_size=1, max_size=150), st.booleans()),
    max_size=20,
)


@given(ops=ops)
def test_incremental_root_equals_a_full_rebuild_after_any_writes(ops):
    mem = SparseMemory()
    for addr, data, check in ops:
        mem.write(addr, data)
        if check:  # roots asked for part-way must not disturb later ones
            assert mem.root() == _reference_root(mem)
    assert mem.root() == _reference_root(mem)


@given(ops=ops, probe=st.integers(0, (1 << 32) - 1))
def test_every_proof_verifies_against_the_root(ops, probe):
    mem = SparseMemory()
    for addr, data, _ in ops:
        mem.write(addr, data)
    assert verify_leaf(mem.root(), probe, mem.proof(probe)) == mem.leaf(probe >> 5)


@given(ops=ops)
def test_reads_return_what_was_written_last(ops):
    mem = SparseMemory()
    shadow: dict[int, int] = {}
    for addr, data, _ in ops:
        mem.write(addr, data)
        for i, b in enumerate(data):
            shadow[addr + i] = b
    for a, b in list(shadow.items())[:200]:
        assert mem.read(a, 1)[0] == b


@given(data=st.binary(max_size=5000))
def test_a_tensor_at_address_zero_is_a_subtree_of_memory(data):
    mem = SparseMemory()
    mem.write(0, data)
    root, height = tensor_root(data)
    assert mem.node(height, 0) == root


@pytest.fixture
def hash_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the sparse memory's node hashes: `hash_calls[0]` after each action."""
    calls = [0]
    real = memory_mod.hash_pair

    def counting(a: bytes, b: bytes) -> bytes:
        calls[0] += 1
        return real(a, b)

    monkeypatch.setattr(memory_mod, "hash_pair", counting)
    return calls


def test_root_after_a_single_write_hashes_one_path_only(hash_calls):
    mem = SparseMemory()
    mem.write(0, bytes(range(1, 200)))
    mem.root()
    hash_calls[0] = 0
    mem.write_word(0x1234_5678, 0xDEADBEEF)
    assert hash_calls[0] == 0  # writes are free
    mem.root()
    assert hash_calls[0] == MEMORY_DEPTH
    hash_calls[0] = 0
    assert mem.root() and hash_calls[0] == 0  # nothing dirty, nothing hashed


def test_writes_that_share_a_path_hash_the_shared_part_once(hash_calls):
    mem = SparseMemory()
    # Two adjacent leaves: one shared parent, so 27 hashes, not 54.
    mem.write_word(0x100, 1)
    mem.write_word(0x120, 2)
    mem.root()
    assert hash_calls[0] == MEMORY_DEPTH


def test_out_of_range_accesses_are_refused():
    mem = SparseMemory()
    for bad in (lambda: mem.write((1 << 32) - 2, b"abc"), lambda: mem.read(-1, 4)):
        try:
            bad()
        except ValueError as e:
            assert "address space" in str(e)
        else:
            raise AssertionError("expected ValueError")


class _Sized:
    """A byte string known only by its length: the size check must come before any byte is read."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n


@pytest.mark.parametrize("n", [(1 << 28) + 1, 1 << 29, (1 << 32) + 5])
def test_a_tensor_larger_than_a_region_is_refused(n: int) -> None:
    # SPEC §1.2 TensorTooLarge: Python refuses the same lengths as MerkleMemory.tensorRoot
    with pytest.raises(ValueError, match=rf"a {n}-byte tensor does not fit in one 268435456-byte region"):
        tensor_root(_Sized(n))  # type: ignore[arg-type]
