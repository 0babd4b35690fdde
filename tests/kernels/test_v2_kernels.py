"""The spec v2 kernels (SPEC §4.7) in the VM produce exactly the bytes of the numpy definition
(offchain/llm/v2/ops.py) on random shapes, every block type and edge values; bad headers, lengths,
parameters and data exit with §4.6's codes having written nothing; the v2 programs live apart
from v1's table."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.constants import REGION_HEIGHT
from offchain.llm.kernels import (
    BUILD_V2_DIR,
    KERNELS,
    KERNELS_V2,
    PROGRAMS_V2_JSON,
    SRC_DIR,
    output,
    program,
    run,
    start,
)
from offchain.llm.kernels import registry_v2 as R
from offchain.llm.kernels.__main__ import render, table
from offchain.llm.ops import canonical_bytes
from offchain.llm.v2 import ops
from offchain.merkle import ZERO_HASHES, tensor_root
from offchain.mipsemu import VM
from offchain.mipsemu.fastforward import EXACT_BELOW
from offchain.node.graph import PROGRAMS
from offchain.node.layout import (
    EXIT_BAD_HEADER,
    EXIT_BAD_INPUT_LENGTH,
    EXIT_BAD_OUTPUT_LENGTH,
    EXIT_BAD_PARAM,
    HEADER_BASE,
    Header,
)
from offchain.node.start import check_end, start_vm
from tests.budget import examples
from tests.kernels.cases import Drawn
from tests.kernels.cases_v2 import CASES, KINDS, block_weight, embed, exp2, linear, width
from tests.kernels.test_build import VM_MNEMONICS

OPS = list(CASES)
R_BYTES = {"Q8_0": 34, "Q4_0": 18, "Q4_1": 20}  # the 32-value block formats and their block bytes


def _check(node: R.NodeV2, expected: bytes, exact: bool = False) -> VM:
    """Run `node`: its output region holds exactly `expected` (the root check of SPEC §4.5), and
    it wrote no other region of 1-8 (an in-place op's output is region 2, and region 8 stays empty)."""
    out_region = node.output_region
    kept = [r for r in range(1, 9) if r != out_region]
    before = [start(node).mem.node(REGION_HEIGHT, r) for r in kept]
    vm = run(node, exact=exact)
    assert [vm.mem.node(REGION_HEIGHT, r) for r in kept] == before, "a region other than the output changed"
    assert vm.exited and vm.exit_code == 0, f"exit code {vm.exit_code}"
    assert output(node, vm) == expected
    assert check_end(vm, tensor_root(expected)[0], node.header, out_region) is None
    return vm


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name.lower())
@settings(max_examples=examples(25))
@given(data=st.data())
def test_v2_kernel_matches_numpy(op, data):
    """`make fuzz` (OPML_FUZZ=1) runs FUZZ_FACTOR times the examples (tests/budget.py)."""
    node, expected = CASES[op](Drawn(data))
    assert node.op == op
    _check(node, expected)


@pytest.mark.parametrize("mode", list(R.LinearModeV2), ids=lambda m: m.name.lower())
@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=examples(12))
@given(data=st.data())
def test_v2_linear_every_type_and_mode(kind, mode, data):
    _check(*linear(Drawn(data), kind, mode))


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name.lower())
def test_exact_stepper_agrees_with_fast_forward(op):
    for seed in range(2):
        node, expected = CASES[op](np.random.default_rng(2000 + seed))
        a = _check(node, expected, exact=True)
        b = _check(node, expected)
        assert (a.step_count, a.mem.root(), a.pc) == (b.step_count, b.mem.root(), b.pc)


#: where each block's fp16 scales lie (k-quants: d and dmin; Q6_K: d after its 208 other bytes)
SCALE_OFFSETS = {"Q8_0": (0,), "Q4_0": (0,), "Q4_1": (0, 2), "Q4_K": (0, 2), "Q5_K": (0, 2), "Q6_K": (208,)}
#: the F32 twins of the fp16 edges below: ±0, ±tiniest subnormal, ±largest finite
F32_OF_FP16 = {0x0000: 0x00000000, 0x0001: 0x00000001, 0x8001: 0x80000001, 0x7BFF: 0x7F7FFFFF, 0xFBFF: 0xFF7FFFFF}


