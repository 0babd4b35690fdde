"""GgufTokenizer: the ids llama.cpp gives for the same file.

Every expected id list here was produced once by llama.cpp (llama-cpp-python 0.3.36,
`Llama(model_path, vocab_only=True).tokenize(text.encode(), add_bos=False, special=…)`) on the same
files: the toy GGUFs of gguf_toy.py and SmolLM2-135M-Instruct.Q4_1.gguf. At that time 53 chosen
strings and 400 random ones agreed in full with both special=True and special=False, 500 random
ones on the toy files, and 400 on SmolLM2's vocabulary under each of the pre-tokenizers "default"
(and none), "gpt-2", "smollm", "llama-bpe", "dbrx", "qwen2" and "falcon".
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from offchain.llm.gguf_file import GgufError, GgufInfo, read_info
from offchain.llm.gguf_tokenizer import _B2U, GgufTokenizer, TokenizerError

from .gguf_toy import needs_smol, smol_info, write_toy_gguf


@pytest.fixture(scope="module")
def toy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("toytok")


@pytest.fixture(scope="module")
def bpe(toy_dir: Path) -> GgufTokenizer:
    return GgufTokenizer.from_gguf(write_toy_gguf(toy_dir / "bpe.gguf"))


@pytest.fixture(scope="module")
def spm(toy_dir: Path) -> GgufTokenizer:
    return GgufTokenizer.from_gguf(write_toy_gguf(toy_dir / "spm.gguf", tokenizer="llama"))


@pytest.fixture(scope="module")
def smol() -> GgufTokenizer:
    return GgufTokenizer.from_gguf(smol_info())


# (text, ids with parse_special, ids without) from llama.cpp on the toy byte-level BPE file
TOY_BPE = [
    ("hello world", [262, 266], None),
    ("hello  world 12", [262, 35, 266, 35, 52, 53], None),  # "smollm" splits digits: merge "1 2" never applies
    ("<|im_start|>hi<|im_end|>", [1, 107, 108, 2],
     [63, 127, 108, 112, 98, 118, 119, 100, 117, 119, 127, 65, 107, 108,
      63, 127, 108, 112, 98, 104, 113, 103, 127, 65]),
    ("é hello", [198, 172, 35, 262], None),
    ("world<s>hello", [122, 264, 111, 103, 63, 118, 65, 262], None),
    ("hellohello", [262, 262], None),
    ("  ", [269], None),
    ("东", [231, 187, 159], None),
    ("wor ld", [122, 264, 35, 111, 103], None),
]

# the same from llama.cpp on the toy SentencePiece file (add_space_prefix: llama.cpp's default)
TOY_SPM = [
    ("hello world", [271, 276], None),
    ("hello  world 12", [271, 259, 276, 259, 52, 53], None),
    ("é hello", [259, 277, 271], None),
    ("world<s>hello", [276, 1, 271], [276, 63, 118, 65, 270]),  # a space prefix after a special
    ("hello<s>world", [271, 1, 276], [271, 63, 118, 65, 264, 272, 275]),
    ("ééé", [259, 277, 277, 277], None),
    ("hellohello", [271, 270], None),
    ("  ", [259, 259, 259], None),
    ("东", [259, 231, 187, 159], None),  # no piece: three byte pieces
    ("wor ld", [274, 259, 275], None),
]


@pytest.mark.parametrize("text,special,plain", TOY_BPE)
def test_toy_bpe_matches_llama_cpp(bpe: GgufTokenizer, text: str, special: list[int], plain: list[int] | None) -> None:
    assert bpe.encode(text) == special
    assert bpe.encode(text, parse_special=False) == (special if plain is None else plain)
    assert bpe.decode(special) == text


@pytest.mark.parametrize("text,special,plain", TOY_SPM)
def test_toy_spm_matches_llama_cpp(spm: GgufTokenizer, text: str, special: list[int], plain: list[int] | None) -> None:
    assert spm.encode(text) == special
    assert spm.encode(text, parse_special=False) == (special if plain is None else plain)
    assert spm.decode(special) == " " + text.replace("<s>", "<s> ")  # the space prefixes stay in the text


def test_pre_tokenizer_comes_from_the_file(toy_dir: Path) -> None:
    gpt2 = GgufTokenizer.from_gguf(write_toy_gguf(toy_dir / "gpt2.gguf", pre="gpt-2"))
    assert gpt2.encode("12") == [268]  # plain GPT-2 keeps digit runs together, so merge "1 2" applies
    none = GgufTokenizer.from_gguf(write_toy_gguf(toy_dir / "nopre.gguf", pre=None))
    assert none.encode("12") == [268]
    # llama.cpp's names: "gpt2" is not one of them (llama.cpp refuses such a file too)
    with pytest.raises(TokenizerError, match="pre-tokenizer 'gpt2' is not supported") as e:
        GgufTokenizer.from_gguf(write_toy_gguf(toy_dir / "qwen.gguf", pre="gpt2"))
    assert "\n" not in str(e.value)
    assert isinstance(e.value, GgufError)  # callers catch one error class for any bad file


def test_special_ids(bpe: GgufTokenizer, spm: GgufTokenizer) -> None:
    assert (bpe.bos_id, bpe.eos_id, bpe.add_bos) == (1, 2, False)
    assert bpe.eog_ids == {0, 2}  # eos (<|im_end|>) and <|endoftext|>, as llama.cpp marks them
    assert bpe.is_eog(2) and not bpe.is_eog(1)
    assert bpe.encode("hi", add_bos=True)[0] == 1
    assert (spm.bos_id, spm.eos_id, spm.add_bos) == (1, 2, True)  # SentencePiece adds BOS by default
    assert spm.eog_ids == {2}


def with_texts(tok: GgufTokenizer, **texts: str) -> GgufInfo:
    """tok's file with token ids renamed: {"t272": "<|file_sep|>"} (normal tokens, as in a sloppy file)."""
    tokens = list(tok.tokens)
    for k, v in texts.items():
        tokens[int(k[1:])] = v
    return dataclasses.replace(tok.info, tokens=tuple(tokens))


