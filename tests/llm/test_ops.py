"""The integer ops: properties against their definitions in exact Python integers, and examples."""

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from offchain.llm import ops
from offchain.llm.quant import exp_table, rq_pair

i8 = st.integers(-128, 127)


@given(st.integers(1, 2100), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_blas_chunked_matmul_equals_exact_int64(k: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    # extremes included: -128·-128 = 2^14 is the largest product the chunk bound must cover
    w = rng.choice(np.array([-128, -127, -1, 0, 1, 126, 127], np.int8), size=(n, k)) if seed % 2 else \
        rng.integers(-128, 128, (n, k), dtype=np.int8)
    x = rng.integers(-128, 128, k, dtype=np.int8)
    assert np.array_equal(ops.matmul_i8(w, x), ops.matmul_i8_reference(w, x))


def test_matmul_worst_case_chunk_is_exact() -> None:
    # 4096 products of 2^14 - 128 (odd multiples of 128): float32 summed in one go would round
    k = 4096
    w = np.full((3, k), -128, np.int8)
    x = np.full(k, -127, np.int8)
    x[::3] = 127
    assert np.array_equal(ops.matmul_i8(w, x), ops.matmul_i8_reference(w, x))


@given(st.integers(-(2**31) + 1, 2**31 - 1), st.integers(0, 2**31 - 1), st.integers(1, 62))
def test_requant_is_round_half_up_of_the_exact_product(acc: int, m: int, s: int) -> None:
    got = int(ops.requant(np.array([acc]), m, s)[0])
    # exact rational: floor(acc·m / 2^s + 1/2)
    assert got == (2 * acc * m + (1 << s)) // (1 << (s + 1))


def test_requant_examples() -> None:
    # m/2^s = 1/2: ties go up (toward +infinity), as the arithmetic shift floors
    assert ops.requant(np.array([1, 3, -1, -3, 4]), 1, 1).tolist() == [1, 2, 0, -1, 2]


@given(st.floats(1e-12, 1e9))
def test_rq_pair_approximates_its_factor(f: float) -> None:
    m, s = rq_pair(f)
    assert 0 <= m < 2**31 and 1 <= s <= 62
    assert abs(m / 2**s - f) <= max(f * 2**-29, 2**-63)


@given(st.integers(0, 2**62 - 1))
def test_isqrt_is_floor_sqrt(n: int) -> None:
    assert int(ops.isqrt(np.array([n]))[0]) == math.isqrt(n)


def test_isqrt_near_squares() -> None:
    r = np.array([1, 2, 3, 2**31 - 1, 2**30 + 12345], np.int64)
    for d in (-1, 0, 1):
        n = np.maximum(r * r + d, 0)
        assert ops.isqrt(n).tolist() == [math.isqrt(int(v)) for v in n]


@given(hnp.arrays(np.int32, st.integers(1, 40), elements=st.integers(-(2**20), 2**20)),
       st.integers(1, 2**20), st.integers(10, 30))
def test_softmax_sums_to_about_one_in_q15(scores: np.ndarray, m: int, s: int) -> None:
    probs = ops.softmax(scores[None, :], np.array([m, s]), exp_table())[0]
    n = scores.shape[0]
    assert (probs >= 0).all()
    # SPEC §3.2.7: each row sums to 2^15 ± T/2 (every entry rounds by at most 1/2)
    assert 2 * abs(int(probs.sum()) - (1 << ops.PROB_FRAC)) <= n
    assert probs[int(np.argmax(scores))] == probs.max()  # the largest score gets the largest share


def _requant(x: int, m: int, s: int) -> int:
    return (x * m + (1 << (s - 1))) >> s


@given(hnp.arrays(np.int32, st.tuples(st.integers(1, 4), st.integers(1, 30)), elements=st.integers(-(2**20), 2**20)),
       st.integers(0, 2**31 - 1), st.integers(1, 40))
def test_softmax_matches_its_definition_in_python_ints(scores: np.ndarray, m: int, s: int) -> None:
    table = exp_table()
    got = ops.softmax(scores, np.array([m, s]), table)
    for h, row in enumerate(scores.tolist()):
        top = max(row)
        p = [int(table[min(_requant(top - v, m, s), len(table) - 1)]) for v in row]
        total = sum(p)
        assert got[h].tolist() == [((pt << 15) + total // 2) // total for pt in p]


@st.composite
def attention_shapes(draw: st.DrawFn) -> tuple[int, int, int, int, int]:
    """(H, G, hd, S, T): G divides H, 1 <= T <= S."""
    g = draw(st.integers(1, 4))
    h = g * draw(st.integers(1, 4))
    hd, s = draw(st.integers(1, 48)), draw(st.integers(1, 12))
    return h, g, hd, s, draw(st.integers(1, s))


@given(attention_shapes(), st.data())
def test_attention_scores_match_the_exact_integer_sum(shape: tuple[int, int, int, int, int], data: st.DataObject) -> None:
    h, g, hd, s, t = shape
    q = data.draw(hnp.arrays(np.int8, (h, hd), elements=i8), label="q")
    k = data.draw(hnp.arrays(np.int8, (s, g, hd), elements=i8), label="k_cache")
    got = ops.attention_scores(q, k, t)
    assert got.dtype == np.int32 and got.shape == (h, t)
    qs, ks = q.tolist(), k.tolist()
    # SPEC §3.2.6: sc[h, t] = Σ_i q[h, i]·k_cache[t, g(h), i], g(h) = h / (H/G)
    want = [[sum(qs[hh][i] * ks[tt][hh // (h // g)][i] for i in range(hd)) for tt in range(t)] for hh in range(h)]
    assert got.tolist() == want


def test_attention_scores_worst_case_is_exact() -> None:
    # every product is (-128)·(-128) = 2^14: the largest sums the float64 path must carry exactly
    q, k = np.full((2, 4096), -128, np.int8), np.full((3, 1, 4096), -128, np.int8)
    assert ops.attention_scores(q, k, 3).tolist() == [[4096 << 14] * 3] * 2


@given(attention_shapes(), st.data(), st.integers(0, 2**31 - 1), st.integers(1, 40))
def test_attention_values_match_the_exact_integer_sum(shape: tuple[int, int, int, int, int], data: st.DataObject,
                                                      m: int, s: int) -> None:
    h, g, hd, smax, t = shape
    probs = data.draw(hnp.arrays(np.int32, (h, t), elements=st.integers(0, 1 << 15)), label="probs")
    v = data.draw(hnp.arrays(np.int8, (smax, g, hd), elements=i8), label="v_cache")
    got = ops.attention_values(probs, v, np.array([m, s]))
    assert got.dtype == np.int8 and got.shape == (h * hd,)
    ps, vs = probs.tolist(), v.tolist()
    # SPEC §3.2.8: o[h·hd + i] = sat8(requant(Σ_t prob[h, t]·v_cache[t, g(h), i], m, s))
    want = [max(-128, min(127, _requant(sum(ps[hh][tt] * vs[tt][hh // (h // g)][i] for tt in range(t)), m, s)))
            for hh in range(h) for i in range(hd)]
    assert got.tolist() == want


def test_softmax_example() -> None:
    # scores 0 and −256 table steps apart: exp(−1) share, computed by hand from the table
    t = exp_table()
    p = ops.softmax(np.array([[0, -256]]), np.array([1, 1]), t)[0]  # m/2^s = 1/2: −256 → 128 steps
    e = int(t[128])
    assert p.tolist() == [((1 << 30) + (32768 + e) // 2) // (32768 + e), ((e << 15) + (32768 + e) // 2) // (32768 + e)]


@given(hnp.arrays(np.int32, st.integers(1, 64), elements=st.integers(-(2**24) + 1, 2**24 - 1)),
       st.integers(1, 2**20))
def test_rmsnorm_matches_its_definition_in_python_ints(x: np.ndarray, eps: int) -> None:
    g = np.arange(x.shape[0], dtype=np.int32) * 997 - 20000
    y = ops.rmsnorm(x, g, eps)
    xs = [int(v) for v in x]
    r = math.isqrt(sum(v * v for v in xs) // len(xs) + eps)
    den = r << ops.GAIN_FRAC
    want = [max(-128, min(127, (2 * v * int(gg) + den) // (2 * den))) for v, gg in zip(xs, g)]
    assert y.tolist() == want


def test_rope_at_angle_zero_is_identity_and_quarter_turn_rotates() -> None:
    x = np.array([[10, -20, 127, -128]], np.int8)
    one = 1 << ops.ROPE_FRAC
    assert ops.rope(x, np.array([one, one]), np.array([0, 0])).tolist() == x.tolist()
    # 90°: (a, b) → (−b, a); −(−128) = 128 saturates to 127
    assert ops.rope(x, np.array([0, 0]), np.array([one, one])).tolist() == [[20, 10, 127, 127]]


@given(hnp.arrays(np.int8, st.integers(1, 8), elements=i8), hnp.arrays(np.int8, 8, elements=i8))
def test_swiglu_is_table_times_up_requantized(gate: np.ndarray, up: np.ndarray) -> None:
    up = up[: gate.shape[0]]
    table = (np.arange(256, dtype=np.int32) - 128) * 3
    y = ops.swiglu(gate, up, table, np.array([1, 2]))
    want = [max(-128, min(127, ((int(g) * 3) * int(u) * 1 + 2) >> 2)) for g, u in zip(gate, up)]
    assert y.tolist() == want


def test_argmax_ties_go_to_the_lowest_id() -> None:
    assert ops.argmax(np.array([3, 7, 7, 1, 7])) == 1
    assert ops.argmax(np.zeros(10, np.int32)) == 0


def test_residual_add_saturates() -> None:
    h = np.array([ops.RES_LIMIT - 1, -ops.RES_LIMIT + 1, 5], np.int32)
    acc = np.array([100, -100, 4], np.int32)
    rq = np.array([[1 << 30, 30]] * 3, np.int32)  # factor 1
    assert ops.residual_add(h, acc, rq).tolist() == [ops.RES_LIMIT, -ops.RES_LIMIT, 9]


def test_canonical_bytes_are_big_endian_row_major() -> None:
    assert ops.canonical_bytes(np.array([[1, -2], [258, 0]], np.int32)).hex() == \
        "00000001" "fffffffe" "00000102" "00000000"
    assert ops.canonical_bytes(np.array([-1, 2], np.int8)) == b"\xff\x02"


def test_exp_table_is_q15_and_decreasing_to_zero() -> None:
    t = exp_table()
    assert t[0] == 1 << 15 and t[-1] == 0 and t[-2] > 0
    assert (np.diff(t) <= 0).all()
    assert t[256] == round(32768 * math.exp(-1))


def test_threaded_tiles_equal_exact_int64() -> None:
    # large enough for the thread pool path (>= 2^22 elements) and a K remainder below 1024
    rng = np.random.default_rng(7)
    w = np.frombuffer(rng.bytes(1500 * 2900), np.int8).reshape(1500, 2900)
    x = np.frombuffer(rng.bytes(2900), np.int8)
    assert w.size >= ops.PARALLEL_MIN_ELEMENTS
    assert np.array_equal(ops.matmul_i8(w, x), ops.matmul_i8_reference(w, x))