def _weight_with_scales(kind: str, n: int, k: int, bits: int, seed: int):  # type: ignore[no-untyped-def]
    """Every block scale (F32/F16: every value) set to `bits`, the rest random."""
    from offchain.llm.v2.blocks import weight

    if kind == "F16":
        return weight(kind, np.full((n, k), bits, dtype=np.uint16).view(np.float16), "w", (n, k))
    if kind == "F32":
        return weight(kind, np.full((n, k), F32_OF_FP16[bits], dtype=np.uint32).view(np.float32), "w", (n, k))
    w = block_weight(np.random.default_rng(seed), kind, n, k)
    raw = np.array(w.raw).reshape(n * k // R.BLOCK_VALUES[kind], -1)
    for off in SCALE_OFFSETS[kind]:
        raw[:, off], raw[:, off + 1] = bits & 0xFF, bits >> 8
    return weight(kind, raw.reshape(n, -1), "w", (n, k))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bits", [0x0000, 0x0001, 0x8001, 0x7BFF, 0xFBFF], ids=hex)
def test_v2_linear_extreme_scales_and_saturated_input(kind, bits):
    """Every block at the tiniest or largest finite fp16 (F32: float32), the input at int32's ends:
    to_act saturates and the residual add wraps exactly as numpy's int64."""
    n, k = 5, 512 if kind.endswith("_K") else 64
    w = _weight_with_scales(kind, n, k, bits, 7)
    x = np.where(np.arange(k) % 3 == 0, (1 << 31) - 1, -(1 << 31)).astype(np.int32)
    acc = ops.matmul_acc_numpy(w, ops.quantize_act(x))
    _check(R.linear(w, x, R.LinearModeV2.ACT), canonical_bytes(ops.to_act(acc)))
    h = np.full(n, (1 << 62) + 12345, dtype=np.int64)
    _check(R.linear(w, x, R.LinearModeV2.RESIDUAL, h), canonical_bytes(h + acc))
    if bits == 0x7BFF and kind != "F32":  # F32's 2^127 shifts every product past 2^64 (it wraps instead)
        assert set(ops.to_act(acc).tolist()) & {(1 << 31) - 1, -(1 << 31)}, "expected saturation"


def test_v2_linear_zero_input_gives_zero_and_h():
    w = block_weight(np.random.default_rng(3), "Q4_1", 4, 96)
    x = np.zeros(96, dtype=np.int32)
    _check(R.linear(w, x, R.LinearModeV2.ACT), bytes(16))
    h = np.array([1, -2, 3, -(1 << 50)], dtype=np.int64)
    _check(R.linear(w, x, R.LinearModeV2.RESIDUAL, h), canonical_bytes(h))


def _splits(rng: np.random.Generator, n: int) -> list[tuple[int, int]]:
    cuts = sorted(set(rng.integers(1, n, size=int(rng.integers(0, 4))).tolist())) if n > 1 else []
    edges = [0, *cuts, n]
    return [(a, b - a) for a, b in zip(edges, edges[1:], strict=False)]


@pytest.mark.parametrize("mode", list(R.LinearModeV2), ids=lambda m: m.name.lower())
@pytest.mark.parametrize("seed", range(len(KINDS)))
def test_v2_linear_chain_of_full_tiles_builds_the_whole_product(mode, seed):
    """Tile k outputs rows [0, end_k) of the product and zeros after (its predecessor's rows
    copied); the last tile of a chain outputs exactly what the untiled node does. Every type."""
    rng = np.random.default_rng(seed)
    kind = KINDS[seed % len(KINDS)]
    n, k = int(rng.integers(2, 12)), width(rng, kind, 2 if kind.endswith("_K") else 3)
    w, x = block_weight(rng, kind, n, k), rng.integers(-(1 << 22), 1 << 22, k).astype(np.int32)
    h = rng.integers(-(1 << 40), 1 << 40, n).astype(np.int64) if mode == R.LinearModeV2.RESIDUAL else None
    whole = run(R.linear(w, x, mode, h))
    want = output(R.linear(w, x, mode, h), whole)
    esz = len(want) // n
    prev = None
    for r0, nr in _splits(rng, n):
        node = R.linear(w, x, mode, h, rows=(r0, nr), full=True, partial=prev)
        vm = _check(node, want[:(r0 + nr) * esz] + bytes((n - r0 - nr) * esz))
        prev = output(node, vm)
    assert prev == want


@pytest.mark.parametrize("seed", range(4))
def test_v2_attention_chain_of_head_tiles_builds_every_head(seed):
    rng = np.random.default_rng(seed)
    g = int(rng.integers(1, 3))
    h, hd, s = g * int(rng.integers(1, 4)), 8, 4
    q, k, v = (rng.integers(-(1 << 22), 1 << 22, shape).astype(np.int32) for shape in ((h, hd), (s, g, hd), (s, g, hd)))
    want = canonical_bytes(ops.attention(q, k[:3], v[:3], exp2(), ops.score_scale(hd)))
    prev = None
    for h0, nh in _splits(rng, h):
        node = R.attention(q, k[:3], v[:3], exp2(), 2, s, heads=(h0, nh), full=True, partial=prev)
        vm = _check(node, want[:4 * (h0 + nh) * hd] + bytes(4 * (h - h0 - nh) * hd))
        prev = output(node, vm)
    assert prev == want


def _steps_per_mac(kind: str) -> float:
    rng = np.random.default_rng(11)
    n, k = 32, 256
    w, x = block_weight(rng, kind, n, k), rng.integers(-(1 << 20), 1 << 20, k).astype(np.int32)
    full = run(R.linear(w, x, R.LinearModeV2.ACT)).step_count
    one = run(R.linear(w, x, R.LinearModeV2.ACT, rows=(0, 1))).step_count
    return (full - one) / ((n - 1) * k)


@pytest.mark.parametrize("kind,bound", [("Q8_0", 8.0), ("Q4_0", 8.5), ("Q4_1", 10.5)])
def test_v2_linear_steps_per_multiply_accumulate(kind, bound, capsys):
    """VM steps per multiply-accumulate (rows beyond the first; the input's quantization is paid
    once per node). The figure is deterministic; the bound catches a regression of the loop."""
    s = _steps_per_mac(kind)
    with capsys.disabled():
        print(f"\nv2_linear {kind}: {s:.2f} steps per multiply-accumulate")
    assert 3 < s < bound


def _steps_per_mac_k(kind: str) -> float:
    """As _steps_per_mac over rows beyond the first four: k-quants go four rows at a time (a tile of
    fewer still costs four), and a super-block's own work is per 256 values."""
    rng = np.random.default_rng(11)
    n, k = 36, 512
    w, x = block_weight(rng, kind, n, k), rng.integers(-(1 << 20), 1 << 20, k).astype(np.int32)
    full = run(R.linear(w, x, R.LinearModeV2.ACT)).step_count
    four = run(R.linear(w, x, R.LinearModeV2.ACT, rows=(0, 4))).step_count
    return (full - four) / ((n - 4) * k)


@pytest.mark.parametrize("kind,bound", [("Q4_K", 7.0), ("Q5_K", 10.5), ("Q6_K", 10.0), ("F16", 52.0), ("F32", 70.0)])
def test_v2_linear_steps_per_multiply_accumulate_k_quants_and_floats(kind, bound, capsys):
    s = _steps_per_mac_k(kind)
    with capsys.disabled():
        print(f"\nv2_linear {kind}: {s:.2f} steps per multiply-accumulate")
    assert 3 < s < bound


@pytest.mark.parametrize("kind", KINDS)
def test_long_runs_go_through_unicorn_and_agree_with_the_stepper(kind):
    """Short runs never leave the exact stepper; a 48x384 product (48x512 for k-quants; over 100k
    steps) does."""
    rng = np.random.default_rng(5)
    k = 512 if kind.endswith("_K") else 384
    w, x = block_weight(rng, kind, 48, k), rng.integers(-(1 << 22), 1 << 22, k).astype(np.int32)
    node = R.linear(w, x, R.LinearModeV2.ACT)
    a, b = run(node, exact=True), run(node)
    assert a.step_count > 4 * EXACT_BELOW
    assert (a.step_count, a.mem.root(), a.pc, a.exit_code) == (b.step_count, b.mem.root(), b.pc, b.exit_code)
    assert a.exit_code == 0
    assert output(node, b) == canonical_bytes(ops.to_act(ops.matmul_acc_numpy(w, ops.quantize_act(x))))


# -- errors -------------------------------------------------------------------------------------


def _run_bad(node: R.NodeV2, header: Header, inputs: list[bytes], patch: tuple[int, bytes] | None = None) -> int:
    vm = start_vm(program(node.program), header, inputs)
    if patch:
        vm.mem.write(*patch)
    before = [vm.mem.node(REGION_HEIGHT, r) for r in range(1, 8)]
    vm.run(1 << 24)
    assert vm.exited
    assert vm.mem.node(REGION_HEIGHT, 8) == ZERO_HASHES[REGION_HEIGHT], "the kernel wrote to region 8"
    assert [vm.mem.node(REGION_HEIGHT, r) for r in range(1, 8)] == before, "the kernel wrote to regions 1-7"
    return vm.exit_code


def _case(op: R.OpV2, seed: int) -> R.NodeV2:
    return CASES[op](np.random.default_rng(seed))[0]


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name.lower())
@pytest.mark.parametrize("word", [(0, 2), (1, 22), (11, 1), (15, 7)])
def test_bad_header_word_exits_1(op, word):
    node = _case(op, 1)
    index, value = word
    if index == 1 and op == R.OpV2.LINEAR:
        value = 21
    assert _run_bad(node, node.header, list(node.inputs),
                    (HEADER_BASE + 4 * index, value.to_bytes(4, "big"))) == EXIT_BAD_HEADER


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name.lower())
def test_wrong_input_count_or_length_exits_1_or_2(op):
    node = _case(op, 2)
    for i in range(len(node.inputs)):
        for delta in (-1, 4):
            inputs = list(node.inputs)
            inputs[i] = inputs[i][:delta] if delta < 0 else inputs[i] + bytes(delta)
            header = replace(node.header, input_lengths=tuple(len(x) for x in inputs))
            assert _run_bad(node, header, inputs) == EXIT_BAD_INPUT_LENGTH, (i, delta)
    inputs = list(node.inputs)[:-1]
    header = replace(node.header, input_lengths=tuple(len(x) for x in inputs))
    assert _run_bad(node, header, inputs) == EXIT_BAD_HEADER


