"""gguf_file.read_info: the header and tensor directory of LLaMA GGUFs, and one-line errors."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from gguf import GGMLQuantizationType as Q
from gguf import GGUFReader

from offchain.llm.gguf_file import DEFAULT_SUPPORTED_TYPES, GgufError, read_info, tensor_bytes
from offchain.llm.known_models import SMOLLM2

from .gguf_toy import CHATML, DIM, HEAD_DIM, HIDDEN, N_HEADS, N_KV, SMOL, needs_smol, smol_info, write_toy_gguf


def f32_bits(x: float) -> int:
    return int(np.array(x, dtype=np.float32).view(np.uint32))


def error_of(path: Path, **kw) -> str:
    with pytest.raises(GgufError) as e:
        read_info(path, **kw)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_toy_header(tmp_path: Path) -> None:
    p = write_toy_gguf(tmp_path / "toy.gguf", types={"blk.0.ffn_up.weight": Q.Q4_1, "blk.0.attn_q.weight": Q.Q4_0,
                                                     "blk.0.attn_k.weight": Q.F16})
    i = read_info(p)
    assert (i.architecture, i.dim, i.hidden_dim, i.n_layers, i.n_heads, i.n_kv_heads, i.head_dim) == \
           ("llama", DIM, HIDDEN, 1, N_HEADS, N_KV, HEAD_DIM)
    assert (i.context_length, i.rope_dim, i.rope_type) == (64, HEAD_DIM, "norm")
    assert i.rope_theta == 100000.0 and i.rope_theta_bits == 0x47C35000
    assert i.rms_eps == float(np.float32(1e-5)) and i.rms_eps_bits == f32_bits(1e-5)
    assert i.tied_embeddings and (i.bos_id, i.eos_id, i.add_bos) == (1, 2, False)
    assert i.chat_template == CHATML
    assert (i.tokenizer_model, i.tokenizer_pre) == ("gpt2", "smollm")
    assert i.vocab_size == len(i.tokens) == len(i.token_types) == 3 + 256 + len(i.merges) + 3
    types = {t.name: t.ggml_type for t in i.tensors}
    assert types["blk.0.ffn_up.weight"] == "Q4_1" and types["blk.0.attn_q.weight"] == "Q4_0"
    assert types["blk.0.attn_k.weight"] == "F16" and types["token_embd.weight"] == "Q8_0"
    assert i.tensor("token_embd.weight").shape == (i.vocab_size, DIM)  # numpy order: a row per token
    assert i.tensor("blk.0.ffn_down.weight").shape == (DIM, HIDDEN)
    with pytest.raises(GgufError, match="no tensor 'nope'"):
        i.tensor("nope")


def test_tensor_offsets_are_the_bytes_gguf_reads(tmp_path: Path) -> None:
    p = write_toy_gguf(tmp_path / "toy.gguf", types={"blk.0.ffn_gate.weight": Q.Q4_1})
    i = read_info(p)
    r = GGUFReader(str(p))
    assert [t.name for t in r.tensors] == i.tensor_names()
    for t in r.tensors:
        mine = tensor_bytes(i, t.name)
        assert mine.nbytes == i.tensor(t.name).n_bytes == t.data.nbytes
        assert mine.tobytes() == t.data.tobytes()
    # Q4_1: 32 weights in 20 bytes (f16 scale, f16 min, 16 bytes of nibbles)
    assert i.tensor("blk.0.ffn_gate.weight").n_bytes == HIDDEN * DIM // 32 * 20


def test_untied_output(tmp_path: Path) -> None:
    i = read_info(write_toy_gguf(tmp_path / "u.gguf", untied=True))
    assert not i.tied_embeddings and "output.weight" in i.tensor_names()


def test_not_gguf(tmp_path: Path) -> None:
    p = tmp_path / "x.gguf"
    p.write_text("hello, I am a text file\n")
    assert "not a GGUF file" in error_of(p)
    p.write_bytes(b"")
    assert "not a GGUF file" in error_of(p)
    assert "cannot open" in error_of(tmp_path / "missing.gguf")


def test_wrong_architecture_named(tmp_path: Path) -> None:
    msg = error_of(write_toy_gguf(tmp_path / "q.gguf", arch="qwen2"))
    assert "architecture 'qwen2' is not supported" in msg and "llama" in msg


def test_unsupported_type_named(tmp_path: Path) -> None:
    p = write_toy_gguf(tmp_path / "q5.gguf", types={"blk.0.ffn_up.weight": Q.Q5_0})
    msg = error_of(p)
    assert "tensor 'blk.0.ffn_up.weight' has unsupported type Q5_0" in msg
    # the supported set is a parameter: widened, the file reads; narrowed, another tensor is named
    wide = read_info(p, supported_types=DEFAULT_SUPPORTED_TYPES | {"Q5_0"})
    assert wide.tensor("blk.0.ffn_up.weight").ggml_type == "Q5_0"
    ok = write_toy_gguf(tmp_path / "ok.gguf")
    assert "tensor 'token_embd.weight' has unsupported type Q8_0" in error_of(ok, supported_types={"F32"})


def test_truncated_tensor_named(tmp_path: Path) -> None:
    p = write_toy_gguf(tmp_path / "t.gguf")
    last = max(read_info(p).tensors, key=lambda t: t.offset)
    size = last.offset + last.n_bytes - 1  # one byte short of the last tensor's end
    os.truncate(p, size)
    msg = error_of(p)
    assert f"tensor {last.name!r} is truncated" in msg and f"the file has {size}" in msg


def test_unknown_type_id_named(tmp_path: Path) -> None:
    p = write_toy_gguf(tmp_path / "x.gguf")
    data = bytearray(p.read_bytes())
    name = b"blk.0.ffn_up.weight"
    at = data.index(name) + len(name)  # then: n_dims u32, dims u64 each, type u32
    assert int.from_bytes(data[at:at + 4], "little") == 2
    data[at + 4 + 16:at + 4 + 16 + 4] = (99).to_bytes(4, "little")
    p.write_bytes(bytes(data))
    assert "tensor 'blk.0.ffn_up.weight' has unknown ggml type id 99" in error_of(p)


def test_truncated_header(tmp_path: Path) -> None:
    p = write_toy_gguf(tmp_path / "h.gguf")
    os.truncate(p, 200)  # inside the key/value section
    assert "unreadable GGUF header" in error_of(p)


def test_missing_keys_and_tensors(tmp_path: Path) -> None:
    assert "missing required key llama.embedding_length" in error_of(write_toy_gguf(tmp_path / "k.gguf", keys=False))
    msg = error_of(write_toy_gguf(tmp_path / "d.gguf", drop=("blk.0.ffn_down.weight",)))
    assert "missing required tensor 'blk.0.ffn_down.weight'" in msg
    assert "missing required tensor 'token_embd.weight'" in error_of(
        write_toy_gguf(tmp_path / "e.gguf", drop=("token_embd.weight",)))


def test_shape_against_config(tmp_path: Path) -> None:
    # a k projection with as many rows as q: the file says 2 kv heads, so it needs 2 * 8 rows
    p = write_toy_gguf(tmp_path / "s.gguf", shapes={"blk.0.attn_k.weight": (N_HEADS * HEAD_DIM, DIM)})
    msg = error_of(p)
    assert "tensor 'blk.0.attn_k.weight' has shape (32, 32), the config needs (16, 32)" in msg
    # a block_count naming a layer the file has no tensors for
    assert "missing required tensor 'blk.1.attn_norm.weight'" in error_of(write_toy_gguf(
        tmp_path / "l.gguf", n_layers=1, block_count=2))


@needs_smol
def test_smollm2_header() -> None:
    i = smol_info()
    assert (i.architecture, i.dim, i.hidden_dim, i.n_layers, i.n_heads, i.n_kv_heads, i.head_dim) == \
           ("llama", 576, 1536, 30, 9, 3, 64)
    assert (i.vocab_size, i.context_length, i.rope_dim, i.rope_type) == (49152, 8192, 64, "norm")
    assert i.rope_theta == 100000.0 and i.rope_theta_bits == 0x47C35000
    assert i.rms_eps_bits == f32_bits(1e-5)
    assert i.tied_embeddings
    assert (i.bos_id, i.eos_id, i.unk_id, i.pad_id, i.add_bos) == (1, 2, 0, 2, False)
    assert (i.tokenizer_model, i.tokenizer_pre) == ("gpt2", "smollm")
    assert i.chat_template is not None and "<|im_start|>" in i.chat_template
    assert len(i.tensors) == 272
    assert Counter(t.ggml_type for t in i.tensors) == {"Q4_1": 210, "F32": 61, "Q8_0": 1}
    assert i.tensor("token_embd.weight").ggml_type == "Q8_0"
    # the data section ends exactly at the end of the file
    end = max(t.offset + t.n_bytes for t in i.tensors)
    assert end == SMOL.stat().st_size


@needs_smol
def test_smollm2_file_is_the_pinned_one() -> None:
    h = hashlib.sha256()
    with open(SMOL, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    assert h.hexdigest() == SMOLLM2.gguf_sha256
