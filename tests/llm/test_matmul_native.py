"""The native int8 matvec and its numpy fallback both equal the int64 definition bit for bit."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.llm import matvec, ops
from tests.budget import examples

EXTREMES = np.array([-128, -127, -1, 0, 1, 126, 127], np.int8)
native = pytest.mark.skipif(not matvec.NATIVE, reason="no working C compiler on this host")


def _case(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if seed % 3 == 0:  # extremes: -128·-128 = 2^14 is the largest product any lane must hold
        return rng.choice(EXTREMES, size=(n, k)), rng.choice(EXTREMES, size=k)
    return rng.integers(-128, 128, (n, k), dtype=np.int8), rng.integers(-128, 128, k, dtype=np.int8)


def _native(w: np.ndarray, x: np.ndarray, portable: bool, r0: int = 0, r1: int | None = None) -> np.ndarray:
    out = np.zeros(w.shape[0], np.int32)
    matvec.matvec_rows(w, x, out, r0, w.shape[0] if r1 is None else r1, portable=portable)
    return out


@native
@given(st.integers(1, 13), st.integers(1, 3000), st.integers(0, 2**32 - 1), st.booleans())
def test_native_matvec_equals_the_int64_reference_on_random_shapes(n, k, seed, portable):
    w, x = _case(n, k, seed)
    assert np.array_equal(_native(w, x, portable), ops.matmul_i8_reference(w, x))


@native
@settings(max_examples=examples(12), deadline=None)
@given(st.integers(1, 6), st.integers((1 << 16) + 1, (1 << 17) + 40), st.integers(0, 2**32 - 1), st.booleans())
def test_native_matvec_is_exact_for_k_above_2_16(n, k, seed, portable):
    w, x = _case(n, k, seed)
    assert np.array_equal(_native(w, x, portable), ops.matmul_i8_reference(w, x))


@native
@pytest.mark.parametrize("portable", [False, True])
def test_native_matvec_wraps_like_the_reference_when_the_sum_leaves_int32(portable):
    # 2^17 + 5 products of 2^14 exceed 2^31: both sides must wrap the int64 total the same way
    k = (1 << 17) + 5
    w = np.full((5, k), -128, np.int8)
    x = np.full(k, -128, np.int8)
    w[4, ::2] = 127
    got, want = _native(w, x, portable), ops.matmul_i8_reference(w, x)
    assert np.array_equal(got, want)
    assert int(want[0]) == k * (1 << 14) - (1 << 32)  # the exact sum 2^31 + 5·2^14, wrapped


@native
@given(st.integers(2, 40), st.integers(1, 300), st.data())
def test_native_matvec_writes_exactly_the_requested_rows(n, k, data):
    w, x = _case(n, k, data.draw(st.integers(0, 2**32 - 1)))
    r0 = data.draw(st.integers(0, n - 1))
    r1 = data.draw(st.integers(r0, n))
    got = _native(w, x, False, r0, r1)
    want = np.zeros(n, np.int32)
    want[r0:r1] = ops.matmul_i8_reference(w, x)[r0:r1]
    assert np.array_equal(got, want)


@settings(max_examples=examples(25), deadline=None)
@given(st.integers(1, 40), st.integers(1, 5000), st.integers(0, 2**32 - 1))
def test_numpy_fallback_equals_the_int64_reference(n, k, seed):
    w, x = _case(n, k, seed)
    assert np.array_equal(ops.matmul_i8_numpy(w, x), ops.matmul_i8_reference(w, x))


def test_threaded_matmul_on_a_large_matrix_equals_the_reference():
    # above PARALLEL_MIN_ELEMENTS: row ranges go to several threads
    w, x = _case(4099, 1100, 7)
    assert w.size >= ops.PARALLEL_MIN_ELEMENTS
    assert np.array_equal(ops.matmul_i8(w, x), ops.matmul_i8_reference(w, x))


def test_non_contiguous_and_non_int8_inputs_keep_the_definition():
    w, x = _case(8, 600, 1)
    wide = np.zeros((8, 1200), np.int8)
    wide[:, ::2] = w
    assert np.array_equal(ops.matmul_i8(wide[:, ::2], x), ops.matmul_i8_reference(w, x))
    assert np.array_equal(ops.matmul_i8(w, x.astype(np.int32)), ops.matmul_i8_reference(w, x))