def _linear_and_embed_nodes(kind: str) -> list[R.NodeV2]:
    """v2_embed, and v2_linear in both modes, untiled and as a full tile with and without the
    previous tile's output, on a [6, 256] `kind` weight."""
    rng = np.random.default_rng(12)
    w, x, h = block_weight(rng, kind, 6, 256), np.arange(256, dtype=np.int32) - 9, np.arange(6, dtype=np.int64)
    nodes = [R.embed(w, 5)]
    for mode, hh in ((R.LinearModeV2.ACT, None), (R.LinearModeV2.RESIDUAL, h)):
        esz = 4 if hh is None else 8
        nodes += [R.linear(w, x, mode, hh), R.linear(w, x, mode, hh, rows=(1, 3), full=True),
                  R.linear(w, x, mode, hh, rows=(4, 2), full=True, partial=bytes(6 * esz))]
    return nodes


def _malformed(node: R.NodeV2) -> list[tuple[Header, list[bytes], tuple[int, bytes] | None]]:
    """A wrong header word, each input one byte short or four long, an input missing or extra, a
    wrong output length."""
    out: list[tuple[Header, list[bytes], tuple[int, bytes] | None]] = [
        (node.header, list(node.inputs), (HEADER_BASE + 4 * index, value.to_bytes(4, "big")))
        for index, value in ((0, 2), (1, 21), (11, 1), (15, 7))]
    p = node.header.params
    with_partial = node.op == R.OpV2.LINEAR and len(p) == 7 and len(node.inputs) == 3 + p[0]
    variants = [[*node.inputs, bytes(8)]] + ([] if with_partial else [list(node.inputs)[:-1]])  # a tile runs without its partial
    for i in range(len(node.inputs)):
        for delta in (-1, 4):
            inputs = list(node.inputs)
            inputs[i] = inputs[i][:delta] if delta < 0 else inputs[i] + bytes(delta)
            variants.append(inputs)
    out += [(replace(node.header, input_lengths=tuple(len(x) for x in v)), v, None) for v in variants]
    out += [(replace(node.header, output_length=node.header.output_length + d), list(node.inputs), None) for d in (-4, 1, 8)]
    return out


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in R_BYTES])
def test_k_quant_and_float_nodes_check_header_counts_and_lengths(kind):
    """The k-quant and F32/F16 path has its own header, count, length and parameter checks: every
    malformed node exits with the code the same node on a Q8_0 weight exits with (1, 2 or 3), a
    parameter out of range with 4, having written nothing; the well-formed ones run."""
    codes = []
    for node, same in zip(_linear_and_embed_nodes(kind), _linear_and_embed_nodes("Q8_0"), strict=True):
        assert run(node).exit_code == 0
        for (header, inputs, patch), (h8, i8, p8) in zip(_malformed(node), _malformed(same), strict=True):
            code = _run_bad(node, header, inputs, patch)
            assert code == _run_bad(same, h8, i8, p8), (node.op, header, patch)
            codes.append(code)
        for header in _bad_params(node):
            assert _run_bad(node, header, list(node.inputs)) == EXIT_BAD_PARAM, header
    assert set(codes) == {EXIT_BAD_HEADER, EXIT_BAD_INPUT_LENGTH, EXIT_BAD_OUTPUT_LENGTH}


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name.lower())
def test_wrong_output_length_exits_3(op):
    node = _case(op, 3)
    for delta in (-4, 1, 8):
        header = replace(node.header, output_length=node.header.output_length + delta)
        assert _run_bad(node, header, list(node.inputs)) == EXIT_BAD_OUTPUT_LENGTH