def test_end_of_generation_by_text(bpe: GgufTokenizer) -> None:
    t = GgufTokenizer(with_texts(bpe, t272="<|file_sep|>", t271="<end_of_turn>"))
    assert t.eog_ids == {0, 2, 271, 272}
    # found by text, they become control tokens: parsed from text, dropped by decode(special=False)
    assert t.encode("<end_of_turn>hi") == [271, 107, 108] and t.decode([271, 107], special=False) == "h"
    # a file that names its FIM separator is taken at its word
    t = GgufTokenizer(dataclasses.replace(with_texts(bpe, t272="<|file_sep|>"), fim_sep_id=5))
    assert t.eog_ids == {0, 2, 5}
    # gpt-oss: with <|return|> and <|call|> present, <|end|> ends a message, not the generation
    t = GgufTokenizer(with_texts(bpe, t270="<|return|>", t271="<|call|>", t272="<|end|>"))
    assert t.eog_ids == {0, 2, 270, 271}
    assert t.encode("<|end|>", parse_special=False) == [272]  # user-defined: matched even so


def test_merges_without_their_token(bpe: GgufTokenizer) -> None:
    with pytest.raises(TokenizerError, match="vocabulary and merges disagree: .*Ġworl") as e:
        GgufTokenizer(with_texts(bpe, t267="renamed"))  # "Ġwor l" makes Ġworl, now missing
    assert "\n" not in str(e.value)


