"""Every kernel's output region equals the numpy reference bytes (offchain/llm/ops.py), per op.

Most examples run through the fast-forward (which hands short runs to the exact stepper); a
sample of each op also runs on the exact stepper alone, and the two must end in the same state.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.constants import REGION_HEIGHT
from offchain.llm import ops
from offchain.llm.kernels import output, run, start
from offchain.llm.kernels import registry as R
from offchain.llm.quant import exp_table
from offchain.mipsemu.fastforward import EXACT_BELOW
from tests.budget import examples
from tests.kernels.cases import CASES, Drawn, linear, seeds


def _check(node: R.Node, expected: bytes, exact: bool = False):  # type: ignore[no-untyped-def]
    inputs_before = [start(node).mem.node(REGION_HEIGHT, r) for r in range(1, 8)]
    vm = run(node, exact=exact)
    assert [vm.mem.node(REGION_HEIGHT, r) for r in range(1, 8)] == inputs_before, "regions 1-7 changed"
    assert vm.exited and vm.exit_code == 0, f"exit code {vm.exit_code}"
    assert output(node, vm) == expected
    # nothing past the output: the output region holds exactly the tensor
    assert vm.mem.read(0x80000000 + len(expected), 64) == bytes(64)
    return vm


@pytest.mark.parametrize("op", list(CASES), ids=lambda op: op.name.lower())
@given(data=st.data())
def test_kernel_matches_numpy(op, data):
    node, expected = CASES[op](Drawn(data))
    assert node.op == op
    _check(node, expected)


@pytest.mark.parametrize("mode", list(R.LinearMode), ids=lambda m: m.name.lower())
@settings(max_examples=examples(15))
@given(data=st.data())
def test_linear_every_mode(mode, data):
    _check(*linear(Drawn(data), mode))


@pytest.mark.parametrize("op", list(CASES), ids=lambda op: op.name.lower())
def test_exact_stepper_agrees_with_fast_forward(op):
    for seed in range(3):
        node, expected = CASES[op](np.random.default_rng(1000 + seed))
        a = _check(node, expected, exact=True)
        b = _check(node, expected, exact=False)
        assert (a.step_count, a.mem.root(), a.pc) == (b.step_count, b.mem.root(), b.pc)


@pytest.mark.parametrize("mode", list(R.LinearMode), ids=lambda m: m.name.lower())
def test_long_runs_go_through_unicorn_and_agree_with_the_stepper(mode):
    """Short runs never leave the exact stepper; a 64x400 product (~100k steps) does."""
    rng = np.random.default_rng(int(mode))
    n, k = 64, 400
    w, x = rng.integers(-128, 128, (n, k), dtype=np.int8), rng.integers(-128, 128, k, dtype=np.int8)
    rq = np.stack([rng.integers(1 << 30, 1 << 31, n), rng.integers(10, 40, n)], 1).astype(np.int32)
    extra = None if mode in (R.LinearMode.INT8, R.LinearMode.LOGITS) else rng.integers(-1000, 1000, n).astype(np.int32)
    node = R.linear(w, x, rq, mode, extra)
    a, b = run(node, exact=True), run(node)
    assert a.step_count > 4 * EXACT_BELOW
    assert (a.step_count, a.mem.root(), a.pc, a.exit_code) == (b.step_count, b.mem.root(), b.pc, b.exit_code)
    assert a.exit_code == 0


@pytest.mark.parametrize("mode", list(R.LinearMode), ids=lambda m: m.name.lower())
@settings(max_examples=examples(8))
@given(seed=seeds)
def test_a_chain_of_full_tiles_builds_the_whole_product(mode, seed):
    """With `full`, tile k outputs rows [0, end_k) of the product and zeros after; the last tile
    of a chain outputs exactly what the untiled node does."""
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(2, 14)), int(rng.integers(1, 60))
    w, x = rng.integers(-128, 128, (n, k), dtype=np.int8), rng.integers(-128, 128, k, dtype=np.int8)
    rq = np.stack([rng.integers(1 << 30, 1 << 31, n), rng.integers(10, 40, n)], 1).astype(np.int32)
    extra = None if mode in (R.LinearMode.INT8, R.LinearMode.LOGITS) else rng.integers(-1000, 1000, n).astype(np.int32)
    whole = R.linear(w, x, rq, mode, extra)
    expected = output(whole, run(whole, exact=True))
    esz = len(expected) // n
    cuts = sorted({0, n, *rng.integers(1, n, int(rng.integers(1, 4))).tolist()})
    partial = None
    for r0, end in zip(cuts, cuts[1:]):
        node = R.linear(w, x, rq, mode, extra, (r0, end - r0), full=True, partial=partial)
        partial = output(node, _check(node, expected[: end * esz] + bytes((n - end) * esz), exact=True))
    assert partial == expected


@pytest.mark.parametrize("op", [R.Op.SCORES, R.Op.SOFTMAX, R.Op.ATTN_VALUES], ids=["scores", "softmax", "attn_values"])
@settings(max_examples=examples(12))
@given(seed=seeds)
def test_a_chain_of_full_head_tiles_builds_the_whole_attention_output(op, seed):
    """Head tiles of scores / attn_values: tile k outputs heads [0, end_k) and zeros after, a bare
    tile outputs only its heads, and the chain's last tile equals the untiled node."""
    rng = np.random.default_rng(seed)
    g = int(rng.integers(1, 3))
    h, hd, s = g * int(rng.integers(1, 4)), int(rng.integers(1, 9)), int(rng.integers(1, 8))
    pos = int(rng.integers(0, s))
    q, cache = rng.integers(-128, 128, (h, hd), dtype=np.int8), rng.integers(-128, 128, (s, g, hd), dtype=np.int8)
    probs = rng.integers(0, 1 << 15, (h, pos + 1)).astype(np.int32)
    rq = np.array([int(rng.integers(1 << 30, 1 << 31)), int(rng.integers(10, 30))], dtype=np.int32)

    sc = rng.integers(-(1 << 16), 1 << 16, (h, pos + 1)).astype(np.int32)
    table = exp_table()

    def build(**kw):  # type: ignore[no-untyped-def]
        if op == R.Op.SCORES:
            return R.scores(q, cache, pos, **kw)
        if op == R.Op.SOFTMAX:
            return R.softmax(sc, rq, table, **kw)
        return R.attn_values(probs, cache, rq, **kw)

    whole = build()
    expected = CASES_REF[op](q, cache, probs, rq, pos) if op != R.Op.SOFTMAX else ops.canonical_bytes(
        ops.softmax(sc, rq, table).astype(np.int32))
    assert output(whole, run(whole, exact=True)) == expected
    per_head = len(expected) // h
    cuts = sorted({0, h, *rng.integers(1, h + 1, int(rng.integers(0, 3))).tolist()})
    partial = None
    for h0, end in zip(cuts, cuts[1:]):
        bare = build(heads=(h0, end - h0))
        _check(bare, expected[h0 * per_head : end * per_head], exact=True)
        node = build(heads=(h0, end - h0), full=True, partial=partial)
        partial = output(node, _check(node, expected[: end * per_head] + bytes((h - end) * per_head), exact=True))
    assert partial == expected


