"""The tokenizer a GGUF file carries, matching llama.cpp's tokenization of the same file.

Two models, as `tokenizer.ggml.model` names them:
- "gpt2": byte-level BPE. Built with HF `tokenizers` from the file's tokens and merges, behind the
  pre-tokenizer `tokenizer.ggml.pre` names (PRE_TOKENIZERS lists those we know).
- "llama": SentencePiece BPE by piece scores with byte fallback, implemented here (`_spm_encode`).

Control and user-defined tokens written in the text (`<|im_start|>`) become their ids before the
model sees the rest, as llama.cpp's `parse_special` does. Token ids are the file's: index i of
`tokenizer.ggml.tokens` is id i.
"""

from __future__ import annotations

import heapq
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from .gguf_file import GgufError, GgufInfo, read_info

# GGUF token types (tokenizer.ggml.token_type)
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

# End of generation, as llama.cpp decides it: the eos/eot/eom ids the file names, every token
# with one of EOG_TEXTS (a chat model stops at its turn end, e.g. ChatML's <|im_end|>), and the
# fill-in-the-middle pad/repo/separator tokens, found by text when the file does not name them
# (SmolLM2's <reponame>). Tokens found by text are made control tokens, as llama.cpp does.
EOG_TEXTS = frozenset({"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>",
                       "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>"})
FIM_TEXTS = {"fim_pad": ("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"),
             "fim_rep": ("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"),
             "fim_sep": ("<|file_sep|>",)}

