"""The llama.cpp peer's GGUF (bench/_peer_llama.py), on a tiny shape: a LLaMA file whose matrices are
Q8_0 or Q4_0 blocks laid directly, that gguf reads back with the shapes, types and keys llama.cpp
loads, and that our spec v2 runner reads and decodes (bench/_ours_v2.py); the figures bench/peers.py
makes of both sides."""

from pathlib import Path

import gguf
import numpy as np
import pytest

from bench import _ours_v2 as ours
from bench import _peer_llama as peer
from bench import peers
from bench.__main__ import entries
from offchain.llm.v2 import RunnerV2, load_gguf

TINY = dict(dim=64, n_layers=2, hidden_dim=160, vocab_size=96, n_heads=4, max_seq_len=16)


def test_q8_0_blocks_are_a_scale_then_32_quants_from_the_pool():
    rng = np.random.default_rng(1)
    pool = np.frombuffer(rng.bytes(1 << 12), dtype=np.uint8)
    b = peer.q8_0_blocks(3, 64, pool, rng)
    assert b.shape == (3, 2 * 34) and b.dtype == np.uint8
    blocks = b.reshape(-1, 34)
    assert (blocks[:, :2].copy().view(np.float16) == np.float16(1 / (73 * 8))).all()
    raw = pool.tobytes()
    assert all(blk[2:].tobytes() in raw for blk in blocks)


def test_the_gguf_holds_every_llama_tensor_in_q8_0_and_the_norms_in_f32(tmp_path):
    path = tmp_path / "t.gguf"
    n = peer.write_gguf(path, TINY)
    assert n == path.stat().st_size
    r = gguf.GGUFReader(str(path))
    kinds = {t.name: (t.tensor_type, [int(x) for x in t.shape]) for t in r.tensors}
    d, h, v = TINY["dim"], TINY["hidden_dim"], TINY["vocab_size"]
    assert len(kinds) == 2 + 1 + 9 * TINY["n_layers"]
    Q8, F32 = gguf.GGMLQuantizationType.Q8_0, gguf.GGMLQuantizationType.F32
    assert kinds["token_embd.weight"] == (Q8, [d, v]) and kinds["output.weight"] == (Q8, [d, v])
    assert kinds["blk.1.ffn_down.weight"] == (Q8, [h, d]) and kinds["blk.1.ffn_up.weight"] == (Q8, [d, h])
    assert kinds["blk.0.attn_norm.weight"] == (F32, [d]) and kinds["output_norm.weight"] == (F32, [d])
    q = next(t for t in r.tensors if t.name == "blk.0.attn_q.weight")
    w = gguf.quants.dequantize(q.data, q.tensor_type)
    assert w.shape == (d, d) and np.isfinite(w).all() and 0.05 < float(w.std()) < 0.3

    def field(key: str):
        f = r.fields[key]
        return f.parts[f.data[0]]

    assert bytes(field("general.architecture")) == b"llama" and bytes(field("tokenizer.ggml.model")) == b"none"
    assert int(field("llama.block_count")[0]) == TINY["n_layers"] and int(field("llama.vocab_size")[0]) == v
    assert int(field("llama.context_length")[0]) == TINY["max_seq_len"]


def test_q4_0_blocks_are_a_finite_scale_then_16_bytes_of_nibbles_from_the_pool():
    rng = np.random.default_rng(2)
    pool = np.frombuffer(rng.bytes(1 << 12), dtype=np.uint8)
    b = peer.quant_blocks("Q4_0", 3, 64, pool, rng)
    assert b.shape == (3, 2 * 18) and b.dtype == np.uint8
    blocks = b.reshape(-1, 18)
    scales = blocks[:, :2].copy().view(np.float16)
    assert np.isfinite(scales).all() and (scales == np.float16(1 / (4.61 * 8))).all()
    raw = pool.tobytes()
    assert all(blk[2:].tobytes() in raw for blk in blocks)


def test_the_writer_refuses_a_format_it_does_not_lay(tmp_path):
    with pytest.raises(ValueError, match="Q5_0"):
        peer.write_gguf(tmp_path / "x.gguf", TINY, quant="Q5_0")


