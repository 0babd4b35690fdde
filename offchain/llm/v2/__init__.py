"""Integer inference spec v2 (SPEC §3v2): a LLaMA-family GGUF run in exact integers, faithful to
llama.cpp's CPU path on the same file."""

from offchain.llm.v2.model import ModelV2, load_gguf
from offchain.llm.v2.reference import FloatReference
from offchain.llm.v2.runner import RunnerV2

__all__ = ["FloatReference", "ModelV2", "RunnerV2", "load_gguf"]