def _bad_params(node: R.NodeV2) -> list[Header]:
    h, p = node.header, list(node.header.params)
    op = node.op
    u32 = 0xFFFFFFFF
    if op == R.OpV2.EMBED:
        return [replace(h, params=(6, *p[1:])), replace(h, params=(p[0], 0, p[2])), replace(h, params=(*p[:2], p[2] + 1))]
    if op == R.OpV2.RMSNORM:
        return [replace(h, params=(0, *p[1:])), replace(h, params=(p[0], 0, *p[2:])),
                replace(h, params=(p[0], 1 << 24, *p[2:])), replace(h, params=(p[0], p[1], 1, p[3])),
                replace(h, params=(p[0], p[1], -150 & u32, p[3])), replace(h, params=(*p[:3], 2))]
    if op == R.OpV2.LINEAR:
        return [replace(h, params=(2, *p[1:])), replace(h, params=(p[0], 6, *p[2:])),  # mode; type Q5_0
                replace(h, params=(p[0], 15, *p[2:])), replace(h, params=(p[0], 1 << 31, *p[2:])),  # Q8_K; no type
                replace(h, params=(*p[:3], p[3] + 16, *p[4:])),  # K not a multiple of 32
                replace(h, params=(*p[:4], p[2], 1)), replace(h, params=(*p[:5], 0)),  # r0 = N; empty tile
                replace(h, params=(*p[:5], p[2] - p[4] + 1)),  # tile past N
                replace(h, params=(*p[:6], 2))]  # full is 0 or 1
    if op == R.OpV2.ROPE:
        return [replace(h, params=(p[0], p[1] + 1, p[2])), replace(h, position=p[2])]
    if op == R.OpV2.ATTENTION:
        return [replace(h, params=(p[0] * 2 + 1, p[0] * 2 + 2, *p[2:])), replace(h, position=p[3]),
                replace(h, params=(p[0], 0, *p[2:])), replace(h, params=(*p[:4], 0, p[0] + 1, 0)),  # nh > H
                replace(h, params=(*p[:4], p[0], 1, 0)), replace(h, params=(*p[:4], 0, 1, 2))]  # h0 = H; full = 2
    if op == R.OpV2.KV_APPEND:
        return [replace(h, params=(0, *p[1:])), replace(h, params=(p[0], 0, p[2])), replace(h, params=(*p[:2], 0)),
                replace(h, position=p[0])]  # pos = S
    if op == R.OpV2.SAMPLE:
        return [replace(h, params=(0, *p[1:])), replace(h, params=((1 << 17) + 1, *p[1:])),  # V
                replace(h, params=(p[0], 1 << 20, *p[2:])),  # temperature
                replace(h, params=(*p[:2], 0, *p[3:])), replace(h, params=(*p[:2], 1001, *p[3:]))]  # top-p
    return [replace(h, params=(0,))]


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name.lower())
def test_parameter_out_of_range_exits_4(op):
    node = _case(op, 4)
    for header in _bad_params(node):
        assert _run_bad(node, header, list(node.inputs)) == EXIT_BAD_PARAM, header


