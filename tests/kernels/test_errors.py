"""Bad headers, lengths, parameters and requant pairs: the kernel exits with the code SPEC §4.6
defines, writes nothing to region 8 (its root stays zero) and leaves regions 1-7 as they were."""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.constants import REGION_HEIGHT
from offchain.llm.kernels import program
from offchain.llm.kernels import registry as R
from offchain.merkle import ZERO_HASHES
from offchain.mipsemu import VM
from offchain.node.layout import (
    EXIT_BAD_HEADER,
    EXIT_BAD_INPUT_LENGTH,
    EXIT_BAD_OUTPUT_LENGTH,
    EXIT_BAD_PARAM,
    HEADER_BASE,
    Header,
)
from offchain.node.start import start_vm
from tests.budget import examples
from tests.kernels.cases import CASES, Drawn

OPS = list(CASES)
POSITIONAL = {R.Op.ROPE, R.Op.KV_APPEND, R.Op.SCORES, R.Op.ATTN_VALUES}
#: (input index, byte offset of the first requant pair's s word) for ops that read a pair; the
#: embed and linear offsets depend on the token / first row and are computed in _rq_offset.
RQ_AT = {R.Op.SOFTMAX: (1, 4), R.Op.ATTN_VALUES: (2, 4), R.Op.SWIGLU: (3, 4), R.Op.MLP_INPUT: (1, 4),
         R.Op.MLP_FULL: (1, 4), R.Op.EMBED: (2, None), R.Op.LINEAR: (2, None)}


def _run(node: R.Node, header: Header, inputs: list[bytes], patch: tuple[int, bytes] | None = None) -> VM:
    vm = start_vm(program(node.program), header, inputs)
    if patch:
        vm.mem.write(*patch)
    before = [vm.mem.node(REGION_HEIGHT, r) for r in range(1, 8)]
    vm.run(1 << 24)
    assert vm.exited
    assert vm.mem.node(REGION_HEIGHT, 8) == ZERO_HASHES[REGION_HEIGHT], "the kernel wrote to region 8"
    assert [vm.mem.node(REGION_HEIGHT, r) for r in range(1, 8)] == before, "the kernel wrote to regions 1-7"
    return vm


def _case(op: R.Op, draw: st.DataObject) -> R.Node:
    return CASES[op](Drawn(draw))[0]


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name.lower())
@settings(max_examples=examples(6))
@given(draw=st.data(), word=st.sampled_from([(0, 2), (0, 0), (1, None), (11, 1), (15, 7)]))
def test_bad_header_word_exits_1(op, draw, word):
    node = _case(op, draw)
    index, value = word
    if value is None:  # another op's id
        value = OPS[(OPS.index(op) + 1) % len(OPS)]
    vm = _run(node, node.header, list(node.inputs), (HEADER_BASE + 4 * index, int(value).to_bytes(4, "big")))
    assert vm.exit_code == EXIT_BAD_HEADER


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name.lower())
@settings(max_examples=examples(6))
@given(draw=st.data(), data=st.data())
def test_wrong_input_length_exits_2(op, draw, data):
    node = _case(op, draw)
    inputs = list(node.inputs)
    i = data.draw(st.integers(0, len(inputs) - 1), label="input")
    delta = data.draw(st.sampled_from([-4, -1, 1, 4, 32]).filter(lambda d: len(inputs[i]) + d >= 0), label="delta")
    inputs[i] = inputs[i][: len(inputs[i]) + delta] if delta < 0 else inputs[i] + bytes(delta)
    header = replace(node.header, input_lengths=tuple(len(x) for x in inputs))
    assert _run(node, header, inputs).exit_code == EXIT_BAD_INPUT_LENGTH


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name.lower())
@settings(max_examples=examples(4))
@given(draw=st.data(), extra=st.booleans())
def test_wrong_input_count_exits_1(op, draw, extra):
    node = _case(op, draw)
    inputs = list(node.inputs) + [b"\x00" * 4] if extra else list(node.inputs)[:-1]
    header = replace(node.header, input_lengths=tuple(len(x) for x in inputs))
    assert _run(node, header, inputs).exit_code == EXIT_BAD_HEADER


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name.lower())
@settings(max_examples=examples(4))
@given(draw=st.data(), delta=st.sampled_from([-1, 1, 4, -4]))
def test_wrong_output_length_exits_3(op, draw, delta):
    node = _case(op, draw)
    header = replace(node.header, output_length=max(0, node.header.output_length + delta))
    if header.output_length == node.header.output_length:
        header = replace(header, output_length=header.output_length + 1)
    assert _run(node, header, list(node.inputs)).exit_code == EXIT_BAD_OUTPUT_LENGTH