def test_token_bytes_and_decode(bpe: GgufTokenizer) -> None:
    ids = bpe.encode("<|im_start|>é")
    assert [bpe.token_bytes(i) for i in ids] == [b"<|im_start|>", b"\xc3", b"\xa9"]
    assert bpe.decode(ids, special=False) == "é"
    assert bpe.decode(ids[:2]) == "<|im_start|>\ufffd"  # half a character: a replacement mark
    with pytest.raises(TokenizerError, match="token id 9999 is outside the vocabulary"):
        bpe.token_bytes(9999)


def test_spm_decode(spm: GgufTokenizer) -> None:
    # as llama.cpp's detokenizer: byte pieces are bytes, U+2581 a space, and without `special`
    # the control and unknown tokens give nothing
    ids = [1, 0, 271, 277, 231, 187, 159]  # <s> <unk> ▁hello é <0xE4> <0xB8> <0x9C>
    assert spm.decode(ids) == "<s><unk> helloé东"
    assert spm.decode(ids, special=False) == " helloé东"


def test_unsupported_tokenizer_model(toy_dir: Path) -> None:
    info = read_info(write_toy_gguf(toy_dir / "bert.gguf"))
    with pytest.raises(TokenizerError, match="tokenizer model 'bert' is not supported"):
        GgufTokenizer(dataclasses.replace(info, tokenizer_model="bert"))
    with pytest.raises(TokenizerError, match="has no tokenizer.ggml.tokens"):
        GgufTokenizer(dataclasses.replace(info, tokens=()))


# SmolLM2: (text, ids with parse_special, ids without or None when equal), from llama.cpp
SMOL_IDS = [
    ("What is the capital of France?", [1780, 314, 260, 3575, 282, 4649, 47], None),
    ("1,000,000 dollars", [33, 28, 32, 32, 32, 28, 32, 32, 32, 8358], None),
    ("naïve café", [3546, 46494, 37366], None),
    ("  two spaces", [216, 827, 5600], None),
    ("\ttab\tseparated", [197, 15999, 197, 19509, 483], None),
    ("can't won't", [4055, 982, 3763, 982], None),
    ("東京タワー", [30679, 126, 16736, 122, 10391, 140, 11100, 124, 35130], None),
    ("🙂🙃 emoji", [10813, 38887, 10813, 243, 221, 649, 33777], None),
    ("def f(x):\n    return x * 2\n", [1604, 275, 24, 104, 727, 472, 1003, 1792, 1672, 216, 34, 198], None),
    ("<|im_start|>user\nhi<|im_end|>\n", [1, 4093, 198, 6004, 2, 198],
     [44, 108, 306, 79, 3738, 108, 46, 4093, 198, 6004, 44, 108, 306, 79, 486, 108, 46, 198]),
    ("text<|endoftext|>more", [2692, 0, 3143], [2692, 44, 108, 486, 1714, 2692, 108, 46, 3143]),
    ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
     "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
     [1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018, 411, 407, 19712, 8182, 2,
      198, 1, 4093, 198, 1780, 314, 216, 34, 27, 34, 47, 2, 198, 1, 520, 9531, 198], ...),
    # bytes with no token in the vocabulary (0xF1 leads U+40000..U+7FFFF) are dropped, by llama.cpp too
    ("\U00040000", [218, 218, 218], None),
    ("a\U00040000b", [81, 218, 218, 218, 82], None),
]


@needs_smol
@pytest.mark.parametrize("text,special,plain", SMOL_IDS)
def test_smollm2_matches_llama_cpp(smol: GgufTokenizer, text: str, special: list[int], plain: list[int] | None) -> None:
    assert smol.encode(text) == special
    if plain is not ...:  # ...: not recorded
        assert smol.encode(text, parse_special=False) == (special if plain is None else plain)


@needs_smol
def test_smollm2_specials(smol: GgufTokenizer) -> None:
    assert (smol.bos_id, smol.eos_id, smol.add_bos) == (1, 2, False)
    assert [smol.tokens[i] for i in (0, 1, 2)] == ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    # llama.cpp's llama_vocab_is_eog is true for exactly these: <|endoftext|>, <|im_end|> (eos) and
    # <reponame>, which llama.cpp takes for the fill-in-the-middle repo token
    assert smol.eog_ids == {0, 2, 4}
    assert len(smol) == 49152