CASES_REF = {
    R.Op.SCORES: lambda q, cache, probs, rq, pos: ops.canonical_bytes(ops.attention_scores(q, cache, pos + 1)),
    R.Op.ATTN_VALUES: lambda q, cache, probs, rq, pos: ops.canonical_bytes(ops.attention_values(probs, cache, rq)),
}


@settings(max_examples=examples(25))
@given(seed=seeds)
def test_in_place_kv_append_rewrites_only_its_row_of_the_input_region(seed):
    """In place, the cache's own region becomes the output (SPEC §4.3): it must equal the copying
    kernel's output, region 8 stays empty, and the work is one row, not the whole cache."""
    rng = np.random.default_rng(seed)
    s, g, hd = int(rng.integers(1, 40)), int(rng.integers(1, 4)), int(rng.integers(1, 17))
    pos = int(rng.integers(0, s))
    cache, row = rng.integers(-128, 128, (s, g, hd), dtype=np.int8), rng.integers(-128, 128, g * hd, dtype=np.int8)
    copying, in_place = R.kv_append(cache, row, pos), R.kv_append(cache, row, pos, in_place=True)
    assert in_place.output_region == 2 and copying.output_region == 8
    a, b = run(copying, exact=True), run(in_place, exact=True)
    assert b.exited and b.exit_code == 0
    assert output(in_place, b) == output(copying, a)
    assert b.mem.node(REGION_HEIGHT, 8) == start(in_place).mem.node(REGION_HEIGHT, 8)  # nothing in region 8
    assert b.step_count < 200 + 20 * g * hd
