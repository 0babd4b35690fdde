"""Chat prompts from the Jinja chat template a model file carries (`tokenizer.chat_template`).

Rendered as HF transformers renders them, so a template written for it gives the same text here:
a sandboxed, immutable Jinja environment with `trim_blocks` and `lstrip_blocks`, the loop-control
extension, a `raise_exception(msg)` helper, a `tojson` that keeps non-ASCII characters, and the
`{% generation %}…{% endgeneration %}` block (HF marks the assistant's tokens with it for training;
here it renders its body, as HF does when not asked for that mask).
`strftime_now` is deliberately absent: a prompt must not depend on the clock, since every party
of a dispute has to rebuild the same tokens (templates that use it test `is defined` first).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .gguf_tokenizer import GgufTokenizer


class ChatTemplateError(ValueError):
    """A chat template that does not compile or render; the message is one line."""


def _raise_exception(message: str) -> None:
    from jinja2.exceptions import TemplateError

    raise TemplateError(message)


def _tojson(x: Any, ensure_ascii: bool = False, indent: int | None = None,
            separators: tuple[str, str] | None = None, sort_keys: bool = False) -> str:
    # Jinja's own tojson escapes HTML characters (<, >, &, ') for safe embedding in a web page;
    # templates are not HTML, and HF's renderer writes plain JSON too.
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _generation_tag():  # -> a jinja2 Extension class (jinja2 is imported only when a template is used)
    from jinja2 import nodes
    from jinja2.ext import Extension

    class GenerationTag(Extension):
        tags = {"generation"}

        def parse(self, parser) -> list[nodes.Node]:
            next(parser.stream)
            return parser.parse_statements(("name:endgeneration",), drop_needle=True)

    return GenerationTag


@lru_cache(maxsize=16)
def _compile(template: str):  # -> jinja2.Template
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[loopcontrols, _generation_tag()])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    return env.from_string(template)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    line = getattr(e, "lineno", None)
    return f"{text} (template line {line})" if line else text


def render_chat(template: str, messages: Sequence[Mapping[str, Any]], *, add_generation_prompt: bool = True,
                bos_token: str = "", eos_token: str = "", **extra: Any) -> str:
    """The prompt text `template` makes of `messages` ([{"role": …, "content": …}, …]).

    add_generation_prompt: end with the assistant turn's opening (ChatML: "<|im_start|>assistant\\n").
    bos_token / eos_token: the texts the template may write (HF passes the tokenizer's). Extra
    keyword arguments become template variables (e.g. `tools`). Any failure to compile or render
    raises ChatTemplateError with one line.
    """
    if not isinstance(template, str) or not template:
        raise ChatTemplateError("the model has no chat template")
    for i, m in enumerate(messages):
        if not isinstance(m, Mapping) or "role" not in m:
            raise ChatTemplateError(f"message {i} is not a mapping with a 'role'")
    try:
        tpl = _compile(template)
    except Exception as e:  # noqa: BLE001 - TemplateSyntaxError, and anything the parser raises
        raise ChatTemplateError(f"chat template does not compile: {_one_line(e)}") from None
    try:
        return tpl.render(messages=[dict(m) for m in messages], add_generation_prompt=add_generation_prompt,
                          bos_token=bos_token, eos_token=eos_token, **extra)
    except Exception as e:  # noqa: BLE001 - raise_exception, undefined names, sandbox refusals, type errors
        raise ChatTemplateError(f"chat template failed to render: {_one_line(e)}") from None


def encode_chat(tok: GgufTokenizer, messages: Sequence[Mapping[str, Any]], *,
                add_generation_prompt: bool = True, template: str | None = None) -> list[int]:
    """Token ids of a chat prompt, as llama.cpp's chat front ends make them: the file's template
    (or `template`) rendered with the vocabulary's BOS/EOS texts, special tokens parsed, and BOS
    prepended when the file says add_bos, unless the rendered text already starts with it (one
    BOS, not two)."""
    tpl = template if template is not None else tok.info.chat_template
    bos = tok.tokens[tok.bos_id] if tok.bos_id is not None else ""
    eos = tok.tokens[tok.eos_id] if tok.eos_id is not None else ""
    text = render_chat(tpl or "", messages, add_generation_prompt=add_generation_prompt, bos_token=bos, eos_token=eos)
    return tok.encode(text, parse_special=True, add_bos=tok.add_bos and not (bos and text.startswith(bos)))