def _bad_params(node: R.Node) -> list[Header]:
    h = node.header
    p = list(h.params)
    out = [replace(h, params=tuple([0] + p[1:]))] if node.op != R.Op.LINEAR else []
    if node.op == R.Op.LINEAR:
        out.append(replace(h, params=tuple([5] + p[1:])))  # no such mode
        out.append(replace(h, params=tuple(p[:3] + [p[1], 1])))  # r0 = N
        out.append(replace(h, params=tuple(p[:4] + [0])))  # empty tile
        out.append(replace(h, params=tuple(p[:3] + [p[3], p[1] - p[3] + 1])))  # tile past N
    if node.op in POSITIONAL:
        s = p[2] if node.op == R.Op.ROPE else p[0] if node.op == R.Op.KV_APPEND else p[3]
        out.append(replace(h, position=s))  # pos = S
    if node.op == R.Op.ROPE:
        out.append(replace(h, params=(p[0], p[1] + 1, p[2])))  # odd head dim
    if node.op in (R.Op.SCORES, R.Op.ATTN_VALUES):
        out.append(replace(h, params=(p[0] * 2 + 1, p[0] * 2 + 2, *p[2:])))  # G does not divide H
    if node.op == R.Op.RMSNORM:
        out.append(replace(h, params=(p[0], 0)))  # eps = 0
    if node.op == R.Op.MLP_FULL:
        out.append(replace(h, params=(1, *p[1:])))
        out.append(replace(h, params=(p[0], *p[1:-1], 0)))  # a zero width
    return out


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name.lower())
@settings(max_examples=examples(4))
@given(draw=st.data())
def test_parameter_out_of_range_exits_4(op, draw):
    node = _case(op, draw)
    for header in _bad_params(node):
        assert _run(node, header, list(node.inputs)).exit_code == EXIT_BAD_PARAM, header


def _rq_offset(node: R.Node) -> tuple[int, int]:
    i, off = RQ_AT[node.op]
    if node.op == R.Op.EMBED:
        tok = int.from_bytes(node.inputs[0], "big")
        return i, 8 * tok
    if node.op == R.Op.LINEAR:
        return i, 8 * node.header.params[3]  # the tile's first row
    return i, off - 4


@pytest.mark.parametrize("op", list(RQ_AT), ids=lambda op: op.name.lower())
@settings(max_examples=examples(6))
@given(draw=st.data(), pair=st.sampled_from([(1 << 30, 0), (1 << 30, 63), (-1, 8), (1 << 30, -1)]))
def test_requant_pair_out_of_range_exits_4(op, draw, pair):
    node = _case(op, draw)
    i, off = _rq_offset(node)
    inputs = list(node.inputs)
    word = pair[0].to_bytes(4, "big", signed=True) + pair[1].to_bytes(4, "big", signed=True)
    inputs[i] = inputs[i][:off] + word + inputs[i][off + 8 :]
    assert _run(node, node.header, inputs).exit_code == EXIT_BAD_PARAM


@settings(max_examples=examples(10))
@given(draw=st.data())
def test_embed_token_outside_vocabulary_exits_4(draw):
    node = _case(R.Op.EMBED, draw)
    v = node.header.params[0]
    inputs = [v.to_bytes(4, "big"), *node.inputs[1:]]
    assert _run(node, node.header, inputs).exit_code == EXIT_BAD_PARAM


