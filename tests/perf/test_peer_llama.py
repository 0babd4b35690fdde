"""The llama.cpp peer's GGUF (bench/_peer_llama.py), on a tiny shape: a LLaMA file whose matrices are
Q8_0 blocks laid directly, that gguf reads back with the shapes, types and keys llama.cpp loads."""

import gguf
import numpy as np

from bench import _peer_llama as peer

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
