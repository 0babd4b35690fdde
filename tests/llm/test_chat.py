"""chat.render_chat: a model file's Jinja chat template rendered as HF renders it; one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from offchain.llm.chat import ChatTemplateError, encode_chat, render_chat
from offchain.llm.gguf_file import read_info
from offchain.llm.gguf_tokenizer import GgufTokenizer

from .gguf_toy import CHATML, needs_smol, smol_info, write_toy_gguf

SYS_USER = [{"role": "system", "content": "You are terse."},
            {"role": "user", "content": "What is the capital of France?"}]


def error_of(template: str, messages=SYS_USER, **kw) -> str:
    with pytest.raises(ChatTemplateError) as e:
        render_chat(template, messages, **kw)
    assert "\n" not in str(e.value)
    return str(e.value)


def test_chatml_from_a_toy_file(tmp_path: Path) -> None:
    info = read_info(write_toy_gguf(tmp_path / "t.gguf"))
    assert info.chat_template == CHATML
    text = render_chat(info.chat_template, SYS_USER)
    assert text == ("<|im_start|>system\nYou are terse.<|im_end|>\n"
                    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n")
    assert render_chat(info.chat_template, SYS_USER, add_generation_prompt=False).endswith("France?<|im_end|>\n")
    # the rendered specials are single tokens of the file's vocabulary
    ids = GgufTokenizer.from_gguf(info).encode(text)
    assert ids[0] == 1 and ids.count(1) == 3 and ids.count(2) == 2


def test_hf_environment() -> None:
    # trim_blocks drops the newline after a block tag, lstrip_blocks the indent before one
    tpl = "{% for m in messages %}\n    {% if m.role == 'user' %}\n[{{ m.content }}]\n    {% endif %}\n{% endfor %}"
    assert render_chat(tpl, SYS_USER) == "[What is the capital of France?]\n"
    # loop controls, bos/eos texts, extra variables, and a tojson that keeps non-ASCII as is
    tpl = ("{{ bos_token }}{% for m in messages %}{% if loop.first %}{% continue %}{% endif %}{{ m.content }}"
           "{% endfor %}{{ eos_token }}{{ tools | tojson }}")
    out = render_chat(tpl, SYS_USER, bos_token="<s>", eos_token="</s>", tools=[{"name": "café<>"}])
    assert out == '<s>What is the capital of France?</s>[{"name": "café<>"}]'
    # HF's {% generation %} block renders its body
    tpl = "{% for m in messages %}{% generation %}<{{ m.role }}>{% endgeneration %}{% endfor %}"
    assert render_chat(tpl, SYS_USER) == "<system><user>"


def test_errors_are_one_line() -> None:
    assert "does not compile" in error_of("{% if %}")
    assert "failed to render: only user and assistant roles" in error_of(
        "{% if messages[0].role == 'system' %}{{ raise_exception('only user and assistant\nroles') }}{% endif %}")
    assert "'nope' is undefined" in error_of("{{ nope() }}")
    assert "failed to render" in error_of("{{ messages[0].content + 1 }}")
    assert "failed to render" in error_of("{{ messages.append(1) }}")  # immutable sandbox: no mutation
    assert "no chat template" in error_of("")
    assert "message 0 is not a mapping with a 'role'" in error_of(CHATML, messages=["hi"])


def test_encode_chat_one_bos(tmp_path: Path) -> None:
    spm = GgufTokenizer.from_gguf(write_toy_gguf(tmp_path / "spm.gguf", tokenizer="llama"))
    assert spm.add_bos  # SentencePiece files add BOS: the prompt starts with exactly one
    ids = encode_chat(spm, SYS_USER[1:], template="{{ messages[0].content }}")
    assert ids[0] == spm.bos_id and ids.count(spm.bos_id) == 1
    # a template that writes the BOS text itself does not get a second
    ids = encode_chat(spm, SYS_USER[1:], template="{{ bos_token }}{{ messages[0].content }}")
    assert ids[0] == spm.bos_id and ids.count(spm.bos_id) == 1
    bpe = GgufTokenizer.from_gguf(write_toy_gguf(tmp_path / "bpe.gguf"))
    assert encode_chat(bpe, SYS_USER)[:2] == [1, 3 + ord("s")]  # <|im_start|> then the byte "s" of "system"
    with pytest.raises(ChatTemplateError, match="no chat template"):
        encode_chat(GgufTokenizer.from_gguf(write_toy_gguf(tmp_path / "none.gguf", chat_template=None)), SYS_USER)


def test_no_clock() -> None:
    # a prompt must not depend on when it is rendered: strftime_now is not there
    assert render_chat("{% if strftime_now is defined %}clock{% else %}fixed{% endif %}", SYS_USER) == "fixed"


@needs_smol
def test_smollm2_template() -> None:
    info = smol_info()
    text = render_chat(info.chat_template, SYS_USER)
    assert text == ("<|im_start|>system\nYou are terse.<|im_end|>\n"
                    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n")
    # without a system message the template writes its own
    alone = render_chat(info.chat_template, SYS_USER[1:])
    assert alone.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by "
                            "Hugging Face<|im_end|>\n<|im_start|>user\n")
    # and the prompt's ids are llama.cpp's for the same text (test_gguf_tokenizer's SMOL_IDS)
    prompt = render_chat(info.chat_template, [{"role": "user", "content": "What is 2+2?"}])
    tok = GgufTokenizer.from_gguf(info)
    assert encode_chat(tok, [{"role": "user", "content": "What is 2+2?"}]) == tok.encode(prompt)
    assert tok.encode(prompt) == [
        1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018, 411, 407, 19712, 8182, 2,
        198, 1, 4093, 198, 1780, 314, 216, 34, 27, 34, 47, 2, 198, 1, 520, 9531, 198]
