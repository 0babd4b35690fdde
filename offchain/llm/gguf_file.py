"""What a LLaMA-family GGUF file holds, read and checked once: `read_info(path) -> GgufInfo`.

Everything a runner, a tokenizer and a chat front end need from the file's header, and where each
tensor's bytes are, without reading any weight. Every problem with the file is a `GgufError`
whose message is one line naming the file and the thing at fault (the off-chain error rule).

Shapes are given in numpy (row-major) order: GGUF lists a tensor's dimensions fastest first, so a
[576, 49152] token_embd in the file is (49152, 576) here, one row per token.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFReader, GGUFValueType

GGUF_MAGIC = b"GGUF"

# The quant types the v2 integer runner reads (issue 15: required F32, F16, Q8_0, Q4_0, Q4_1;
# wanted Q4_K, Q5_K, Q6_K, the formats inside most Q4_K_M files). Callers may narrow or widen it.
DEFAULT_SUPPORTED_TYPES: frozenset[str] = frozenset(
    {"F32", "F16", "Q8_0", "Q4_0", "Q4_1", "Q4_K", "Q5_K", "Q6_K"})

# Architecture -> RoPE type, as llama.cpp assigns them ("norm": rotate adjacent pairs (x0, x1),
# (x2, x3)…; "neox": rotate x_i with x_{i + rope_dim/2}). Only "llama" is accepted today: it is the
# graph v2 implements (SmolLM2, TinyLlama, Llama 2/3, Mistral 7B all ship as "llama"). Easy next
# ones, each a small addition to the graph: "granite" (llama plus four fixed scalars), "qwen2"
# (neox RoPE plus q/k/v biases), "qwen3" (neox RoPE plus per-head q/k RMS norms).
ARCH_ROPE_TYPE: dict[str, str] = {"llama": "norm"}

# llama.cpp's defaults for keys a converter may leave out.
_DEFAULT_ROPE_THETA = 10000.0
_DEFAULT_RMS_EPS = 1e-5

# llama.cpp's defaults when the file names no BOS/EOS/UNK and does not say whether to add BOS:
# SentencePiece ("llama") vocabularies: <s>=1, </s>=2, <unk>=0, BOS added; byte-level BPE ("gpt2"):
# id 11 for both, BOS added only for the pre-tokenizers below.
_DEFAULT_SPECIALS = {"llama": {"bos": 1, "eos": 2, "unknown": 0}, "gpt2": {"bos": 11, "eos": 11}}
_BPE_PRE_ADDING_BOS = frozenset({"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0",
                                 "lfm2", "tekken", "chameleon"})

_LAYER_TENSORS = ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                  "ffn_norm", "ffn_gate", "ffn_up", "ffn_down")


class GgufError(ValueError):
    """A GGUF file that cannot be used; the message is one line."""


@dataclass(frozen=True)
class TensorInfo:
    name: str
    ggml_type: str  # GGMLQuantizationType name: "F32", "Q4_1", …
    shape: tuple[int, ...]  # numpy order: the last dimension is contiguous in the file
    offset: int  # absolute byte offset of the tensor's data in the file
    n_bytes: int


@dataclass(frozen=True)
class GgufInfo:
    path: str
    architecture: str
    dim: int
    hidden_dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    vocab_size: int
    context_length: int
    # Stored as float32; the bits are kept so that the integer spec can use the exact value.
    rope_theta: float
    rope_theta_bits: int
    rope_dim: int
    rope_type: str  # "norm" (adjacent pairs) or "neox" (halves)
    rms_eps: float
    rms_eps_bits: int
    tied_embeddings: bool  # no output.weight: the output projection is token_embd.weight
    bos_id: int | None
    eos_id: int | None
    unk_id: int | None
    pad_id: int | None
    add_bos: bool
    add_eos: bool
    chat_template: str | None
    tokenizer_model: str | None  # "gpt2" (byte-level BPE) or "llama" (SentencePiece)
    tokenizer_pre: str | None  # the pre-tokenizer name, e.g. "smollm", "llama-bpe"; None = default
    add_space_prefix: bool | None  # SentencePiece: prepend a space to the text (None: not stored)
    tensors: tuple[TensorInfo, ...] = field(repr=False)
    # The vocabulary itself: large, so out of repr. token_types are GGUF's (1 normal, 2 unknown,
    # 3 control, 4 user-defined, 5 unused, 6 byte).
    tokens: tuple[str, ...] = field(repr=False, default=())
    token_types: tuple[int, ...] = field(repr=False, default=())
    scores: tuple[float, ...] = field(repr=False, default=())
    merges: tuple[str, ...] = field(repr=False, default=())
    eot_id: int | None = None
    eom_id: int | None = None
    # fill-in-the-middle pad/repo/separator tokens: llama.cpp ends generation at these too
    fim_pad_id: int | None = None
    fim_rep_id: int | None = None
    fim_sep_id: int | None = None

    def tensor(self, name: str) -> TensorInfo:
        for t in self.tensors:
            if t.name == name:
                return t
        raise GgufError(f"{self.path}: no tensor {name!r}")

    def tensor_names(self) -> list[str]:
        return [t.name for t in self.tensors]


class _Reader(GGUFReader):
    """GGUFReader that names the tensor at fault before its own tensor pass fails on it.

    gguf 0.19.0 (pinned) slices each tensor out of a memory map and reshapes it: a tensor whose
    bytes run past the end of the file fails there with a bare numpy reshape message, and an
    unknown type id with a bare enum message. The check reads the same parts the base class reads.

    It also reads through a plain ndarray view of the file's memory map: the reader slices the map
    once per vocabulary string (~250k slices for SmolLM2), and numpy's memmap subclass costs ~10 µs
    on each of them, which made reading the header take seconds.
    """

    @property
    def data(self) -> np.ndarray:
        return self._plain

    @data.setter
    def data(self, mapped: np.ndarray) -> None:
        self._plain = mapped.view(np.ndarray)  # same bytes, same mapping (kept alive as its base)

    def _build_tensors(self, start_offs: int, fields: list[Any]) -> None:
        size = len(self.data)
        for f in fields:
            _name_len, name_data, _n_dims, dims, raw_dtype, offset_tensor = f.parts
            name = bytes(name_data).decode("utf-8", "replace")
            try:
                qtype = GGMLQuantizationType(int(raw_dtype[0]))
            except ValueError:
                raise GgufError(f"tensor {name!r} has unknown ggml type id {int(raw_dtype[0])}") from None
            block, type_size = GGML_QUANT_SIZES[qtype]
            n_elems = int(np.prod(dims.astype(np.int64))) if len(dims) else 1
            if n_elems % block:
                raise GgufError(f"tensor {name!r}: {n_elems} elements are not whole {qtype.name} blocks of {block}")
            end = int(start_offs) + int(offset_tensor[0]) + n_elems * type_size // block
            if end > size:
                raise GgufError(f"tensor {name!r} is truncated: its data ends at byte {end}, "
                                f"the file has {size}")
        super()._build_tensors(start_offs, fields)


def open_reader(path: str | os.PathLike[str]) -> GGUFReader:
    """A GGUFReader on `path`, or a one-line GgufError (not GGUF, truncated header or tensor)."""
    p = str(path)
    try:
        with open(p, "rb") as fh:
            magic = fh.read(4)
    except OSError as e:
        raise GgufError(f"{p}: cannot open ({e.strerror or e})") from None
    if magic != GGUF_MAGIC:
        raise GgufError(f"{p}: not a GGUF file (starts with {magic!r}, not b'GGUF')")
    try:
        return _Reader(p)
    except GgufError as e:
        raise GgufError(f"{p}: {e}") from None
    except Exception as e:  # noqa: BLE001 - the reader fails in many ways on a cut or corrupt header
        msg = " ".join(str(e).split()) or type(e).__name__
        raise GgufError(f"{p}: unreadable GGUF header, truncated or corrupt ({msg})") from None


def _scalar(r: GGUFReader, key: str) -> Any:
    f = r.fields.get(key)
    return None if f is None else f.contents()


_INT_TYPES = (GGUFValueType.UINT8, GGUFValueType.INT8, GGUFValueType.UINT16, GGUFValueType.INT16,
              GGUFValueType.UINT32, GGUFValueType.INT32, GGUFValueType.UINT64, GGUFValueType.INT64)


def _f32(r: GGUFReader, p: str, key: str, default: float) -> tuple[float, int]:
    """(value, IEEE-754 float32 bits) of a float key; a missing key gives llama.cpp's default."""
    f = r.fields.get(key)
    if f is None:
        v = np.float32(default)
    elif f.types == [GGUFValueType.FLOAT32]:
        v = np.float32(f.parts[-1][0])
    elif len(f.types) == 1 and f.types[0] in (GGUFValueType.FLOAT64,) + _INT_TYPES:
        v = np.float32(f.contents())  # llama.cpp reads these keys as float32 whatever their type
    else:
        raise GgufError(f"{p}: key {key} is not a number")
    return float(v), int(np.array(v, dtype=np.float32).view(np.uint32))


