"""Native node roots (one call per token, saved trees for KV caches) equal offchain.merkle's."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.llm import ops
from offchain.llm.quant import quantize_llama
from offchain.merkle import batch, tensor_root
from offchain.merkle.hashing import hash_pair
from offchain.merkle.tensor import tensor_height
from offchain.node.graph import DEFAULT_MAX_STEPS, build_graph
from offchain.node.trace import trace_task
from tests.llm.helpers import tiny_llama

pytestmark = pytest.mark.skipif(not batch.NATIVE, reason="no working C compiler on this host")

DTYPES = [np.int8, np.uint8, np.int16, np.int32, np.uint32, np.int64]


def _expected(x: np.ndarray, keep: int | None) -> bytes:
    data = np.ascontiguousarray(x, dtype=x.dtype.newbyteorder(">")).tobytes()
    if x.dtype.itemsize in (1, 4, 8):
        assert data == ops.canonical_bytes(x)
    if keep is not None:
        data = data[:keep] + bytes(max(0, len(data) - keep))
    return _pysha3_root(data)


def _pysha3_root(data: bytes) -> bytes:
    """The tensor root by its definition (SPEC §1.1), hashed pair by pair with pysha3 alone, so
    that the native helper is never checked against itself."""
    height = tensor_height(len(data))
    level = data + bytes((32 << height) - len(data))
    while len(level) > 32:
        level = b"".join(hash_pair(level[i : i + 32], level[i + 32 : i + 64]) for i in range(0, len(level), 64))
    root = level
    assert root == tensor_root(data)[0]
    return root


arrays = st.tuples(st.sampled_from(DTYPES), st.integers(0, 3000), st.integers(0, 2**32 - 1))


def _array(dtype, n: int, seed: int) -> np.ndarray:
    info = np.iinfo(dtype)
    return np.random.default_rng(seed).integers(info.min, info.max, n, dtype=dtype, endpoint=True)


@given(st.lists(st.tuples(arrays, st.one_of(st.none(), st.integers(0, 13000))), min_size=1, max_size=12))
def test_a_batch_of_node_roots_equals_tensor_roots_of_canonical_bytes(specs):
    items, want = [], []
    for i, ((dtype, n, seed), keep) in enumerate(specs):
        x = _array(dtype, n, seed)
        items.append((f"n{i}", x, keep))
        want.append(_expected(x, keep))
    assert batch.NodeRoots().roots(items) == want


@settings(deadline=None)
@given(
    dtype=st.sampled_from(DTYPES),
    n=st.integers(2048, 12000),
    edits=st.lists(st.tuples(st.integers(0, 12000), st.integers(1, 300), st.integers(-2, 2)), min_size=1, max_size=8),
)
def test_saved_trees_follow_edits_and_resizes_like_full_rebuilds(dtype, n, edits):
    # a KV cache changes one row per token; a resize (the last field) must rebuild, not patch
    hasher = batch.NodeRoots()
    x = _array(dtype, n, n)
    assert hasher.roots([("kv", x, None)]) == [_expected(x, None)]
    for seed, (at, length, grow) in enumerate(edits):
        x = x.copy()
        at = min(at, x.size)
        x[at : at + length] = _array(dtype, len(x[at : at + length]), seed)
        if grow:
            x = np.concatenate([x, _array(dtype, 2048 * grow, seed)]) if grow > 0 else x[: max(1, x.size + 2048 * grow)]
        assert hasher.roots([("kv", x, None), ("other", x[:100], 37)]) == [_expected(x, None), _expected(x[:100], 37)]


@settings(deadline=None)
@given(arrays, st.lists(st.integers(0, 14000), min_size=1, max_size=6), st.integers(1, 3))
def test_prefix_roots_read_off_the_whole_arrays_tree_equal_full_rebuilds(spec, keeps, tokens):
    # matmul tiles: prefixes of an output queued before the output itself, over several batches
    hasher = batch.NodeRoots()
    dtype, n, seed = spec
    for t in range(tokens):
        x = _array(dtype, n, seed + t)
        whole = hasher.count + len(keeps)
        for i, k in enumerate(keeps):
            hasher.add(f"tile{i}", x, k, prefix_of=whole)
        hasher.add("out", x)
        got = batch.split_roots(hasher.run(hasher.take()))
        assert got == [_expected(x, k) for k in keeps] + [_expected(x, None)]


node_specs = st.tuples(st.sampled_from(DTYPES), st.integers(0, 3000), st.booleans())


@settings(deadline=None)
@given(
    nodes=st.lists(node_specs, min_size=1, max_size=8),
    prefixes=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 14000)), max_size=3),
    changes=st.lists(st.tuples(st.integers(0, 7), node_specs), max_size=4),
    tokens=st.integers(2, 5),
    repeat_key=st.booleans(),
)
def test_a_token_batch_equals_its_arrays_added_one_by_one(nodes, prefixes, changes, tokens, repeat_key):
    # add_batch reuses the previous token's rows where keys, sizes and dtypes repeat: every root
    # must still be that of the array's canonical bytes, token after token, whatever changes
    hasher = batch.NodeRoots()
    started, want = [], []
    specs = list(nodes)
    for t in range(tokens):
        if t and changes:  # one node changes size or dtype (or layout) at this token
            at, spec = changes[t % len(changes)]
            specs[at % len(specs)] = spec
        keys, arrays, special, expected = [], [], {}, []
        for i, (dtype, n, strided) in enumerate(specs):
            x = _array(dtype, 2 * n if strided else n, 1000 * t + i)
            x = x[::2] if strided else x  # a non-contiguous array is hashed as its contiguous copy
            for j, (of, keep) in enumerate(prefixes):
                keep += 37 * t  # a prefix may grow with the position (attention tiles)
                if of % len(specs) == i:  # a tile: a prefix of node i, queued just before it
                    special[len(keys)] = (keep, len(keys) + 1 + sum(1 for o, _ in prefixes[j + 1 :] if o % len(specs) == i))
                    keys.append(f"tile{j}")
                    arrays.append(x)
                    expected.append(_expected(x, keep))
            keys.append("n0" if repeat_key and i else f"n{i}")  # a repeated key: no template is kept
            arrays.append(x)
            expected.append(_expected(x, None))
        hasher.add_batch(keys, arrays, special)
        started.append(batch.NodeRoots.start(hasher.take()))
        want.append(expected)
    assert [batch.split_roots(batch.NodeRoots.finish(b)) for b in started] == want


def test_a_key_added_again_after_a_reused_batch_is_hashed_on_its_own():
    # a prefix row reads its whole array's tree after every other row: a second row of that key,
    # added after a batch that reused the previous token's rows, must not rewrite that tree
    hasher = batch.NodeRoots()
    first = _array(np.int8, 4096, 0)
    hasher.add_batch(["tile", "kv"], [first, first], {0: (1000, 1)})
    hasher.run(hasher.take())
    kv, again = _array(np.int8, 4096, 1), _array(np.int8, 4096, 2)
    hasher.add_batch(["tile", "kv"], [kv, kv], {0: (1000, 1)})  # the same keys: the reused rows
    hasher.add("kv", again)
    got = batch.split_roots(hasher.run(hasher.take()))
    assert got == [_expected(kv, 1000), _expected(kv, None), _expected(again, None)]


def test_a_float_array_is_refused_in_one_line_even_where_the_previous_token_had_an_integer_one():
    hasher = batch.NodeRoots()
    hasher.add_batch(["a", "b"], [np.zeros(4, np.int32), np.zeros(4, np.int32)])
    hasher.take()
    with pytest.raises(ValueError, match="only integer tensors"):
        hasher.add_batch(["a", "b"], [np.zeros(4, np.int32), np.zeros(4, np.float32)])


def test_non_integer_arrays_are_refused_in_one_line():
    with pytest.raises(ValueError, match="only integer tensors"):
        batch.NodeRoots().roots([("f", np.zeros(3, np.float32), None)])


def _model(seed: int):  # type: ignore[no-untyped-def]
    return quantize_llama(tiny_llama(seed=seed), list(range(40)))


@pytest.mark.parametrize("tiled", [False, True], ids=["untiled", "matmul-tiles"])
@pytest.mark.parametrize("keep", [True, False], ids=["outputs-kept", "roots-only"])
def test_the_native_trace_equals_the_python_trace_root_for_root(monkeypatch, tiled, keep):
    model = _model(5)
    graph = build_graph(model.config, max_steps=4000 if tiled else DEFAULT_MAX_STEPS)
    assert bool(graph.tiles_before()) == tiled
    native = trace_task(model, [1, 2, 3], 5, keep_outputs=keep, graph=graph)
    monkeypatch.setattr(batch, "NATIVE", False)
    python = trace_task(model, [1, 2, 3], 5, keep_outputs=True, graph=graph)
    assert native.names == python.names and native.positions == python.positions
    assert native.outputs == (python.outputs if keep else None)
    assert native.roots == python.roots == [tensor_root(o)[0] for o in python.outputs]
    assert native.final_state == python.final_state