# Pre-tokenizers: the regexes llama.cpp applies, in order, to cut text into words before BPE (each
# regex cuts every piece the previous ones left; text between matches stays a piece of its own).
_GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
_LLAMA3 = (r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
           r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_QWEN2 = (r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
          r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


@dataclass(frozen=True)
class PreTokenizer:
    regexes: tuple[str, ...]
    ignore_merges: bool = False  # a word that is a token as a whole is taken as is (LLaMA 3)


_DEFAULT = PreTokenizer((r"[\p{P}\$\+<=>\^~\|]+", _GPT2, r"\p{N}+", r"[0-9][0-9][0-9]"))
_PLAIN_GPT2 = PreTokenizer((_GPT2,))
_DIGITS_GPT2 = PreTokenizer((r"\p{N}", _GPT2))  # each digit a word of its own
_LLAMA3_PRE = PreTokenizer((_LLAMA3,), ignore_merges=True)

# tokenizer.ggml.pre -> its pre-tokenizer, under llama.cpp's names (a name llama.cpp does not know
# fails there too; a file without the key gets "default", with a warning in llama.cpp).
PRE_TOKENIZERS: dict[str, PreTokenizer] = {
    "default": _DEFAULT,
    **dict.fromkeys(("gpt-2", "phi-2", "mpt", "olmo"), _PLAIN_GPT2),
    **dict.fromkeys(("smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b"),
                    _DIGITS_GPT2),
    **dict.fromkeys(("llama3", "llama-v3", "llama-bpe"), _LLAMA3_PRE),
    **dict.fromkeys(("dbrx", "smaug-bpe"), PreTokenizer((_LLAMA3,))),
    **dict.fromkeys(("qwen2", "stablelm2", "megrez", "deepseek-r1-qwen"), PreTokenizer((_QWEN2,))),
    "falcon": PreTokenizer((r"[\p{P}\$\+<=>\^~\|`]+", _GPT2, r"[0-9][0-9][0-9]")),
}


def pre_tokenizer(info: GgufInfo) -> PreTokenizer:
    pre = info.tokenizer_pre or "default"
    if pre not in PRE_TOKENIZERS:
        raise TokenizerError(f"{info.path}: pre-tokenizer {pre!r} is not supported (supported: "
                             f"{', '.join(sorted(PRE_TOKENIZERS))})")
    return PRE_TOKENIZERS[pre]


class TokenizerError(GgufError):
    """A vocabulary this module cannot tokenize with; one line."""


def _byte_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table: printable Latin-1 bytes map to themselves, the
    other 68 bytes to U+0100 onward, in byte order (so a byte-level token is a printable string)."""
    keep = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(0x100 + extra)
            extra += 1
    return table


_B2U = _byte_to_unicode()
_U2B = {u: b for b, u in _B2U.items()}


class GgufTokenizer:
    """encode/decode with a GGUF file's own vocabulary. Build with `from_gguf`."""

    def __init__(self, info: GgufInfo):
        if not info.tokens:
            raise TokenizerError(f"{info.path}: the file has no tokenizer.ggml.tokens vocabulary")
        self.info = info
        self.model = info.tokenizer_model
        self.tokens: tuple[str, ...] = info.tokens
        n = len(self.tokens)
        types = list(info.token_types or (NORMAL,) * n)
        self.bos_id: int | None = info.bos_id
        self.eos_id: int | None = info.eos_id
        self.add_bos: bool = info.add_bos
        self._index = {t: i for i, t in enumerate(self.tokens)}  # a duplicated text keeps its last id
        eog = {i for i in (info.eos_id, info.eot_id, info.eom_id) if i is not None}
        found = {self._index[t] for t in EOG_TEXTS if t in self._index}
        for kind, texts in FIM_TEXTS.items():
            named = getattr(info, f"{kind}_id")
            if named is not None:
                eog.add(named)
            else:  # one text of the list (a vocabulary with two of them is not known to exist)
                hit = next((self._index[t] for t in texts if t in self._index), None)
                if hit is not None:
                    found.add(hit)
        for i in found:
            types[i] = CONTROL
        eog |= found
        # gpt-oss (o200k_harmony): <|end|> closes a message there, not the generation
        if {"<|return|>", "<|call|>", "<|end|>"} <= {self.tokens[i] for i in eog}:
            end = self._index["<|end|>"]
            eog.discard(end)
            types[end] = USER_DEFINED
        self.eog_ids: frozenset[int] = frozenset(eog)
        self.types: tuple[int, ...] = tuple(types)
        # Texts matched in the input before tokenizing. llama.cpp matches control (and unknown)
        # tokens only when asked to parse specials, user-defined ones always; longest first.
        self._control = [t for i, t in enumerate(self.tokens) if self.types[i] in (CONTROL, UNKNOWN) and t]
        self._user = [t for i, t in enumerate(self.tokens) if self.types[i] == USER_DEFINED and t]
        if self.model == "gpt2":
            self._bpe = _hf_bpe(info)
        elif self.model == "llama":
            if not info.scores:
                raise TokenizerError(f"{info.path}: SentencePiece vocabulary without tokenizer.ggml.scores")
            self._byte_ids = [self._index.get(f"<0x{b:02X}>") for b in range(256)]
        else:
            raise TokenizerError(f"{info.path}: tokenizer model {self.model!r} is not supported "
                                 "(supported: 'gpt2' byte-level BPE, 'llama' SentencePiece)")

    @classmethod
    def from_gguf(cls, src: str | os.PathLike[str] | GgufInfo) -> "GgufTokenizer":
        return cls(src if isinstance(src, GgufInfo) else read_info(src))

    def __len__(self) -> int:
        return len(self.tokens)

    # --- encoding -------------------------------------------------------------------------------

    def encode(self, text: str, *, parse_special: bool = True, add_bos: bool = False) -> list[int]:
        """Token ids of `text`. parse_special: control tokens written in the text (<|im_start|>)
        become their ids, else they are tokenized as plain text (user-defined tokens always are
        matched, as in llama.cpp). add_bos: prepend bos_id (pass `tok.add_bos` for the file's rule).
        A byte-level vocabulary may lack a token for some byte values (SmolLM2 has none for 0xF1,
        the lead byte of U+40000…U+7FFFF): such bytes are dropped, exactly as llama.cpp drops them."""
        specials = (self._control + self._user) if parse_special else self._user
        ids: list[int] = []
        if add_bos:
            if self.bos_id is None:
                raise TokenizerError(f"{self.info.path}: add_bos asked but the file names no BOS token")
            ids.append(self.bos_id)
        prev_special = True  # SentencePiece: a space prefix at the start and after each special token
        for piece, is_special in _split_specials(text, tuple(sorted(set(specials), key=len, reverse=True))):
            if is_special:
                ids.append(self._index[piece])
            elif self.model == "gpt2":
                ids += self._bpe.encode(piece, add_special_tokens=False).ids
            else:
                ids += self._spm_encode(piece, prefix=prev_special)
            prev_special = is_special
        return ids

    def _spm_encode(self, text: str, *, prefix: bool) -> list[int]:
        """SentencePiece BPE: spaces become U+2581 (one more in front of a text that starts the input
        or follows a special token when the file says add_space_prefix, llama.cpp's default for
        SPM); starting from single characters, merge the
        adjacent pair whose joined text is a token of highest score (leftmost on a tie) until none
        is; a leftover symbol that is no token is spelled with <0xXX> byte tokens."""
        if not text:
            return []
        asp = True if self.info.add_space_prefix is None else self.info.add_space_prefix
        s = ("▁" if asp and prefix else "") + text.replace(" ", "▁")
        sym = list(s)
        nxt = list(range(1, len(sym) + 1))
        prv = list(range(-1, len(sym) - 1))
        alive = [True] * len(sym)
        scores = self.info.scores
        heap: list[tuple[float, int, str, str]] = []

        def push(i: int) -> None:
            j = nxt[i]
            if j < len(sym):
                tid = self._index.get(sym[i] + sym[j])
                if tid is not None:
                    heapq.heappush(heap, (-scores[tid], i, sym[i], sym[j]))

        for i in range(len(sym) - 1):
            push(i)
        while heap:
            _, i, a, b = heapq.heappop(heap)
            j = nxt[i] if alive[i] else len(sym)
            if j >= len(sym) or sym[i] != a or sym[j] != b:
                continue  # stale: one side was merged since this pair was queued
            sym[i] = a + b
            alive[j] = False
            nxt[i] = nxt[j]
            if nxt[i] < len(sym):
                prv[nxt[i]] = i
            if prv[i] >= 0:
                push(prv[i])
            push(i)
        out: list[int] = []
        i = 0
        while i < len(sym):
            tid = self._index.get(sym[i])
            if tid is not None:
                out.append(tid)
            else:
                for byte in sym[i].encode("utf-8"):
                    bid = self._byte_ids[byte]
                    if bid is None:
                        if self.info.unk_id is None:
                            raise TokenizerError(f"{self.info.path}: byte 0x{byte:02X} has no token and "
                                                 "the vocabulary has no unknown token")
                        out.append(self.info.unk_id)
                    else:
                        out.append(bid)
            i = nxt[i]
        return out

    # --- decoding -------------------------------------------------------------------------------

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes token `token_id` stands for in text (a control token: its own text)."""
        if not 0 <= token_id < len(self.tokens):
            raise TokenizerError(f"token id {token_id} is outside the vocabulary of {len(self.tokens)}")
        t, kind = self.tokens[token_id], self.types[token_id]
        if kind in (CONTROL, USER_DEFINED, UNKNOWN, UNUSED):
            return t.encode("utf-8")
        if self.model == "gpt2":
            try:
                return bytes(_U2B[c] for c in t)
            except KeyError:  # a normal token outside the byte alphabet: take its text as is
                return t.encode("utf-8")
        if kind == BYTE and len(t) == 6 and t.startswith("<0x") and t.endswith(">"):
            return bytes([int(t[3:5], 16)])
        return t.replace("▁", " ").encode("utf-8")

    def decode_bytes(self, ids: Iterable[int], *, special: bool = True) -> bytes:
        """Concatenated token bytes; special=False drops control and unknown tokens, as llama.cpp's
        detokenizer does without `special`."""
        out = bytearray()
        for i in ids:
            if not special and self.types[i] in (CONTROL, UNKNOWN):
                continue
            out += self.token_bytes(int(i))
        return bytes(out)

    def decode(self, ids: Iterable[int], *, special: bool = True) -> str:
        """Text of `ids`; bytes that do not form UTF-8 (a cut character) become U+FFFD. A
        SentencePiece text keeps its leading space (llama.cpp's detokenizer does not strip it
        either). Checked against llama.cpp's on 300 random id lists per vocabulary."""
        return self.decode_bytes(ids, special=special).decode("utf-8", "replace")

    def is_eog(self, token_id: int) -> bool:
        return token_id in self.eog_ids


@lru_cache(maxsize=256)
def _special_re(specials: tuple[str, ...]) -> re.Pattern[str] | None:
    return re.compile("|".join(re.escape(s) for s in specials)) if specials else None


def _split_specials(text: str, specials: tuple[str, ...]) -> list[tuple[str, bool]]:
    """`text` cut into (piece, is_special) runs; the alternation is ordered longest first, so the
    longest special text at each position wins, as in llama.cpp's partition."""
    rx = _special_re(specials)
    if rx is None:
        return [(text, False)] if text else []
    out: list[tuple[str, bool]] = []
    pos = 0
    for m in rx.finditer(text):
        if m.start() > pos:
            out.append((text[pos:m.start()], False))
        out.append((m.group(0), True))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def _hf_bpe(info: GgufInfo):  # -> tokenizers.Tokenizer
    """A byte-level BPE tokenizer of the file's vocabulary and merges (no added tokens: the
    specials are split out before it is called)."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers

    pre = pre_tokenizer(info)
    if not info.merges:
        raise TokenizerError(f"{info.path}: byte-level BPE vocabulary without tokenizer.ggml.merges")
    merges: list[tuple[str, str]] = []
    for m in info.merges:
        cut = m.find(" ", 1)  # llama.cpp splits a merge at the first space after its first character
        if cut < 0:
            raise TokenizerError(f"{info.path}: merge {m!r} is not two tokens separated by a space")
        merges.append((m[:cut], m[cut + 1:]))
    vocab = {t: i for i, t in enumerate(info.tokens)}
    try:
        tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=pre.ignore_merges))
    except Exception as e:  # noqa: BLE001 - tokenizers raises a bare Exception, e.g. a merge making no token
        raise TokenizerError(f"{info.path}: byte-level BPE vocabulary and merges disagree: "
                             f"{' '.join(str(e).split())}") from None
    steps = [pre_tokenizers.Split(Regex(rx), behavior="isolated") for rx in pre.regexes]
    # then bytes -> GPT-2's printable characters, the alphabet of the vocabulary; no further split
    steps.append(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence(steps)
    return tok
