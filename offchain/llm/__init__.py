"""Integer-only quantized LLaMA (and MLP): ops, model format and commitment, converters, runner (SPEC §3)."""
