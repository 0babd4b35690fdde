"""Float checkpoint → integer model file: name mapping, config, quantization, writing.

Sources (format detected from the file, or forced):
- `torch`: a `torch.save`d state_dict (zip), read without torch;
- `safetensors`;
- `llama2c`: a llama2.c `model.bin` (optionally with its `tokenizer.bin`);
- `gguf`: LLaMA GGUF with F32/F16/Q8_0 tensors.
state_dicts and safetensors may use Meta/llama2.c names (`layers.0.attention.wq.weight`) or
Hugging Face names (`model.layers.0.self_attn.q_proj.weight`, whose q/k rows are permuted to the
rotate-half RoPE order; we undo that). A state_dict of `X.weight`/`X.bias` pairs only (like the
OPML MNIST model) converts to an integer MLP.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from offchain.llm import checkpoints as ck
from offchain.llm.model import IntModel
from offchain.llm.quant import quantize_llama, quantize_mlp
from offchain.llm.reference import FloatLlama

_HF = [(r"^model\.embed_tokens\.weight$", "tok_embeddings.weight"), (r"^model\.norm\.weight$", "norm.weight"),
       (r"^lm_head\.weight$", "output.weight"),
       (r"^model\.layers\.(\d+)\.input_layernorm\.weight$", r"layers.\1.attention_norm.weight"),
       (r"^model\.layers\.(\d+)\.post_attention_layernorm\.weight$", r"layers.\1.ffn_norm.weight"),
       (r"^model\.layers\.(\d+)\.self_attn\.q_proj\.weight$", r"layers.\1.attention.wq.weight"),
       (r"^model\.layers\.(\d+)\.self_attn\.k_proj\.weight$", r"layers.\1.attention.wk.weight"),
       (r"^model\.layers\.(\d+)\.self_attn\.v_proj\.weight$", r"layers.\1.attention.wv.weight"),
       (r"^model\.layers\.(\d+)\.self_attn\.o_proj\.weight$", r"layers.\1.attention.wo.weight"),
       (r"^model\.layers\.(\d+)\.mlp\.gate_proj\.weight$", r"layers.\1.feed_forward.w1.weight"),
       (r"^model\.layers\.(\d+)\.mlp\.down_proj\.weight$", r"layers.\1.feed_forward.w2.weight"),
       (r"^model\.layers\.(\d+)\.mlp\.up_proj\.weight$", r"layers.\1.feed_forward.w3.weight")]


def hf_unpermute(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Undo Hugging Face's q/k row permutation (rotate-half order → interleaved pairs)."""
    n, k = w.shape
    return w.reshape(n_heads, 2, n // n_heads // 2, k).transpose(0, 2, 1, 3).reshape(n, k)


def hf_permute(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Hugging Face's permutation (interleaved pairs → rotate-half order); used by tests."""
    n, k = w.shape
    return w.reshape(n_heads, n // n_heads // 2, 2, k).transpose(0, 2, 1, 3).reshape(n, k)


def detect_format(path: str | Path) -> str:
    head = Path(path).open("rb").read(8)
    if head[:4] == b"GGUF":
        return "gguf"
    if head[:2] == b"PK":
        return "torch"
    if head[:8] == b"OPMLMDL1":
        return "opml"
    if len(head) == 8 and int.from_bytes(head, "little") < 100_000_000 and Path(path).suffix == ".safetensors":
        return "safetensors"
    if Path(path).suffix in (".safetensors",):
        return "safetensors"
    if Path(path).suffix in (".bin",):
        return "llama2c"
    raise ValueError(f"{path}: cannot tell the checkpoint format; pass --format")


def _sidecar(path: Path) -> dict:
    """Hyper-parameters next to a checkpoint: X.json (our training script) or config.json (HF)."""
    for cand in (path.with_suffix(".json"), path.parent / "config.json"):
        if cand.is_file():
            d = json.loads(cand.read_text())
            return {"n_heads": d.get("n_heads", d.get("num_attention_heads")),
                    "n_kv_heads": d.get("n_kv_heads", d.get("num_key_value_heads")),
                    "max_seq_len": d.get("max_seq_len", d.get("max_position_embeddings")),
                    "norm_eps": d.get("norm_eps", d.get("rms_norm_eps")),
                    "rope_theta": d.get("rope_theta")}
    return {}


def llama_from_named(w: dict[str, np.ndarray], hp: dict, where: str) -> FloatLlama:
    """FloatLlama from Meta- or HF-named float tensors plus hyper-parameters `hp` (n_heads, ...)."""
    hf = any(k.startswith("model.layers.") for k in w)
    if hf:
        mapped = {}
        for k, v in w.items():
            for pat, rep in _HF:
                if re.match(pat, k):
                    mapped[re.sub(pat, rep, k)] = v
                    break
        w = mapped
    if "tok_embeddings.weight" not in w:
        raise ck.CheckpointError(f"{where}: tensor tok_embeddings.weight (or model.embed_tokens.weight) is missing")
    if "output.weight" not in w:
        w["output.weight"] = w["tok_embeddings.weight"]  # tied embeddings
    vocab, dim = w["tok_embeddings.weight"].shape
    n_layers = len({int(m.group(1)) for k in w if (m := re.match(r"layers\.(\d+)\.", k))})
    if not hp.get("n_heads"):
        raise ck.CheckpointError(f"{where}: the number of attention heads is unknown; pass --n-heads")
    n_heads = int(hp["n_heads"])
    hd = dim // n_heads
    wk = w.get("layers.0.attention.wk.weight")
    if wk is None:
        raise ck.CheckpointError(f"{where}: tensor layers.0.attention.wk.weight is missing")
    n_kv = int(hp.get("n_kv_heads") or wk.shape[0] // hd)
    if hf:
        for i in range(n_layers):
            for name, heads in (("wq", n_heads), ("wk", n_kv)):
                key = f"layers.{i}.attention.{name}.weight"
                w[key] = hf_unpermute(w[key], heads)
    hidden = w["layers.0.feed_forward.w1.weight"].shape[0] if "layers.0.feed_forward.w1.weight" in w else 0
    m = FloatLlama(dim=int(dim), hidden_dim=int(hidden), n_layers=n_layers, n_heads=n_heads, n_kv_heads=n_kv,
                   vocab_size=int(vocab), max_seq_len=int(hp.get("max_seq_len") or 256),
                   # float32-rounded: GGUF stores these as f32, so every format calibrates alike
                   norm_eps=float(np.float32(hp.get("norm_eps") or 1e-5)),
                   rope_theta=float(np.float32(hp.get("rope_theta") or 10000.0)),
                   weights={})
    expect = {"tok_embeddings.weight": (vocab, dim), "norm.weight": (dim,), "output.weight": (vocab, dim)}
    for i in range(n_layers):
        p = f"layers.{i}"
        expect.update({f"{p}.attention_norm.weight": (dim,), f"{p}.ffn_norm.weight": (dim,),
                       f"{p}.attention.wq.weight": (dim, dim), f"{p}.attention.wk.weight": (n_kv * hd, dim),
                       f"{p}.attention.wv.weight": (n_kv * hd, dim), f"{p}.attention.wo.weight": (dim, dim),
                       f"{p}.feed_forward.w1.weight": (hidden, dim), f"{p}.feed_forward.w3.weight": (hidden, dim),
                       f"{p}.feed_forward.w2.weight": (dim, hidden)})
    for name, shape in expect.items():
        t = w.get(name)
        if t is None:
            raise ck.CheckpointError(f"{where}: tensor {name} is missing")
        if tuple(t.shape) != tuple(shape):
            raise ck.CheckpointError(f"{where}: tensor {name} has shape {list(t.shape)}, expected {list(shape)}")
        if not np.isfinite(t).all():
            raise ck.CheckpointError(f"{where}: tensor {name} holds NaN or infinity")
        m.weights[name] = np.asarray(t, dtype=np.float32)
    return m


def is_mlp_state(w: dict[str, np.ndarray]) -> bool:
    names = list(w)
    return bool(names) and len(names) % 2 == 0 and all(
        names[i].endswith(".weight") and names[i + 1] == names[i][: -len("weight")] + "bias"
        and w[names[i]].ndim == 2 for i in range(0, len(names), 2))


def load_float(path: str | Path, fmt: str = "auto", hp: dict | None = None) -> tuple[FloatLlama, dict | None]:
    """(FloatLlama, tokenizer or None) from any supported LLaMA checkpoint."""
    path = Path(path)
    fmt = detect_format(path) if fmt == "auto" else fmt
    hp = {**_sidecar(path), **{k: v for k, v in (hp or {}).items() if v is not None}}
    if fmt == "torch":
        return llama_from_named(ck.read_torch(path), hp, str(path)), None
    if fmt == "safetensors":
        w, meta = ck.read_safetensors(path)
        return llama_from_named(dict(w), {**meta, **hp}, str(path)), None
    if fmt == "llama2c":
        cfg, w = ck.read_llama2c(path)
        return llama_from_named(w, {**hp, **cfg}, str(path)), None
    if fmt == "gguf":
        cfg, w, tok = ck.read_gguf(path)
        return llama_from_named(w, {**cfg, **hp}, str(path)), tok
    raise ValueError(f"unknown checkpoint format {fmt!r}")


def convert_llama(path: str | Path, fmt: str = "auto", hp: dict | None = None,
                  calib_tokens: Sequence[int] | None = None, tokenizer: dict | None = None) -> IntModel:
    m, tok = load_float(path, fmt, hp)
    tok = tokenizer or tok or ({"kind": "bytes"} if m.vocab_size == 256 else {"kind": "none"})
    return quantize_llama(m, calib_tokens, tok, {"source": Path(path).name})


def convert_mlp(path: str | Path, input_scale: float, input_max: int, calib_inputs: np.ndarray) -> IntModel:
    """Integer MLP from a state_dict of (weight, bias) pairs, e.g. the OPML MNIST model."""
    w = ck.read_torch(path) if detect_format(path) == "torch" else ck.read_safetensors(path)[0]
    if not is_mlp_state(w):
        raise ck.CheckpointError(f"{path}: not a state_dict of (X.weight, X.bias) pairs")
    names = list(w)
    layers = [(w[names[i]], w[names[i + 1]]) for i in range(0, len(names), 2)]
    for (a, _), (b, _) in zip(layers, layers[1:]):
        if b.shape[1] != a.shape[0]:
            raise ck.CheckpointError(f"{path}: layer widths do not chain ({a.shape} then {b.shape})")
    return quantize_mlp(layers, input_scale, input_max, calib_inputs, {"source": Path(path).name})
