"""Tiny LLaMA-family GGUF files written on the spot with gguf.GGUFWriter, for the reader,
tokenizer and chat-template tests: a toy vocabulary, a ChatML template, one layer of small tensors."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from gguf import GGMLQuantizationType as Q
from gguf import GGUFWriter
from gguf.quants import quantize

from offchain.llm.gguf_file import GgufInfo, read_info
from offchain.llm.gguf_tokenizer import _B2U
from offchain.llm.known_models import SMOLLM2

SMOL = SMOLLM2.path()
SMOL_ABSENT = f"{SMOL} absent: run `make setup` (scripts/fetch_model.py)"
needs_smol = pytest.mark.skipif(not SMOL.is_file(), reason=SMOL_ABSENT)


@lru_cache(maxsize=1)
def smol_info() -> GgufInfo:
    """SmolLM2's header, read once per test session (gguf's reader takes seconds on its 49k-token
    vocabulary and 49k merges)."""
    if not SMOL.is_file():
        pytest.skip(SMOL_ABSENT)
    return read_info(SMOL)

DIM, HIDDEN, N_HEADS, N_KV, HEAD_DIM = 32, 64, 4, 2, 8

CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content']"
          " + '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")

BPE_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# merges in rank order; "Ġ" is GPT-2's printable stand-in for the space byte
BPE_MERGES = ["h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "Ġworl d", "Ġwor l", "1 2", "Ġ Ġ"]


def bpe_vocab() -> tuple[list[str], list[int], list[str]]:
    """(tokens, token types, merges): 3 control tokens, the 256 byte characters, one per merge,
    then 3 normal tokens no merge makes (ids 270-272, for tests to rename)."""
    tokens = list(BPE_SPECIALS) + [_B2U[b] for b in range(256)]
    types = [3] * len(BPE_SPECIALS) + [1] * 256
    for m in BPE_MERGES:
        tokens.append(m.replace(" ", ""))
        types.append(1)
    tokens += ["<extra_0>", "<extra_1>", "<extra_2>"]
    types += [1, 1, 1]
    return tokens, types, list(BPE_MERGES)


# SentencePiece: <unk>, <s>, </s>, 256 byte pieces, then pieces whose scores order the merges.
SPM_PIECES = [("▁", -1.0), ("h", -2.0), ("e", -2.0), ("l", -2.0), ("o", -2.0), ("w", -2.0), ("r", -2.0),
              ("d", -2.0), ("he", -3.0), ("ll", -4.0), ("hell", -5.0), ("hello", -6.0), ("▁hello", -7.0),
              ("or", -8.0), ("▁w", -9.0), ("▁wor", -10.0), ("ld", -11.0), ("▁world", -12.0), ("é", -2.0)]


def spm_vocab() -> tuple[list[str], list[int], list[float]]:
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3] + [6] * 256
    scores = [0.0, 0.0, 0.0] + [0.0] * 256
    for p, s in SPM_PIECES:
        tokens.append(p)
        types.append(1)
        scores.append(s)
    return tokens, types, scores


def k_quant_bytes(rng: np.random.Generator, qt: Q, shape: tuple[int, ...]) -> np.ndarray:
    """Random super-blocks of a [n, k] k-quant whose fp16 d (and dmin) are about 2^-9 (finite, so
    the loader takes them): every integer, 6-bit scale and min, or int8 scale drawn at random."""
    from gguf import GGML_QUANT_SIZES

    block, size = GGML_QUANT_SIZES[qt]
    n, k = shape[0], shape[-1]
    raw = rng.integers(0, 256, size=(n, k // block, size), dtype=np.uint8)
    for off in (208,) if qt == Q.Q6_K else (0, 2):
        raw[:, :, off:off + 2] = rng.integers(0x1800, 0x1C00, size=(n, k // block), dtype=np.uint16)[..., None].view(np.uint8)
    return raw.reshape(n, -1)


def write_toy_gguf(path: Path, *, arch: str = "llama", tokenizer: str = "gpt2", pre: str | None = "smollm",
                   chat_template: str | None = CHATML, types: dict[str, Q] | None = None,
                   drop: tuple[str, ...] = (), untied: bool = False, n_layers: int = 1,
                   block_count: int | None = None, shapes: dict[str, tuple[int, ...]] | None = None,
                   keys: bool = True, vocab: tuple[list[str], list[int], list[str]] | None = None,
                   dim: int = DIM, hidden: int = HIDDEN) -> Path:
    """A LLaMA GGUF of n_layers layers. types: tensor name -> ggml type (default Q8_0 matrices, F32
    norms; Q4_K/Q5_K/Q6_K as random super-blocks with realistic scales, which needs dim and hidden
    multiples of 256); drop: tensors to leave out; shapes: tensor name -> a shape in place of the
    right one; block_count: the layer count the header claims (default n_layers); keys=False: no
    config keys; vocab: (tokens, token types, merges) of a byte-level BPE vocabulary in place of the
    toy one; dim, hidden: the widths (N_HEADS heads of dim / N_HEADS)."""
    rng = np.random.default_rng(0)
    head_dim = dim // N_HEADS
    w = GGUFWriter(str(path), arch)
    if keys:
        w.add_context_length(64)
        w.add_embedding_length(dim)
        w.add_feed_forward_length(hidden)
        w.add_block_count(n_layers if block_count is None else block_count)
        w.add_head_count(N_HEADS)
        w.add_head_count_kv(N_KV)
        w.add_rope_freq_base(100000.0)
        w.add_layer_norm_rms_eps(1e-5)
        w.add_rope_dimension_count(head_dim)
    if tokenizer == "gpt2":
        tokens, ttypes, merges = vocab or bpe_vocab()
        w.add_tokenizer_model("gpt2")
        if pre is not None:
            w.add_tokenizer_pre(pre)
        w.add_token_list(tokens)
        w.add_token_types(ttypes)
        w.add_token_merges(merges)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_add_bos_token(False)
    else:
        tokens, ttypes, scores = spm_vocab()
        w.add_tokenizer_model("llama")
        w.add_token_list(tokens)
        w.add_token_types(ttypes)
        w.add_token_scores(scores)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_unk_token_id(0)
    if chat_template is not None:
        w.add_chat_template(chat_template)
    vocab = len(tokens)
    want: dict[str, tuple[int, ...]] = {"token_embd.weight": (vocab, dim), "output_norm.weight": (dim,)}
    if untied:
        want["output.weight"] = (vocab, dim)
    for i in range(n_layers):
        want.update({f"blk.{i}.attn_norm.weight": (dim,), f"blk.{i}.attn_q.weight": (N_HEADS * head_dim, dim),
                       f"blk.{i}.attn_k.weight": (N_KV * head_dim, dim),
                       f"blk.{i}.attn_v.weight": (N_KV * head_dim, dim),
                       f"blk.{i}.attn_output.weight": (dim, N_HEADS * head_dim), f"blk.{i}.ffn_norm.weight": (dim,),
                       f"blk.{i}.ffn_gate.weight": (hidden, dim), f"blk.{i}.ffn_up.weight": (hidden, dim),
                       f"blk.{i}.ffn_down.weight": (dim, hidden)})
    want.update(shapes or {})
    for name, shape in want.items():
        if name in drop:
            continue
        x = rng.standard_normal(shape).astype(np.float32)
        qt = (types or {}).get(name, Q.F32 if len(shape) == 1 else Q.Q8_0)
        if qt == Q.F32:
            w.add_tensor(name, x)
        elif qt == Q.F16:
            w.add_tensor(name, x.astype(np.float16))
        elif qt in (Q.Q8_0, Q.Q4_0, Q.Q4_1):
            w.add_tensor(name, quantize(x, qt), raw_dtype=qt)
        elif qt in (Q.Q4_K, Q.Q5_K, Q.Q6_K):  # gguf quantizes no k-quant: random integers, scales ~2^-9
            w.add_tensor(name, k_quant_bytes(rng, qt, shape), raw_dtype=qt)
        else:  # a type we only need the size of: zero blocks of the right length
            from gguf import GGML_QUANT_SIZES

            block, size = GGML_QUANT_SIZES[qt]
            w.add_tensor(name, np.zeros((shape[0], shape[-1] // block * size), np.uint8), raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path