def _region(i: int) -> int:
    return 0x20000000 + (i << 28)


def test_bad_data_exits_4():
    """A token past V, an infinite/NaN block scale, h = −2^63, a negative exp2 entry or exp2[0] = 0."""
    node = embed(np.random.default_rng(5), "Q8_0")[0]
    v = node.header.params[1]
    assert _run_bad(node, node.header, list(node.inputs), (_region(0), v.to_bytes(4, "big"))) == EXIT_BAD_PARAM
    tok = int.from_bytes(node.inputs[0], "big")
    row = _region(1) + tok * len(node.inputs[1]) // v
    assert _run_bad(node, node.header, list(node.inputs), (row, b"\x00\x7c")) == EXIT_BAD_PARAM  # +inf
    for kind in R_BYTES:
        lin = R.linear(block_weight(np.random.default_rng(6), kind, 3, 64), np.arange(64, dtype=np.int32) - 20,
                       R.LinearModeV2.ACT)
        off = 2 if kind == "Q4_1" else 0  # Q4_1's minimum m, else the scale d
        bad = (_region(0) + len(lin.inputs[0]) - R_BYTES[kind] + off, b"\x01\xfe")  # NaN in the last block
        assert _run_bad(lin, lin.header, list(lin.inputs), bad) == EXIT_BAD_PARAM, kind
    norm = _case(R.OpV2.RMSNORM, 5)
    assert _run_bad(norm, norm.header, list(norm.inputs), (_region(0) + 8, (1 << 63).to_bytes(8, "big"))) == EXIT_BAD_PARAM
    hv = np.arange(4, dtype=np.int64) << 30
    for bad_gain in (128.0, -128.0, 1e30, np.inf, np.nan):
        gains = np.array([1.0, 0.5, bad_gain, 2.0], dtype=np.float32)
        node = R.rmsnorm(hv, gains, 1, -20)
        assert _run_bad(node, node.header, list(node.inputs)) == EXIT_BAD_PARAM, bad_gain
    att, sw = _case(R.OpV2.ATTENTION, 5), _case(R.OpV2.SWIGLU, 5)
    assert _run_bad(att, att.header, list(att.inputs), (_region(3), bytes(4))) == EXIT_BAD_PARAM
    smp = R.sample(np.arange(10, dtype=np.int32), exp2(), 0, 500, 900, 1)
    assert _run_bad(smp, smp.header, list(smp.inputs), (_region(1), bytes(4))) == EXIT_BAD_PARAM
    for node, i in ((att, 3), (sw, 2), (smp, 1)):
        patch = (_region(i) + 4 * 4095, (-1 & 0xFFFFFFFF).to_bytes(4, "big"))
        assert _run_bad(node, node.header, list(node.inputs), patch) == EXIT_BAD_PARAM