@settings(max_examples=examples(10))
@given(draw=st.data(), which=st.sampled_from(["e0", "negative", "spread"]))
def test_softmax_refuses_tables_and_rows_outside_its_domain(draw, which):
    node = _case(R.Op.SOFTMAX, draw)
    inputs = list(node.inputs)
    if which == "e0":
        inputs[2] = bytes(4) + inputs[2][4:]
    elif which == "negative":
        inputs[2] = inputs[2][:-4] + (-1).to_bytes(4, "big", signed=True)
        if len(inputs[2]) == 4:  # a one-entry table: its only entry is E[0]
            inputs[2] = bytes(4)
    else:
        if node.header.position == 0:  # one score per row: nothing to spread
            return
        sc = np.frombuffer(inputs[0], ">i4").copy()
        sc[0], sc[1] = 2**30, -(2**30)  # row 0 spreads by exactly 2^31
        inputs[0] = sc.tobytes()
    assert _run(node, node.header, inputs).exit_code == EXIT_BAD_PARAM


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name.lower())
@settings(max_examples=examples(4))
@given(draw=st.data(), length=st.sampled_from([1, 4, 1 << 20]))
def test_unused_input_slot_with_a_length_exits_2(op, draw, length):
    node = _case(op, draw)
    slot = len(node.inputs)
    if slot == 6:
        return
    vm = _run(node, node.header, list(node.inputs), (HEADER_BASE + 4 * (4 + slot), length.to_bytes(4, "big")))
    assert vm.exit_code == EXIT_BAD_INPUT_LENGTH


M32 = 1 << 32


@settings(max_examples=examples(6))
@given(v=st.integers(1, 6), d8=st.integers(1, 4), data=st.data())
def test_embed_lengths_saturate_so_V_plus_2_29_does_not_wrap_to_a_match(v, d8, data):
    """SPEC §4.6: byte lengths saturate just above one region. V' = V + 2^29 with 8 | d makes
    V'·d ≡ V·d and V'·8 ≡ V·8 (mod 2^32): a wrapping kernel would accept the header and run."""
    d = 8 * d8
    rng = Drawn(data)
    table = rng.integers(-128, 128, (v, d), dtype=np.int8)
    rq = np.array([[1 << 30, 30]] * v, np.int32)
    node = R.embed(table, rq, data.draw(st.integers(0, v - 1), label="token"))
    big = v + (1 << 29)
    assert ((big * d) % M32, (big * 8) % M32) == (v * d, v * 8) == node.header.input_lengths[1:]
    assert _run(node, replace(node.header, params=(big, d)), list(node.inputs)).exit_code == EXIT_BAD_INPUT_LENGTH


@settings(max_examples=examples(6))
@given(n=st.integers(1, 40), data=st.data())
def test_argmax_length_saturates_so_n_plus_2_30_does_not_wrap_to_a_match(n, data):
    z = Drawn(data).integers(-1000, 1000, n).astype(np.int32)
    node = R.argmax(z)
    big = n + (1 << 30)
    assert (big * 4) % M32 == 4 * n == node.header.input_lengths[0]
    assert _run(node, replace(node.header, params=(big,)), list(node.inputs)).exit_code == EXIT_BAD_INPUT_LENGTH


@settings(max_examples=examples(6))
@given(n=st.integers(1, 8), k4=st.integers(1, 8), data=st.data())
def test_linear_lengths_saturate_so_N_plus_2_30_does_not_wrap_to_a_match(n, k4, data):
    k = 4 * k4
    rng = Drawn(data)
    w, x = rng.integers(-128, 128, (n, k), dtype=np.int8), rng.integers(-128, 128, k, dtype=np.int8)
    node = R.linear(w, x, np.array([[1 << 30, 30]] * n, np.int32), R.LinearMode.INT8)
    mode, _, _, r0, nr = node.header.params[:5]
    big = n + (1 << 30)
    assert ((big * k) % M32, (big * 8) % M32) == (n * k, n * 8) == (node.header.input_lengths[0], node.header.input_lengths[2])
    header = replace(node.header, params=(mode, big, k, r0, nr, *node.header.params[5:]))
    assert _run(node, header, list(node.inputs)).exit_code == EXIT_BAD_INPUT_LENGTH
