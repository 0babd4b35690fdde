"""What `opml infer` does with a spec v2 model (a GGUF): resolve the model, build the input ids
(chat template, raw text or ids), generate (greedy or seeded sampling) and report the answer with
the commitments. The CLI (offchain/llm/cli.py) only parses flags and prints."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from offchain.llm.chat import encode_chat
from offchain.llm.gguf_file import read_info
from offchain.llm.gguf_tokenizer import GgufTokenizer
from offchain.llm.known_models import KNOWN_MODELS, sha256_file
from offchain.llm.v2.commit import weight_root
from offchain.llm.v2.gguf_weights import DEFAULT_CONTEXT
from offchain.llm.v2.model import ModelV2, load_gguf
from offchain.llm.v2.sample import Sampling
from offchain.llm.v2.trace import trace_task
from offchain.merkle import tensor_root


def resolve(model: str) -> Path:
    """A known model's name (installed by `make setup`) or a path."""
    known = KNOWN_MODELS.get(model)
    if known is not None:
        path = known.path()
        if not path.exists():
            raise FileNotFoundError(f"model {model} is not installed: run `make setup` (expected {known.relpath})")
        return path
    path = Path(model)
    if not path.exists():
        raise FileNotFoundError(f"no model file {model} (known models: {', '.join(KNOWN_MODELS)})")
    return path


def is_gguf(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"GGUF"


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "opml" / "models"


def commitment(path: Path, context: int = DEFAULT_CONTEXT, *, refresh: bool = False) -> dict:
    """The model's v2 weight root (SPEC §3v2.6) with its file's sha256, cached by that sha256 (the
    root takes seconds to hash; the file's digest a fraction of one). `refresh` recomputes it."""
    sha = sha256_file(path)
    cached = _cache_dir() / f"{sha}-{context}.json"
    if cached.exists() and not refresh:
        return json.loads(cached.read_text())
    info = read_info(path)
    out = {"spec": 2, "file": str(path), "sha256": sha, "context": min(context, info.context_length),
           "weight_root": "0x" + weight_root(path, context).hex(), "architecture": info.architecture,
           "dim": info.dim, "layers": info.n_layers, "heads": f"{info.n_heads}/{info.n_kv_heads}",
           "vocab": info.vocab_size, "tied_embeddings": info.tied_embeddings}
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    tmp.write_text(json.dumps(out))
    tmp.replace(cached)
    return out


def cached_leaf_roots(path: Path, context: int = DEFAULT_CONTEXT) -> list[bytes]:
    """The v2 weight tree's leaf roots (SPEC §3v2.6), cached like `commitment` by the file's sha256:
    agents load a registered model's tree on every start, and hashing it takes seconds."""
    from offchain.llm.v2.commit import leaf_roots

    sha = sha256_file(path)
    cached = _cache_dir() / f"{sha}-{context}-leaves.json"
    if cached.exists():
        return [bytes.fromhex(h) for h in json.loads(cached.read_text())]
    leaves = leaf_roots(path, context)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    tmp.write_text(json.dumps([x.hex() for x in leaves]))
    tmp.replace(cached)
    return leaves


@dataclass
class Request:
    chat: str | None = None
    system: str | None = None
    prompt: str | None = None
    token_ids: list[int] | None = None
    tokens: int = 64
    sampling: Sampling = Sampling()
    context: int = DEFAULT_CONTEXT


def input_ids(tok: GgufTokenizer, req: Request) -> list[int]:
    if req.token_ids is not None:
        return list(req.token_ids)
    if req.chat is not None:
        messages = ([{"role": "system", "content": req.system}] if req.system is not None else [])
        return encode_chat(tok, messages + [{"role": "user", "content": req.chat}])
    if req.system is not None:
        raise ValueError("--system needs --chat")
    return tok.encode(req.prompt or "", parse_special=False, add_bos=tok.add_bos)


def _root(ids: list[int]) -> str:
    return "0x" + tensor_root(np.asarray(ids, dtype=">i4").tobytes())[0].hex()


def task_input_root(ids: list[int], n_new: int, s: Sampling) -> str:
    """The task's committed input (SPEC §3v2.7): the tensor root of u32 words, big-endian,
    [n_new, temp_milli, top_p_milli, seed >> 32, seed & 0xffffffff, the input ids …]. The seed
    and the sampling parameters are in it, so every party draws the same tokens."""
    words = [n_new, s.temp_milli, s.top_p_milli, s.seed >> 32, s.seed & 0xFFFFFFFF, *ids]
    return "0x" + tensor_root(np.asarray(words, dtype=">u4").tobytes())[0].hex()


def run(path: Path, req: Request, on_token: Callable[[int], None] | None = None, model: ModelV2 | None = None) -> dict:
    """Generate and return the answer: text, tokens (cut before an end-of-generation id) and
    the commitments (the weight root, the input and output token roots, and the trace's final
    state S_n over every node output, SPEC §5.2); with token ids given, also each input
    position's greedy `argmax` (teacher-forced)."""
    info = read_info(path)
    tok = GgufTokenizer.from_gguf(info)
    ids = input_ids(tok, req)
    if not ids:
        raise ValueError("the input is empty")
    if model is None:
        model = load_gguf(path, req.context)
    if len(ids) + req.tokens > model.shape.max_seq_len:
        raise ValueError(f"{len(ids)} input tokens + {req.tokens} new exceed the context of {model.shape.max_seq_len}")
    bad = [t for t in ids if not 0 <= t < model.shape.vocab_size]
    if bad:
        raise ValueError(f"token id {bad[0]} is outside the vocabulary of {model.shape.vocab_size}")
    t0 = time.perf_counter()
    tr = trace_task(model, ids, req.tokens, req.sampling, tok.is_eog, on_token)
    out = tr.tokens
    dt = time.perf_counter() - t0
    c = commitment(path, model.shape.max_seq_len)
    res = {"text": tok.decode(out, special=False), "tokens": out, "input_tokens": len(ids),
           "weight_root": c["weight_root"], "model_sha256": c["sha256"], "spec": 2,
           "input_root": _root(ids), "task_input_root": task_input_root(ids, req.tokens, req.sampling),
           "output_root": _root(out),
           "final_state": "0x" + tr.final_state.hex(), "nodes": len(tr.roots),
           "sampling": {"temperature_milli": req.sampling.temp_milli, "top_p_milli": req.sampling.top_p_milli,
                        "seed": req.sampling.seed},
           "ms_per_position": round(1000 * dt / max(len(ids) + len(out) - 1, 1), 2)}
    if req.token_ids is not None:
        res["argmax"] = tr.argmax[: len(ids)]
    return res