#: infinite or NaN values as the file's little-endian bytes: fp16 exponent 31, F32 exponent field 255
BAD_FP16 = (b"\x00\x7c", b"\x00\xfc", b"\x01\xfe")
BAD_F32 = (b"\x00\x00\x80\x7f", b"\x00\x00\x80\xff", b"\x01\x00\xc0\x7f", b"\xff\xff\xff\xff")


def _bad_spots(kind: str, row_bytes: int) -> list[tuple[int, bytes]]:
    """(offset in a row, bytes) that make a k-quant's d or dmin (the row's last super-block), or an
    F32/F16 row's last value, infinite or NaN."""
    if kind in ("F32", "F16"):
        bad, size = (BAD_F32, 4) if kind == "F32" else (BAD_FP16, 2)
        return [(row_bytes - size, b) for b in bad]
    start = row_bytes - R.BLOCK_BYTES[kind]
    return [(start + off, b) for off in SCALE_OFFSETS[kind] for b in BAD_FP16]


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in R_BYTES])
def test_bad_k_quant_or_float_data_exits_4(kind):
    """An infinite or NaN d or dmin (k-quants) or value (F32/F16) in the tile's rows or the token's
    row exits 4 having written nothing; the same weight without it runs (the patch is the cause)."""
    k, n = (512, 6) if kind.endswith("_K") else (64, 6)
    w = block_weight(np.random.default_rng(8), kind, n, k)
    x = (np.arange(k, dtype=np.int32) - 20) * 1000  # no all-zero input super-block: every block is read
    lin = R.linear(w, x, R.LinearModeV2.RESIDUAL, np.zeros(n, dtype=np.int64), rows=(1, 4))
    emb = R.embed(w, 4)
    stride = len(lin.inputs[0]) // n
    for node, row, region in ((lin, 4, 0), (emb, 4, 1)):  # the last row of the tile; the token's row
        assert run(node).exit_code == 0
        for off, b in _bad_spots(kind, stride):
            patch = (_region(region) + row * stride + off, b)
            assert _run_bad(node, node.header, list(node.inputs), patch) == EXIT_BAD_PARAM, (node.op, off, b)


