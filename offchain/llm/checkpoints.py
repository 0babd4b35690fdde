"""Readers for float checkpoints, each returning float numpy arrays by name. No torch needed.

- PyTorch `torch.save` zip archives (state_dicts): a restricted unpickler that only rebuilds
  tensors, OrderedDicts and storages; storages are read from the archive whatever device they
  were saved on (cuda:0 included).
- safetensors: 8-byte little-endian header length, JSON header, raw little-endian data.
- llama2.c checkpoints (legacy version 0 and fp32 version 1) and their `tokenizer.bin`.
- GGUF through the `gguf` package (F32, F16 and Q8_0 tensors).
"""

from __future__ import annotations

import collections
import json
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np


class CheckpointError(ValueError):
    """A float checkpoint that cannot be read; the message names the file and tensor."""


# ---------------------------------------------------------------- PyTorch zip (torch.save)

_TORCH_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16", "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class _StorageType:
    def __init__(self, name: str):
        self.name = name


class _LazyTensor:
    """What `_rebuild_tensor_v2` produces: a view description resolved against the archive."""

    def __init__(self, storage: tuple, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


def _rebuild_tensor_v2(storage, offset, size, stride, *_rest):  # noqa: ANN001 - pickle signature
    return _LazyTensor(storage, offset, size, stride)


def _rebuild_parameter(data, *_rest):  # noqa: ANN001
    return data


class _TorchUnpickler(pickle.Unpickler):
    """Only the globals a state_dict needs; anything else is refused (no arbitrary code)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _TORCH_STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} (not part of a plain state_dict)")

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        _, stype, key, _location, numel = pid  # the device (e.g. cuda:0) is irrelevant to the bytes
        return (stype.name, str(key), int(numel))


def _bf16_to_f32(raw: bytes) -> np.ndarray:
    u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
    return u.view(np.float32)


def read_torch(path: str | Path) -> dict[str, np.ndarray]:
    """Tensors of a `torch.save`d state_dict (zip format), without importing torch."""
    p = str(path)
    try:
        z = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError) as e:
        raise CheckpointError(f"{p}: not a PyTorch zip checkpoint ({e})") from None
    with z:
        names = z.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pkl:
            raise CheckpointError(f"{p}: no data.pkl in the archive")
        prefix = pkl[0][: -len("data.pkl")]
        order = prefix + "byteorder"
        if order in names and z.read(order).strip() != b"little":
            raise CheckpointError(f"{p}: big-endian torch archives are not supported")
        try:
            obj = _TorchUnpickler(z.open(pkl[0])).load()
        except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file
            raise CheckpointError(f"{p}: cannot unpickle data.pkl ({e})") from None
        if not isinstance(obj, dict):
            raise CheckpointError(f"{p}: expected a state_dict (a dict of tensors), got {type(obj).__name__}")
        out: dict[str, np.ndarray] = {}
        for name, t in obj.items():
            if not isinstance(t, _LazyTensor):
                continue  # e.g. integer buffers saved as plain Python values
            stype, key, numel = t.storage
            dt = _TORCH_STORAGE_DTYPES[stype]
            try:
                raw = z.read(f"{prefix}data/{key}")
            except KeyError:
                raise CheckpointError(f"{p}: tensor {name}: storage data/{key} is missing") from None
            arr = _bf16_to_f32(raw) if dt == "bfloat16" else np.frombuffer(raw, dtype=np.dtype(dt).newbyteorder("<"))
            if arr.shape[0] < numel:
                raise CheckpointError(f"{p}: tensor {name}: storage holds {arr.shape[0]} of {numel} elements")
            need = t.offset + sum((s - 1) * st for s, st in zip(t.size, t.stride)) + 1 if t.size else t.offset + 1
            if need > arr.shape[0]:
                raise CheckpointError(f"{p}: tensor {name}: view {t.size} runs past its storage")
            view = np.lib.stride_tricks.as_strided(arr[t.offset :], shape=t.size,
                                                   strides=[s * arr.itemsize for s in t.stride])
            out[name] = np.array(view)
        return out


# ---------------------------------------------------------------- safetensors

_ST_DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "BF16": "bfloat16", "I8": "<i1", "U8": "<u1",
              "I32": "<i4", "I64": "<i8"}


def read_safetensors(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """(tensors, __metadata__) of a .safetensors file."""
    p = str(path)
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise CheckpointError(f"{p}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise CheckpointError(f"{p}: truncated safetensors header")
    try:
        header = json.loads(data[8 : 8 + n])
    except ValueError as e:
        raise CheckpointError(f"{p}: corrupted safetensors header ({e})") from None
    meta = header.pop("__metadata__", {}) or {}
    out: dict[str, np.ndarray] = {}
    base = 8 + n
    for name, e in header.items():
        dt = _ST_DTYPES.get(e.get("dtype"))
        if dt is None:
            raise CheckpointError(f"{p}: tensor {name}: unsupported dtype {e.get('dtype')}")
        lo, hi = e["data_offsets"]
        if base + hi > len(data):
            raise CheckpointError(f"{p}: truncated: tensor {name} needs bytes up to {base + hi}, file has {len(data)}")
        raw = data[base + lo : base + hi]
        arr = _bf16_to_f32(raw) if dt == "bfloat16" else np.frombuffer(raw, dtype=dt)
        shape = tuple(e["shape"])
        if arr.size != int(np.prod(shape, dtype=np.int64)):
            raise CheckpointError(f"{p}: tensor {name}: {arr.size} elements do not fill shape {list(shape)}")
        out[name] = arr.reshape(shape)
    return out, meta


# ---------------------------------------------------------------- llama2.c

LLAMA2C_HEADER = struct.Struct("<7i")


LLAMA2C_MAGIC = 0x616B3432  # "ak42": llama2.c export.py version_export (version 1, fp32)


def _llama2c_layout(dim: int, hidden: int, n_layers: int, kvd: int, vocab: int, seq: int, hd: int,
                    shared: bool, version: int) -> list[tuple[str, tuple[int, ...]]]:
    emb = ("tok_embeddings.weight", (vocab, dim))
    per_layer = [("wq", (n_layers, dim, dim)), ("wk", (n_layers, kvd, dim)), ("wv", (n_layers, kvd, dim)),
                 ("wo", (n_layers, dim, dim))]
    ffn = [("w1", (n_layers, hidden, dim)), ("w2", (n_layers, dim, hidden)), ("w3", (n_layers, hidden, dim))]
    if version == 0:  # legacy run.c order, with the RoPE tables it no longer uses
        layout = [emb, ("attention_norm", (n_layers, dim)), *per_layer, ("ffn_norm", (n_layers, dim)), *ffn,
                  ("norm.weight", (dim,)), ("freq_cis_real", (seq, hd // 2)), ("freq_cis_imag", (seq, hd // 2))]
    else:  # version 1: norms first, then the embedding and the matrices
        layout = [("attention_norm", (n_layers, dim)), ("ffn_norm", (n_layers, dim)), ("norm.weight", (dim,)),
                  emb, *per_layer, *ffn]
    return layout if shared else [*layout, ("output.weight", (vocab, dim))]


def read_llama2c(path: str | Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(config, Meta-named float32 weights) of a llama2.c checkpoint.

    Version 0 (legacy `model.bin`): 7 int32 header fields dim, hidden_dim, n_layers, n_heads,
    n_kv_heads, vocab_size (negative: a separate output classifier follows), seq_len, then float32
    arrays in run.c's order. Version 1 (`ak42` magic, fp32): magic, version, the 7 fields, a
    shared-classifier byte, zero padding to 256 bytes, then float32 arrays, norms first.
    """
    p = str(path)
    data = Path(path).read_bytes()
    if len(data) < LLAMA2C_HEADER.size:
        raise CheckpointError(f"{p}: too short for a llama2.c checkpoint")
    version, off = 0, LLAMA2C_HEADER.size
    if struct.unpack_from("<I", data)[0] == LLAMA2C_MAGIC:
        version = struct.unpack_from("<i", data, 4)[0]
        if version != 1 or len(data) < 256:
            raise CheckpointError(f"{p}: llama2.c version {version} is not supported (only 0 and 1, fp32)")
        dim, hidden, n_layers, n_heads, n_kv, vocab, seq = LLAMA2C_HEADER.unpack_from(data, 8)
        shared = bool(data[8 + LLAMA2C_HEADER.size])
        off = 256
    else:
        dim, hidden, n_layers, n_heads, n_kv, vocab, seq = LLAMA2C_HEADER.unpack_from(data)
        shared = vocab > 0
        vocab = abs(vocab)
    if min(dim, hidden, n_layers, n_heads, n_kv, vocab, seq) <= 0 or dim % n_heads:
        raise CheckpointError(f"{p}: implausible llama2.c header {dim, hidden, n_layers, n_heads, n_kv, vocab, seq}")
    hd = dim // n_heads
    raw: dict[str, np.ndarray] = {}
    for name, shape in _llama2c_layout(dim, hidden, n_layers, n_kv * hd, vocab, seq, hd, shared, version):
        n = int(np.prod(shape)) * 4
        if off + n > len(data):
            raise CheckpointError(f"{p}: truncated: tensor {name} needs bytes [{off}, {off + n}), file has {len(data)}")
        raw[name] = np.frombuffer(data, dtype="<f4", count=n // 4, offset=off).reshape(shape)
        off += n
    w = {"tok_embeddings.weight": raw["tok_embeddings.weight"], "norm.weight": raw["norm.weight"],
         "output.weight": raw["tok_embeddings.weight"] if shared else raw["output.weight"]}
    sub = {"attention_norm": "attention_norm.weight", "ffn_norm": "ffn_norm.weight",
           "wq": "attention.wq.weight", "wk": "attention.wk.weight", "wv": "attention.wv.weight",
           "wo": "attention.wo.weight", "w1": "feed_forward.w1.weight", "w2": "feed_forward.w2.weight",
           "w3": "feed_forward.w3.weight"}
    for i in range(n_layers):
        for k, v in sub.items():
            w[f"layers.{i}.{v}"] = raw[k][i]
    cfg = dict(dim=dim, hidden_dim=hidden, n_layers=n_layers, n_heads=n_heads, n_kv_heads=n_kv,
               vocab_size=vocab, max_seq_len=seq)
    return cfg, w


def read_llama2c_tokenizer(path: str | Path, vocab_size: int) -> dict:
    """llama2.c tokenizer.bin: max_token_length (i32), then per token: score (f32), len (i32), bytes."""
    data = Path(path).read_bytes()
    off = 4
    pieces, scores = [], []
    for i in range(vocab_size):
        if off + 8 > len(data):
            raise CheckpointError(f"{path}: truncated at token {i}")
        score, n = struct.unpack_from("<fi", data, off)
        off += 8
        pieces.append(data[off : off + n].decode("utf-8", "surrogateescape"))
        scores.append(float(score))
        off += n
    return {"kind": "pieces", "pieces": pieces, "scores": scores, "bos": 1}


# ---------------------------------------------------------------- GGUF

_GGUF_NAMES = {"token_embd.weight": "tok_embeddings.weight", "output_norm.weight": "norm.weight",
               "output.weight": "output.weight"}
_GGUF_LAYER = {"attn_norm": "attention_norm", "attn_q": "attention.wq", "attn_k": "attention.wk",
               "attn_v": "attention.wv", "attn_output": "attention.wo", "ffn_norm": "ffn_norm",
               "ffn_gate": "feed_forward.w1", "ffn_down": "feed_forward.w2", "ffn_up": "feed_forward.w3"}


def read_gguf(path: str | Path) -> tuple[dict, dict[str, np.ndarray], dict | None]:
    """(config, Meta-named float32 weights, tokenizer or None) of a LLaMA GGUF file.

    GGUF (from llama.cpp's converters) stores q/k rows in the interleaved-pair RoPE order we use.
    """
    from gguf import GGMLQuantizationType, GGUFReader
    from gguf.quants import dequantize

    p = str(path)
    try:
        r = GGUFReader(p)
    except Exception as e:  # noqa: BLE001 - the reader raises many kinds on a bad file
        raise CheckpointError(f"{p}: not a readable GGUF file ({e})") from None

    def field(key: str, default: Any = None) -> Any:
        f = r.fields.get(key)
        if f is None:
            return default
        return f.contents()

    arch = field("general.architecture", "llama")
    if arch != "llama":
        raise CheckpointError(f"{p}: architecture {arch!r} is not llama")
    ok = {GGMLQuantizationType.F32, GGMLQuantizationType.F16, GGMLQuantizationType.Q8_0}
    w: dict[str, np.ndarray] = {}
    for t in r.tensors:
        if t.tensor_type not in ok:
            raise CheckpointError(f"{p}: tensor {t.name}: type {t.tensor_type.name} is not F32/F16/Q8_0")
        shape = tuple(int(x) for x in reversed(t.shape))  # GGUF lists the fastest dimension first
        arr = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(shape)
        name = _GGUF_NAMES.get(t.name)
        if name is None and t.name.startswith("blk."):
            _, i, rest = t.name.split(".", 2)
            kind, _, suffix = rest.rpartition(".")
            if kind in _GGUF_LAYER:
                name = f"layers.{i}.{_GGUF_LAYER[kind]}.{suffix}"
        if name is not None:
            w[name] = arr
    if "output.weight" not in w and "tok_embeddings.weight" in w:
        w["output.weight"] = w["tok_embeddings.weight"]
    n_heads = int(field("llama.attention.head_count"))
    cfg = dict(dim=int(field("llama.embedding_length")), hidden_dim=int(field("llama.feed_forward_length")),
               n_layers=int(field("llama.block_count")), n_heads=n_heads,
               n_kv_heads=int(field("llama.attention.head_count_kv", n_heads)),
               vocab_size=int(w["tok_embeddings.weight"].shape[0]), max_seq_len=int(field("llama.context_length")),
               norm_eps=float(field("llama.attention.layer_norm_rms_epsilon", 1e-5)),
               rope_theta=float(field("llama.rope.freq_base", 10000.0)))
    tok = None
    pieces = field("tokenizer.ggml.tokens")
    if pieces is not None:
        scores = field("tokenizer.ggml.scores") or [0.0] * len(pieces)
        tok = {"kind": "pieces", "pieces": list(pieces), "scores": [float(s) for s in scores],
               "bos": int(field("tokenizer.ggml.bos_token_id", 1))}
    return cfg, w, tok
