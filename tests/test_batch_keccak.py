"""The native batched keccak equals pysha3 on every input; the Python fallback equals it too."""

from hypothesis import given
from hypothesis import strategies as st

from offchain.merkle import batch
from offchain.merkle.hashing import hash_pair


def _reference_pairs(data: bytes) -> bytes:
    return b"".join(hash_pair(data[i : i + 32], data[i + 32 : i + 64]) for i in range(0, len(data), 64))


def test_the_native_library_builds_here():
    assert batch.NATIVE, "the C keccak did not build: is a C compiler (cc) installed?"


@given(n=st.integers(0, 40), data=st.data())
def test_native_pair_hashes_equal_pysha3(n, data):
    blob = data.draw(st.binary(min_size=64 * n, max_size=64 * n))
    assert batch.hash_pairs(blob) == _reference_pairs(blob)


@given(k=st.integers(0, 9), data=st.data())
def test_native_tree_roots_equal_level_by_level_hashing(k, data):
    blob = data.draw(st.binary(min_size=32 << k, max_size=32 << k))
    level = blob
    while len(level) > 32:
        level = _reference_pairs(level)
    assert batch.tree_root(blob) == level


def test_the_python_fallback_agrees(monkeypatch):
    blob = bytes(range(256)) * 4
    native = batch.tree_root(blob), batch.hash_pairs(blob)
    monkeypatch.setattr(batch, "_lib", None)
    assert (batch.tree_root(blob), batch.hash_pairs(blob)) == native


def test_the_four_lane_path_equals_pysha3_where_the_eight_lane_one_runs():
    """On an AVX-512 host the native code hashes eight pairs at once; OPML_NO_AVX512=1 makes it
    take the four-lane AVX2 path. Both must equal pysha3 on runs of every length up to 40 pairs."""
    import os
    import subprocess
    import sys

    code = ("import sys; from offchain.merkle import batch; "
            "blob = bytes(range(256)) * 10; "
            "sys.stdout.write(b''.join(batch.hash_pairs(blob[:64 * n]) for n in range(41)).hex())")
    blob = bytes(range(256)) * 10
    want = b"".join(_reference_pairs(blob[: 64 * n]) for n in range(41)).hex()
    for env in ({}, {"OPML_NO_AVX512": "1"}):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**os.environ, **env})
        assert out.stdout == want