def read_info(path: str | os.PathLike[str], *,
              supported_types: Collection[str] = DEFAULT_SUPPORTED_TYPES) -> GgufInfo:
    """Header, tokenizer data and tensor directory of a LLaMA-family GGUF, checked.

    Raises GgufError (one line) for: not a GGUF file; a truncated header or tensor (named); an
    architecture outside ARCH_ROPE_TYPE (named); a tensor whose type is not in `supported_types`
    (tensor and type named); a missing key or tensor; a tensor whose shape disagrees with the config.
    """
    p = str(path)
    r = open_reader(p)

    def need(key: str) -> Any:
        v = _scalar(r, key)
        if v is None:
            raise GgufError(f"{p}: missing required key {key}")
        return v

    def opt_int(key: str) -> int | None:
        v = _scalar(r, key)
        return None if v is None else int(v)

    arch = _scalar(r, "general.architecture")
    if arch is None:
        raise GgufError(f"{p}: missing required key general.architecture")
    if arch not in ARCH_ROPE_TYPE:
        raise GgufError(f"{p}: architecture {arch!r} is not supported (supported: "
                        f"{', '.join(sorted(ARCH_ROPE_TYPE))})")

    tensors = tuple(TensorInfo(t.name, t.tensor_type.name, tuple(int(x) for x in reversed(t.shape.tolist())),
                               int(t.data_offset), int(t.n_bytes)) for t in r.tensors)
    ok = {s.upper() for s in supported_types}
    for t in tensors:
        if t.ggml_type not in ok:
            raise GgufError(f"{p}: tensor {t.name!r} has unsupported type {t.ggml_type} "
                            f"(supported: {', '.join(sorted(ok))})")

    dim = int(need(f"{arch}.embedding_length"))
    hidden_dim = int(need(f"{arch}.feed_forward_length"))
    n_layers = int(need(f"{arch}.block_count"))
    n_heads = int(need(f"{arch}.attention.head_count"))
    n_kv_heads = int(_scalar(r, f"{arch}.attention.head_count_kv") or n_heads)
    if n_heads <= 0 or n_kv_heads <= 0 or n_heads % n_kv_heads:
        raise GgufError(f"{p}: {n_heads} attention heads cannot be shared by {n_kv_heads} kv heads")
    if dim % n_heads and _scalar(r, f"{arch}.attention.key_length") is None:
        raise GgufError(f"{p}: embedding length {dim} is not a multiple of {n_heads} heads")
    head_dim = int(_scalar(r, f"{arch}.attention.key_length") or dim // n_heads)
    v_len = _scalar(r, f"{arch}.attention.value_length")
    if v_len is not None and int(v_len) != head_dim:
        raise GgufError(f"{p}: value length {v_len} differs from key length {head_dim}")
    rope_dim = int(_scalar(r, f"{arch}.rope.dimension_count") or head_dim)
    if rope_dim > head_dim or rope_dim % 2:
        raise GgufError(f"{p}: rope dimension {rope_dim} does not fit head dimension {head_dim}")
    theta, theta_bits = _f32(r, p, f"{arch}.rope.freq_base", _DEFAULT_ROPE_THETA)
    eps, eps_bits = _f32(r, p, f"{arch}.attention.layer_norm_rms_epsilon", _DEFAULT_RMS_EPS)
    if _scalar(r, f"{arch}.rope.scaling.type") not in (None, "none"):
        # llama.cpp would stretch the positions (linear/yarn); the v2 graph does not
        raise GgufError(f"{p}: rope scaling {_scalar(r, f'{arch}.rope.scaling.type')!r} is not supported")

    tokens = tuple(_scalar(r, "tokenizer.ggml.tokens") or ())
    by_name = {t.name: t for t in tensors}
    if "token_embd.weight" not in by_name:
        raise GgufError(f"{p}: missing required tensor 'token_embd.weight'")
    vocab_size = int(_scalar(r, f"{arch}.vocab_size") or len(tokens) or by_name["token_embd.weight"].shape[0])
    if tokens and len(tokens) != vocab_size:
        raise GgufError(f"{p}: the vocabulary has {len(tokens)} tokens, the model {vocab_size}")

    q_rows, kv_rows = n_heads * head_dim, n_kv_heads * head_dim
    want: dict[str, tuple[int, ...]] = {"token_embd.weight": (vocab_size, dim), "output_norm.weight": (dim,)}
    tied = "output.weight" not in by_name
    if not tied:
        want["output.weight"] = (vocab_size, dim)
    layer_shapes = {"attn_norm": (dim,), "attn_q": (q_rows, dim), "attn_k": (kv_rows, dim),
                    "attn_v": (kv_rows, dim), "attn_output": (dim, q_rows), "ffn_norm": (dim,),
                    "ffn_gate": (hidden_dim, dim), "ffn_up": (hidden_dim, dim), "ffn_down": (dim, hidden_dim)}
    for i in range(n_layers):
        for kind in _LAYER_TENSORS:
            want[f"blk.{i}.{kind}.weight"] = layer_shapes[kind]
    for name, shape in want.items():
        t = by_name.get(name)
        if t is None:
            raise GgufError(f"{p}: missing required tensor {name!r}")
        if t.shape != shape:
            raise GgufError(f"{p}: tensor {name!r} has shape {t.shape}, the config needs {shape}")

    def opt_bool(key: str, default: bool) -> bool:
        v = _scalar(r, key)
        return default if v is None else bool(v)

    tok_model = _scalar(r, "tokenizer.ggml.model")
    types = tuple(int(x) for x in (_scalar(r, "tokenizer.ggml.token_type") or ()))
    scores = tuple(float(x) for x in (_scalar(r, "tokenizer.ggml.scores") or ()))
    for what, arr in (("token_type", types), ("scores", scores)):
        if arr and len(arr) != len(tokens):
            raise GgufError(f"{p}: tokenizer.ggml.{what} has {len(arr)} entries for {len(tokens)} tokens")
    defaults = _DEFAULT_SPECIALS.get(tok_model or "", {}) if tokens else {}
    specials: dict[str, int | None] = {}
    for k in ("bos", "eos", "unknown", "padding", "eot", "eom", "fim_pad", "fim_rep", "fim_sep"):
        v = opt_int(f"tokenizer.ggml.{k}_token_id")
        specials[k] = defaults.get(k) if v is None else v
    for k, v in specials.items():
        if v is not None and tokens and not 0 <= v < len(tokens):
            raise GgufError(f"{p}: tokenizer.ggml.{k}_token_id {v} is outside the vocabulary")
    pre = _scalar(r, "tokenizer.ggml.pre")
    asp = _scalar(r, "tokenizer.ggml.add_space_prefix")
    return GgufInfo(
        path=p, architecture=arch, dim=dim, hidden_dim=hidden_dim, n_layers=n_layers, n_heads=n_heads,
        n_kv_heads=n_kv_heads, head_dim=head_dim, vocab_size=vocab_size,
        context_length=int(need(f"{arch}.context_length")),
        rope_theta=theta, rope_theta_bits=theta_bits, rope_dim=rope_dim, rope_type=ARCH_ROPE_TYPE[arch],
        rms_eps=eps, rms_eps_bits=eps_bits, tied_embeddings=tied,
        bos_id=specials["bos"], eos_id=specials["eos"], unk_id=specials["unknown"], pad_id=specials["padding"],
        add_bos=opt_bool("tokenizer.ggml.add_bos_token",
                         tok_model == "llama" or (tok_model == "gpt2" and pre in _BPE_PRE_ADDING_BOS)),
        add_eos=opt_bool("tokenizer.ggml.add_eos_token", False),
        chat_template=_scalar(r, "tokenizer.chat_template"),
        tokenizer_model=tok_model, tokenizer_pre=pre, add_space_prefix=None if asp is None else bool(asp),
        tensors=tensors, tokens=tokens, token_types=types, scores=scores,
        merges=tuple(_scalar(r, "tokenizer.ggml.merges") or ()),
        eot_id=specials["eot"], eom_id=specials["eom"],
        fim_pad_id=specials["fim_pad"], fim_rep_id=specials["fim_rep"], fim_sep_id=specials["fim_sep"],
    )


def tensor_bytes(info: GgufInfo, name: str) -> np.ndarray:
    """The raw bytes of one tensor (a read-only uint8 memory map), as stored: blocks, not values."""
    t = info.tensor(name)
    return np.memmap(info.path, dtype=np.uint8, mode="r", offset=t.offset, shape=(t.n_bytes,))