@pytest.mark.parametrize("quant", ["Q8_0", "Q4_0"])
def test_spec_v2_reads_the_peer_gguf_and_decodes_a_token(tmp_path, quant: str):
    """The very file bench/peers.py hands both llama.cpp and our RunnerV2: every matrix in `quant`,
    every block scale a finite, normal fp16, and load_gguf + one step give varied int32 logits."""
    w = peer.write(tmp_path, TINY, quant)
    path = Path(w["path"])
    assert w["quant"] == quant and w["gguf_bytes"] == path.stat().st_size
    r = gguf.GGUFReader(str(path))
    bb = peer.QUANTS[quant][0]
    for t in r.tensors:
        if t.name.endswith("norm.weight"):
            assert t.tensor_type == gguf.GGMLQuantizationType.F32
            continue
        assert t.tensor_type == gguf.GGMLQuantizationType[quant], t.name
        scales = np.asarray(t.data, dtype=np.uint8).reshape(-1, bb)[:, :2].copy().view(np.float16)
        assert np.isfinite(scales).all() and (scales > np.float16(6.1e-5)).all(), t.name
        x = gguf.quants.dequantize(t.data, t.tensor_type)
        # each row's dot product with a unit-variance input has std ~1
        assert 0.6 < float(x.std()) * np.sqrt(x.shape[-1]) < 1.6, t.name
    m = load_gguf(path, TINY["max_seq_len"])
    assert {w.kind for w in m.mats.values()} == {quant} and not m.shape.tied
    z = RunnerV2(m).step(3, 0)
    assert z.dtype == np.int32 and z.shape == (TINY["vocab_size"],) and int(z.max()) > int(z.min())


def test_our_child_times_the_file_and_says_where_the_step_goes(tmp_path):
    """bench/_ours_v2 on a tiny Q4_0 file: every matrix kind timed, the bytes it reads counted from
    the file, and the runner's matmul and thread count put back after the profile."""
    from offchain.llm.v2 import ops as v2ops
    from offchain.llm.v2.runner import _NativeOps

    before = (_NativeOps.matmul_acc, v2ops.WORKERS)
    path = Path(peer.write(tmp_path, TINY, "Q4_0")["path"])
    o = ours.decode(path, TINY["max_seq_len"], steps=2)
    assert (_NativeOps.matmul_acc, v2ops.WORKERS) == before
    assert len(o["times"]) == 2 and o["s_per_token"] > 0 and o["cpu_s_per_token_1thread"] > 0
    assert o["weight_types"] == ["Q4_0"] and o["logits_size"] == TINY["vocab_size"] and o["logits_spread"] > 0
    assert set(o["bytes_by_kind"]) == set(ours.KINDS)
    d, h, v, n = TINY["dim"], TINY["hidden_dim"], TINY["vocab_size"], TINY["n_layers"]
    assert o["matmul_bytes"] == (n * (4 * d * d + 3 * d * h) + v * d) // 32 * 18  # token_embd is a lookup
    prof = o["profile_s"]
    if o["native"]:
        assert set(prof) == set(ours.KINDS) | {"other", "total"}
        assert sum(prof[k] for k in ours.KINDS) <= prof["total"] + 1e-9
    assert 0 < o["peak_rss_GiB"] < 4


def test_the_v2_figures_are_a_ratio_beside_the_issue_15_target_and_both_peaks():
    w = {"path": "f", "quant": "Q4_0", "gguf_bytes": 3.79e9, "gguf_write_s": 8.0, "gguf_version": "0.19.0"}
    t = {"version": "0.3.36", "threads": 2, "s_per_token": 0.4, "times": [0.4] * 4, "cpu_s_per_token": 0.8,
         "s_per_token_1thread": 0.6, "cpu_s_per_token_1thread": 0.5, "peak_rss_GiB": 7.1, "load_s": 13.0,
         "logits_finite": True}
    kinds = {k: 1e8 for k in ours.KINDS}
    o = {"native": True, "threads": 2, "s_per_token": 0.5, "times": [0.5] * 4, "cpu_s_per_token": 0.9,
         "s_per_token_1thread": 0.9, "cpu_s_per_token_1thread": 0.75, "peak_rss_GiB": 3.7, "load_s": 9.0,
         "matmul_bytes": 8e8, "bytes_by_kind": kinds,
         "profile_s": {**{k: 0.05 for k in ours.KINDS}, "other": 0.1, "total": 0.5}}
    got = {e["name"]: e for e in entries("peers", peers.v2_metrics("Q4_0", w, t, o))}
    ratio = got["peers.v2_q4_0_ratio"]
    assert ratio["value"] == pytest.approx(1.25) and ratio["anchor_id"] == "llama_cpp_v2"
    assert ratio["anchor_value"] == 1.3
    assert got["peers.v2_q4_0_cpu_ratio_1thread"]["value"] == pytest.approx(1.5)
    assert got["peers.v2_q4_0_ours_peak_rss"]["value"] == 3.7
    assert got["peers.v2_q4_0_llama_cpp_peak_rss"]["value"] == 7.1
    assert got["peers.v2_q4_0_ours_matmul_share"]["value"] == pytest.approx(0.8)
    assert "ffn_down 50 ms (2.0 GB/s)" in got["peers.v2_q4_0_ours_matmul_share"]["conditions"]
