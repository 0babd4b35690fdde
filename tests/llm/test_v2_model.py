"""Spec v2 on small LLaMA GGUFs of every supported weight type, written here with `gguf`: the
native runner ≡ the numpy definitions, the integer model tracks the float one, the trace's roots
are the canonical bytes' roots, and a bad file is refused in one line."""

from __future__ import annotations

import numpy as np
import pytest
from gguf import GGMLQuantizationType as Q

from offchain.llm.gguf_file import GgufError
from offchain.llm.v2 import FloatReference, RunnerV2, load_gguf
from offchain.llm.v2.blocks import FormatError
from offchain.llm.v2.commit import weight_root
from offchain.llm.v2.trace import trace_task
from tests.llm.gguf_toy import write_toy_gguf

MATRICES = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")


def toy(tmp_path, qt: Q, untied: bool = False):
    types = {f"blk.{i}.{m}.weight": qt for i in range(2) for m in MATRICES}
    types["token_embd.weight"] = qt
    if untied:
        types["output.weight"] = qt
    return write_toy_gguf(tmp_path / f"toy-{qt.name}.gguf", types=types, n_layers=2, untied=untied)


@pytest.mark.parametrize("qt", [Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.F16, Q.F32])
def test_every_weight_type_runs_bit_exact_natively_and_tracks_the_float_model(tmp_path, qt):
    path = toy(tmp_path, qt, untied=qt == Q.Q4_1)
    m = load_gguf(path, 16)
    fast, slow = RunnerV2(m), RunnerV2(m, use_native=False)
    ids = [3, 7, 1, 12, 5]
    zi = np.stack([fast.step(t, p) for p, t in enumerate(ids)])
    assert np.array_equal(zi, np.stack([slow.step(t, p) for p, t in enumerate(ids)]))
    zf = FloatReference(path, 16).teacher_forced(ids)
    # integers at 2^-16 against float64. F16/F32 weights multiply unquantized activations: the
    # fixed point alone differs, by far less than a thousandth of the logits' spread. The block
    # formats quantize activations per block as llama.cpp does, the one coarse rounding.
    zi = zi / 65536.0
    if qt in (Q.F16, Q.F32):
        assert np.abs(zi - zf).max() < 1e-3 * zf.std()
    assert min(np.corrcoef(a, b)[0, 1] for a, b in zip(zi, zf)) > 0.99
    assert np.array_equal(zi.argmax(axis=1), zf.argmax(axis=1))


def test_the_trace_commits_to_every_node_natively_as_in_python(tmp_path):
    m = load_gguf(toy(tmp_path, Q.Q4_1), 16)
    a, b = trace_task(m, [3, 7, 1], 3), trace_task(m, [3, 7, 1], 3, native=False)
    n_f = 1 + 15 * 2 + 3  # embed, 15 per layer, norm, logits, token
    assert len(a.roots) == n_f * (3 + 3 - 1) and a.roots == b.roots and a.tokens == b.tokens
    assert a.final_state == b.final_state and a.names[:2] == ["embed", "blk.0.attn_norm"]
    assert a.tokens == RunnerV2(m).generate([3, 7, 1], 3)


def test_the_weight_root_changes_with_any_tensor_byte_and_the_context(tmp_path):
    path = toy(tmp_path, Q.Q8_0)
    root = weight_root(path, 16)
    assert weight_root(path, 16) == root and weight_root(path, 32) != root
    data = bytearray(path.read_bytes())
    data[-5] ^= 1  # a byte of the last tensor
    other = tmp_path / "flipped.gguf"
    other.write_bytes(bytes(data))
    assert weight_root(other, 16) != root


@pytest.mark.parametrize("qt", [Q.Q5_0, Q.Q5_1])
def test_a_tensor_of_another_type_is_refused_naming_the_tensor_and_type(tmp_path, qt):
    path = write_toy_gguf(tmp_path / "other.gguf", types={"blk.0.ffn_up.weight": qt})
    with pytest.raises(GgufError, match=rf"blk.0.ffn_up.weight.*{qt.name}") as e:
        load_gguf(path, 16)
    assert "\n" not in str(e.value)


def test_prefill_equals_one_position_at_a_time_in_logits_and_every_node(tmp_path):
    m = load_gguf(toy(tmp_path, Q.Q4_0), 16)
    ids = [3, 7, 1, 12, 5, 9]
    stepped: list[tuple[str, np.ndarray]] = []
    one = RunnerV2(m)
    zs = [one.step(t, p, lambda name, x: stepped.append((name, x.copy()))) for p, t in enumerate(ids)]
    for fused in (True, False):  # one native call per layer, and the batch through Python op by op
        batch = RunnerV2(m)
        if not fused:
            batch.fused = None
        z1, n1 = batch.prefill(ids[:4])
        z2, n2 = batch.prefill(ids[4:], 4)  # a second batch continues from the cache
        assert np.array_equal(np.concatenate([z1, z2]), np.stack(zs))
        flat = [(name, x) for per in n1 + n2 for name, x in per]
        assert [n for n, _ in flat] == [n for n, _ in stepped]
        assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(flat, stepped))
    # and the layer call against the same layer op by op, on one position's every node
    one_by_op, got = RunnerV2(m), []
    one_by_op.fused = None
    for p, t in enumerate(ids):
        one_by_op.step(t, p, lambda name, x: got.append((name, x.copy())))
    assert [n for n, _ in got] == [n for n, _ in stepped]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(got, stepped))


def test_the_cli_refuses_a_bad_file_in_one_line_and_imports_a_good_one(tmp_path):
    import subprocess
    import sys

    good = toy(tmp_path, Q.Q4_1)
    run = lambda *a: subprocess.run([sys.executable, "-m", "offchain.cli", *a], capture_output=True, text=True)  # noqa: E731
    ok = run("model", "import", str(good), "--context", "16")
    assert ok.returncode == 0 and "weight_root 0x" + weight_root(good, 16).hex() in ok.stdout, ok.stderr
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(good.read_bytes()[:-100])
    other = write_toy_gguf(tmp_path / "q5.gguf", types={"blk.0.attn_q.weight": Q.Q5_0})
    for bad, why in ((cut, "truncated"), (other, "Q5_0")):
        r = run("model", "import", str(bad), "--context", "16")
        assert r.returncode == 1 and r.stdout == "" and len(r.stderr.strip().splitlines()) == 1 and why in r.stderr


@pytest.mark.parametrize("gain", [128.0, 2.0 ** 100, float("inf")])
def test_a_norm_gain_of_128_or_more_is_refused_however_large(tmp_path, gain):
    """2^100 once shifted past 63 bits to 0 and passed; the value itself is checked now."""
    import gguf as g

    path = toy(tmp_path, Q.Q8_0)
    r = g.GGUFReader(str(path), "r+")
    t = next(t for t in r.tensors if t.name == "blk.0.attn_norm.weight")
    t.data[3] = gain
    del r
    with pytest.raises(FormatError, match="blk.0.attn_norm.weight: a norm weight is infinite, NaN, or 128 or more"):
        load_gguf(path, 16)
