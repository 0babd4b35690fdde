"""Converters: the same float weights through every reader give the same integer model."""

import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from offchain.llm import checkpoints as ck
from offchain.llm.convert import convert_llama, convert_mlp, hf_permute, load_float
from offchain.llm.format import model_weight_root
from offchain.llm.kernels.mnist import DATA as MNIST
from offchain.llm.reference import FloatLlama
from offchain.llm.runner import run_mlp
from offchain.llm.tokenizer import Tokenizer

from .helpers import FIXTURE_ARGS, tiny_llama

DATA = Path(__file__).resolve().parent / "data"  # written by torch: scripts/make_llm_fixtures.py

HP = {"n_heads": 4, "n_kv_heads": 2, "max_seq_len": 32}
CALIB = list(range(0, 48, 2))


@pytest.fixture(scope="module")
def fm() -> FloatLlama:
    return tiny_llama(**FIXTURE_ARGS)


def write_llama2c(path: Path, m: FloatLlama, shared: bool = False) -> None:
    w = m.weights
    L = range(m.n_layers)
    vocab = m.vocab_size if shared else -m.vocab_size
    parts = [struct.pack("<7i", m.dim, m.hidden_dim, m.n_layers, m.n_heads, m.n_kv_heads, vocab, m.max_seq_len),
             w["tok_embeddings.weight"]]
    for key in ("attention_norm.weight", "attention.wq.weight", "attention.wk.weight", "attention.wv.weight",
                "attention.wo.weight", "ffn_norm.weight", "feed_forward.w1.weight", "feed_forward.w2.weight",
                "feed_forward.w3.weight"):
        parts.append(np.stack([w[f"layers.{i}.{key}"] for i in L]))
    hd = m.dim // m.n_heads
    parts += [w["norm.weight"], np.zeros((m.max_seq_len, hd // 2)), np.zeros((m.max_seq_len, hd // 2))]
    if not shared:
        parts.append(w["output.weight"])
    path.write_bytes(b"".join(p if isinstance(p, bytes) else np.asarray(p, "<f4").tobytes() for p in parts))


def write_llama2c_v1(path: Path, m: FloatLlama) -> None:
    """llama2.c export.py `version_export`: magic, version 1, header, shared flag, pad to 256."""
    w = m.weights
    L = range(m.n_layers)
    head = struct.pack("<Ii7iB", 0x616B3432, 1, m.dim, m.hidden_dim, m.n_layers, m.n_heads, m.n_kv_heads,
                       m.vocab_size, m.max_seq_len, 0)
    parts = [head + bytes(256 - len(head))]
    parts += [np.stack([w[f"layers.{i}.attention_norm.weight"] for i in L]),
              np.stack([w[f"layers.{i}.ffn_norm.weight"] for i in L]), w["norm.weight"], w["tok_embeddings.weight"]]
    for key in ("attention.wq", "attention.wk", "attention.wv", "attention.wo", "feed_forward.w1",
                "feed_forward.w2", "feed_forward.w3"):
        parts.append(np.stack([w[f"layers.{i}.{key}.weight"] for i in L]))
    parts.append(w["output.weight"])
    path.write_bytes(b"".join(p if isinstance(p, bytes) else np.asarray(p, "<f4").tobytes() for p in parts))


def write_gguf(path: Path, m: FloatLlama, kind: str) -> None:
    import gguf

    wr = gguf.GGUFWriter(str(path), "llama")
    wr.add_block_count(m.n_layers)
    wr.add_embedding_length(m.dim)
    wr.add_feed_forward_length(m.hidden_dim)
    wr.add_head_count(m.n_heads)
    wr.add_head_count_kv(m.n_kv_heads)
    wr.add_context_length(m.max_seq_len)
    wr.add_layer_norm_rms_eps(m.norm_eps)
    wr.add_rope_freq_base(m.rope_theta)
    rev = {"tok_embeddings.weight": "token_embd.weight", "norm.weight": "output_norm.weight",
           "output.weight": "output.weight"}
    layer = {"attention_norm": "attn_norm", "attention.wq": "attn_q", "attention.wk": "attn_k",
             "attention.wv": "attn_v", "attention.wo": "attn_output", "ffn_norm": "ffn_norm",
             "feed_forward.w1": "ffn_gate", "feed_forward.w2": "ffn_down", "feed_forward.w3": "ffn_up"}
    for name, arr in m.weights.items():
        if name.startswith("layers."):
            _, i, rest = name.split(".", 2)
            gname = f"blk.{i}.{layer[rest[: -len('.weight')]]}.weight"
        else:
            gname = rev[name]
        if arr.ndim == 2 and kind == "Q8_0":
            q = gguf.quants.quantize(arr, gguf.GGMLQuantizationType.Q8_0)
            wr.add_tensor(gname, q, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        elif arr.ndim == 2 and kind == "F16":
            wr.add_tensor(gname, arr.astype(np.float16))
        else:
            wr.add_tensor(gname, arr.astype(np.float32))
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file()
    wr.close()


def test_torch_reader_matches_torch_load() -> None:
    # views.pt: transposed, offset and sliced views of one storage, fp16, bf16, a Parameter, int64
    got = ck.read_torch(DATA / "views.pt")
    want = np.load(DATA / "views.npz")
    assert sorted(got) == sorted(want.files)
    for k in want.files:
        assert got[k].dtype.kind == want[k].dtype.kind and np.array_equal(got[k], want[k]), k


def test_torch_fixture_holds_the_helper_model(fm: FloatLlama) -> None:
    got = ck.read_torch(DATA / "tiny.pt")
    assert sorted(got) == sorted(fm.weights)
    assert all(np.array_equal(got[k], v) for k, v in fm.weights.items())


def test_torch_reader_refuses_code(tmp_path: Path) -> None:
    p = tmp_path / "evil.pt"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("evil/data.pkl", pickle.dumps({"x": print}))  # a global outside a state_dict
    with pytest.raises(ck.CheckpointError, match="refusing to load builtins.print"):
        ck.read_torch(p)


def test_every_format_gives_the_same_model(fm: FloatLlama, tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    roots = {}
    roots["torch"] = model_weight_root(convert_llama(DATA / "tiny.pt", hp=HP, calib_tokens=CALIB))
    st = tmp_path / "m.safetensors"
    save_file(dict(fm.weights), str(st), metadata={"n_heads": "4", "max_seq_len": "32"})
    roots["safetensors"] = model_weight_root(convert_llama(st, calib_tokens=CALIB))
    hf = {"model.embed_tokens.weight": fm.weights["tok_embeddings.weight"], "model.norm.weight": fm.weights["norm.weight"],
          "lm_head.weight": fm.weights["output.weight"]}
    names = {"attention_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
             "attention.wq": "self_attn.q_proj", "attention.wk": "self_attn.k_proj", "attention.wv": "self_attn.v_proj",
             "attention.wo": "self_attn.o_proj", "feed_forward.w1": "mlp.gate_proj", "feed_forward.w2": "mlp.down_proj",
             "feed_forward.w3": "mlp.up_proj"}
    for k, v in fm.weights.items():
        if k.startswith("layers."):
            _, i, rest = k.split(".", 2)
            base = rest[: -len(".weight")]
            v = hf_permute(v, 4) if base == "attention.wq" else hf_permute(v, 2) if base == "attention.wk" else v
            hf[f"model.layers.{i}.{names[base]}.weight"] = np.ascontiguousarray(v)
    sth = tmp_path / "hf.safetensors"
    save_file(hf, str(sth))
    roots["safetensors-hf"] = model_weight_root(convert_llama(sth, hp=HP, calib_tokens=CALIB))
    l2 = tmp_path / "model.bin"
    write_llama2c(l2, fm)
    roots["llama2c"] = model_weight_root(convert_llama(l2, calib_tokens=CALIB))
    l2v1 = tmp_path / "model_v1.bin"
    write_llama2c_v1(l2v1, fm)
    roots["llama2c-v1"] = model_weight_root(convert_llama(l2v1, calib_tokens=CALIB))
    gg = tmp_path / "m.gguf"
    write_gguf(gg, fm, "F32")
    roots["gguf"] = model_weight_root(convert_llama(gg, calib_tokens=CALIB))
    assert len(set(roots.values())) == 1, roots


@pytest.mark.parametrize("kind,tol", [("F16", 2e-3), ("Q8_0", 2e-2)])
def test_gguf_f16_and_q8_0_dequantize_close(fm: FloatLlama, tmp_path: Path, kind: str, tol: float) -> None:
    gg = tmp_path / f"m-{kind}.gguf"
    write_gguf(gg, fm, kind)
    got, _ = load_float(gg)
    for k, v in fm.weights.items():
        assert np.abs(got.weights[k] - v).max() <= tol * max(1.0, float(np.abs(v).max())), k
    assert convert_llama(gg, calib_tokens=CALIB).config.dim == 32


def test_llama2c_tied_classifier_and_tokenizer(fm: FloatLlama, tmp_path: Path) -> None:
    l2 = tmp_path / "tied.bin"
    write_llama2c(l2, fm, shared=True)
    cfg, w = ck.read_llama2c(l2)
    assert cfg["vocab_size"] == 48 and np.array_equal(w["output.weight"], fm.weights["tok_embeddings.weight"])
    pieces = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + ["▁t", "he", "▁the", "h", "e", "▁", "t"]
    scores = [0.0] * 259 + [-1.0, -2.0, -0.5, -9.0, -9.0, -9.0, -9.0]
    blob = struct.pack("<i", 8) + b"".join(struct.pack("<fi", s, len(p.encode())) + p.encode() for p, s in zip(pieces, scores))
    tb = tmp_path / "tokenizer.bin"
    tb.write_bytes(blob)
    tok = Tokenizer.from_json(ck.read_llama2c_tokenizer(tb, len(pieces)))
    ids = tok.encode(" the heh!")
    assert [tok.pieces[i] for i in ids] == ["▁the", "▁", "he", "h", "<0x21>"]
    assert tok.decode(ids) == " the heh!"


def test_damaged_checkpoints_name_the_tensor(fm: FloatLlama, tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    l2 = tmp_path / "model.bin"
    write_llama2c(l2, fm)
    l2.write_bytes(l2.read_bytes()[:10000])  # inside the stacked wq of all layers
    with pytest.raises(ck.CheckpointError, match=r"truncated: tensor wq "):
        ck.read_llama2c(l2)
    st = tmp_path / "m.safetensors"
    save_file(dict(fm.weights), str(st))
    st.write_bytes(st.read_bytes()[:-10])
    with pytest.raises(ck.CheckpointError, match=r"truncated: tensor \S+ needs"):
        ck.read_safetensors(st)
    bad = dict(fm.weights)
    bad["layers.1.feed_forward.w2.weight"] = bad["layers.1.feed_forward.w2.weight"][:, :-1].copy()
    sb = tmp_path / "bad.safetensors"
    save_file(bad, str(sb))
    with pytest.raises(ck.CheckpointError, match=r"tensor layers\.1\.feed_forward\.w2\.weight has shape \[32, 31\]"):
        load_float(sb, hp=HP)
    del bad["layers.0.ffn_norm.weight"]
    save_file(bad, str(sb))
    with pytest.raises(ck.CheckpointError, match=r"tensor layers\.0\.ffn_norm\.weight is missing"):
        load_float(sb, hp=HP)
    pt = tmp_path / "cut.pt"
    raw = (DATA / "tiny.pt").read_bytes()
    pt.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ck.CheckpointError, match="not a PyTorch zip checkpoint"):
        ck.read_torch(pt)


def test_mnist_state_dict_saved_on_cuda_converts_and_reads_7() -> None:
    sd = ck.read_torch(MNIST / "mnist_model.state_dict")
    assert {k: v.shape for k, v in sd.items()} == {"fc1.weight": (500, 784), "fc1.bias": (500,),
                                                   "fc2.weight": (10, 500), "fc2.bias": (10,)}
    img = np.frombuffer((MNIST / "input_7").read_bytes(), np.uint8)
    m = convert_mlp(MNIST / "mnist_model.state_dict", 1 / 255, 255, img[None, :])
    logits, digit = run_mlp(m, img)
    assert digit == 7
    fl = sd["fc2.weight"] @ np.maximum(sd["fc1.weight"] @ (img / 255) + sd["fc1.bias"], 0) + sd["fc2.bias"]
    assert int(np.argmax(fl)) == 7