ROUND_TRIPS = ["", " ", "a", "Hello, world!", "  leading and trailing  ", "\n\n\t \r\n", "x" * 300, "0123456789" * 3,
               "3.14159 2,718 -42 1e-9", "Grüße aus Köln — “quotes” ‘single’", "Привет, мир",
               "中文和日本語と한국어", "🙂👍🏽👨‍👩‍👧", "\u00a0\u2009\u200b", "<|im_start|><|im_end|><|endoftext|>",
               "<|im_start", "<<|im_end|>>",
               "$ echo 'hi' | tr a-z A-Z && ls -la ~/", "ﬁﬂ ligatures", "e\u0301 (combining)"]


@needs_smol
@pytest.mark.parametrize("text", ROUND_TRIPS)
def test_smollm2_round_trip(smol: GgufTokenizer, text: str) -> None:
    for parse_special in (True, False):
        ids = smol.encode(text, parse_special=parse_special)
        assert smol.decode(ids) == text
        assert b"".join(smol.token_bytes(i) for i in ids) == text.encode("utf-8")


@needs_smol
@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40))
def test_smollm2_round_trip_any_text(smol: GgufTokenizer, text: str) -> None:
    # SmolLM2's vocabulary has no token for 21 byte values (a few C0 controls, 0xC0, 0xC1, 0xF1-0xFF):
    # text using them cannot come back, in llama.cpp either (see SMOL_IDS)
    assume(all(_B2U[b] in smol._index for b in text.encode("utf-8")))
    assert smol.decode(smol.encode(text)) == text


# One string, SmolLM2's vocabulary under six pre-tokenizer names: llama.cpp's ids (same run as above,
# on GGUFs holding SmolLM2's tokens and merges with tokenizer.ggml.pre changed). Its runs of spaces,
# superscript digit, accent, digits and contraction are cut differently by each.
PRE_TEXT = "   \xb2}e\u0301d(3?<|im_end|>8'lla0{_.#?4"  # \xb2: superscript two; e + combining acute
PRE_IDS = {
    "default": [256, 216, 19133, 109, 85, 151, 219, 84, 24, 35, 47, 2, 40, 23, 20309, 32, 107, 23626, 19, 47, 36],
    "gpt-2": [256, 3351, 127, 109, 85, 151, 219, 84, 24, 35, 47, 2, 40, 3060, 81, 32, 107, 23626, 19, 47, 36],
    "smollm": [333, 19133, 109, 85, 151, 219, 84, 24, 35, 47, 2, 40, 3060, 81, 32, 107, 23626, 19, 47, 36],
    "llama-bpe": [256, 216, 19133, 109, 85, 151, 219, 84, 24, 35, 47, 2, 40, 3060, 81, 32, 107, 23626, 19, 47, 36],
    "falcon": [256, 3351, 127, 109, 85, 151, 219, 84, 24, 35, 47, 2, 40, 23, 20309, 32, 107, 23626, 19, 47, 36],
    "qwen2": [256, 216, 19133, 109, 85, 151, 219, 84, 24, 35, 47, 2, 40, 3060, 81, 32, 107, 23626, 19, 47, 36],
}


@needs_smol
@pytest.mark.parametrize("pre", sorted(PRE_IDS))
def test_pre_tokenizers_match_llama_cpp(pre: str) -> None:
    tok = GgufTokenizer(dataclasses.replace(smol_info(), tokenizer_pre=pre))
    assert tok.encode(PRE_TEXT) == PRE_IDS[pre]


@needs_smol
def test_no_pre_tokenizer_is_default() -> None:
    tok = GgufTokenizer(dataclasses.replace(smol_info(), tokenizer_pre=None))
    assert tok.encode(PRE_TEXT) == PRE_IDS["default"]