@pytest.mark.parametrize("kind", ["Q4_K", "Q5_K", "Q6_K"])
def test_k_quant_rows_must_be_whole_super_blocks(kind):
    """K = 288 is whole 32-value blocks but not 256-value super-blocks: the kernels exit 4 and the
    registry refuses such a weight in one line."""
    from offchain.llm.v2.blocks import Weight

    node = R.linear(block_weight(np.random.default_rng(9), kind, 2, 256), np.ones(256, dtype=np.int32), R.LinearModeV2.ACT)
    p = node.header.params
    bad = replace(node.header, params=(*p[:3], 288, *p[4:]))
    assert _run_bad(node, bad, list(node.inputs)) == EXIT_BAD_PARAM
    emb = R.embed(block_weight(np.random.default_rng(9), kind, 2, 256), 1)
    q = emb.header.params
    assert _run_bad(emb, replace(emb.header, params=(q[0], q[1], 288)), list(emb.inputs)) == EXIT_BAD_PARAM
    w = Weight("blk.0.w", kind, np.zeros((2, 288 * R.BLOCK_BYTES[kind] // 256), dtype=np.uint8), 2, 288)
    with pytest.raises(ValueError, match="blk.0.w: a .* row of 288 values is not a multiple of 256"):
        R.linear(w, np.ones(288, dtype=np.int32), R.LinearModeV2.ACT)


def test_v2_sample_flat_distribution_follows_the_keccak_draw():
    """All logits equal: every id weighs 2^30, so the token is draw(seed, pos) mod (V·2^30) // 2^30,
    which pins the kernel's keccak256 and 256-bit modulus to offchain.merkle's."""
    from offchain.llm.v2.sample import draw

    v = 257
    z = np.full(v, 12345, dtype=np.int32)
    for seed, pos in ((0, 0), (1, 5), ((1 << 64) - 1, (1 << 32) - 1), (0xDEADBEEF12345678, 77)):
        token = draw(seed, pos) % (v << 30) >> 30
        _check(R.sample(z, exp2(), pos, 1000, 1000, seed), canonical_bytes(np.array([token], dtype=np.int32)))


def test_registry_block_sizes_are_the_loaders():
    from offchain.llm.v2.blocks import BLOCK_BYTES, K_BYTES, QK, QKK, SUPPORTED

    assert set(R.GGML_TYPE) == set(SUPPORTED) == set(R.BLOCK_BYTES) == set(R.BLOCK_VALUES)
    assert R.QK == QK and {k: R.BLOCK_BYTES[k] for k in BLOCK_BYTES} == BLOCK_BYTES
    assert {k: R.BLOCK_BYTES[k] for k in K_BYTES} == K_BYTES and {R.BLOCK_VALUES[k] for k in K_BYTES} == {QKK}
    assert {R.BLOCK_VALUES[k] for k in BLOCK_BYTES} == {QK}
    assert (R.BLOCK_BYTES["F32"], R.BLOCK_BYTES["F16"], R.BLOCK_VALUES["F32"], R.BLOCK_VALUES["F16"]) == (4, 2, 1, 1)


def test_exp2_table_is_the_committed_int32_table():
    t = exp2()
    assert t[0] == 1 << 30 and t.max() < 1 << 31 and t.min() > 0


# -- the program tables -------------------------------------------------------------------------


def test_v2_programs_are_apart_from_v1s_table():
    assert not set(KERNELS_V2) & set(KERNELS)
    assert not set(KERNELS_V2) & set(PROGRAMS), "v1's programs_root must not read a v2 kernel"
    assert PROGRAMS_V2_JSON.read_text() == render(table(KERNELS_V2))
    for name in KERNELS_V2:
        assert 0x00400000 <= program(name).entry < 0x08000000


@pytest.mark.skipif(shutil.which("mips-linux-gnu-objdump") is None, reason="no MIPS binutils (make setup)")
def test_v2_kernels_use_only_vm_instructions():
    """Also the code no test input reaches (libgcc's division fallbacks): nothing but SPEC §2.4."""
    for name in KERNELS_V2:
        dis = subprocess.run(["mips-linux-gnu-objdump", "-d", str(BUILD_V2_DIR / f"{name}.elf")],
                             check=True, capture_output=True, text=True).stdout
        used = {line.split("\t")[2].split()[0] for line in dis.splitlines() if line.count("\t") >= 2}
        assert used <= VM_MNEMONICS, f"{name}: {sorted(used - VM_MNEMONICS)}"


@pytest.mark.skipif(shutil.which("mips-linux-gnu-gcc") is None, reason="no MIPS cross-compiler (make setup)")
def test_v2_rebuild_is_byte_identical(tmp_path):
    subprocess.run([str(SRC_DIR / "build.sh"), str(tmp_path)], check=True, capture_output=True)
    built = sorted(p.name for p in (tmp_path / "v2").glob("*.elf"))
    assert built == sorted(f"{k}.elf" for k in KERNELS_V2)
    for name in built:
        assert (tmp_path / "v2" / name).read_bytes() == (BUILD_V2_DIR / name).read_bytes(), f"{name} differs"
