"""Graph F of a spec v2 model (SPEC §5.5): the per-token nodes of §3v2.3 as v2 kernel runs.

The descriptors are v1's format (§5.1) with the v2 op ids (§4.7) and program ids indexing the v2
kernels in sorted order (`PROGRAMS_V2`), so NodeLink derives a v2 node's start state exactly as a
v1 node's. F is a pure function of the file's config, its weight types and the step budget: the
nodes are the v2 trace's, in its order and with its names, tiles included (both read
`offchain.llm.v2.tiles.plan`). `verify_v2` therefore checks a committed F by rebuilding it.

Weight-tree leaves (§3v2.6): 0 the config, 1 … n the file's tensors in canonical order, then
`rope_cos`, `rope_sin`, `exp2`.
"""

from __future__ import annotations

from functools import cache

import gguf
import numpy as np

from offchain.llm.kernels.registry_v2 import (
    EXP2_ENTRIES,
    GGML_TYPE,
    PROGRAM_OF_V2,
    LinearModeV2,
    OpV2,
    output_region_v2,
)
from offchain.llm.ops import canonical_bytes
from offchain.llm.v2 import tiles
from offchain.llm.v2.commit import canonical_tensors, config_words
from offchain.llm.v2.model import ModelV2
from offchain.merkle import tensor_root
from offchain.node.graph import Descriptor, Graph, InputRef, Ref

#: Program ids of a v2 F index the v2 kernels in sorted order; the v2 programs root commits to them.
PROGRAMS_V2: tuple[str, ...] = tuple(sorted(PROGRAM_OF_V2.values()))
TABLES = ("rope_cos", "rope_sin", "exp2")
POSITIONAL_V2 = frozenset({OpV2.ROPE, OpV2.ATTENTION, OpV2.KV_APPEND, OpV2.SAMPLE})


def program_id(op: OpV2) -> int:
    return PROGRAMS_V2.index(PROGRAM_OF_V2[op])


def weight_leaves_v2(model: ModelV2) -> list[tuple[str, int]]:
    """(name, byte length) of every weight-tree leaf, in tree order."""
    c = model.shape
    names = canonical_tensors(c, c.tied)
    reader = _tensors(model)
    sizes = [int(reader[n].n_bytes) for n in names]
    half = c.head_dim // 2
    return ([("config", 4 * (14 + len(names)))] + list(zip(names, sizes))
            + [("rope_cos", 4 * c.max_seq_len * half), ("rope_sin", 4 * c.max_seq_len * half),
               ("exp2", 4 * EXP2_ENTRIES)])


@cache
def _reader(path: str) -> dict[str, gguf.ReaderTensor]:
    return {t.name: t for t in gguf.GGUFReader(path).tensors}


def _tensors(model: ModelV2) -> dict[str, gguf.ReaderTensor]:
    """The file's tensors: the ones load_gguf kept, else a fresh read (a GGUF's header takes seconds)."""
    return model.tensors or _reader(str(model.path))


def _tensor_bytes(model: ModelV2, name: str) -> bytes:
    """A tensor's bytes exactly as in the file (the leaf the v2 commitment hashes)."""
    t = _tensors(model)[name]
    return np.ascontiguousarray(t.data).view(np.uint8).tobytes()


def leaf_bytes_v2(model: ModelV2, name: str) -> bytes:
    """The bytes of weight leaf `name` (what a WEIGHT reference feeds a kernel)."""
    if name == "config":
        c = model.shape
        names = canonical_tensors(c, c.tied)
        types = [int(_tensors(model)[n].tensor_type) for n in names]
        return canonical_bytes(config_words(c, c.tied, types))
    if name == "rope_cos":
        return canonical_bytes(model.rope_cos)
    if name == "rope_sin":
        return canonical_bytes(model.rope_sin)
    if name == "exp2":
        return canonical_bytes(model.exp2.astype(np.int32))
    return _tensor_bytes(model, name)


def build_graph_v2(model: ModelV2, max_steps: int | None = tiles.DEFAULT_MAX_STEPS) -> Graph:
    """F of a v2 model: the nodes of one position in the trace's order (SPEC §3v2.3, §5.5)."""
    c = model.shape
    for w in model.mats.values():
        if w.kind not in GGML_TYPE:
            raise ValueError(f"{w.name}: the v2 kernels do not read {w.kind} weights yet "
                             f"(they read {', '.join(GGML_TYPE)}), so this model cannot be disputed")
    leaves = weight_leaves_v2(model)
    names = tuple(n for n, _ in leaves)
    sizes = tuple(b for _, b in leaves)
    widx = {n: i for i, n in enumerate(names)}
    plan = tiles.plan(tiles.shape_of(model), max_steps)
    nodes: list[Descriptor] = []
    d, f, H, G, hd, S, V = c.dim, c.hidden_dim, c.n_heads, c.n_kv_heads, c.head_dim, c.max_seq_len, c.vocab_size
    em, ee = model.eps

    def same(name: str) -> InputRef:
        j = next(j for j in range(len(nodes) - 1, -1, -1) if nodes[j].name == name)
        return InputRef(Ref.SAME_TOKEN, j, nodes[j].out_base, nodes[j].out_per_pos)

    def weight(name: str) -> InputRef:
        return InputRef(Ref.WEIGHT, widx[name], sizes[widx[name]])

    def add(name: str, op: OpV2, params: tuple[int, ...], ins: list[InputRef], out_base: int,
            out_per_pos: int = 0, prefix: tuple[int, int] = (0, 0)) -> None:
        nodes.append(Descriptor(name, op, tuple(p & 0xFFFFFFFF for p in params), tuple(ins), out_base, out_per_pos,
                                positional=op in POSITIONAL_V2, prefix=prefix, region=output_region_v2(op),
                                program_id=program_id(op)))

    def mat_key(key: str) -> str:
        return "token_embd.weight" if key == "output" and c.tied else f"{key}.weight"

    def linear(name: str, key: str, x: str, mode: LinearModeV2, residual: str | None = None) -> None:
        w = model.mats[key]
        n, k, ty = w.n, w.k, GGML_TYPE[w.kind]
        esz = 8 if mode == LinearModeV2.RESIDUAL else 4
        ins = [weight(mat_key(key)), same(x)] + ([same(residual)] if residual else [])
        ranges = plan.get(name)
        if not ranges:
            add(name, OpV2.LINEAR, (int(mode), ty, n, k, 0, n), ins, esz * n)
            return
        for t_idx, (r0, nr) in enumerate(ranges):
            last = t_idx == len(ranges) - 1
            chain = [InputRef(Ref.SAME_TOKEN, len(nodes) - 1, esz * n)] if t_idx else []
            add(name if last else f"{name}[{t_idx}]", OpV2.LINEAR, (int(mode), ty, n, k, r0, nr, 1), ins + chain,
                esz * n, prefix=(esz * (r0 + nr), 0))

    def norm(name: str, h: str, gain: str) -> None:
        add(name, OpV2.RMSNORM, (d, em, ee, 1), [same(h), weight(gain)], 4 * d)

    add("embed", OpV2.EMBED, (GGML_TYPE[model.mats["token_embd"].kind], V, d),
        [InputRef(Ref.TOKEN_IN, 0, 4), weight("token_embd.weight")], 8 * d)
    h = "embed"
    for layer in range(c.n_layers):
        p = f"blk.{layer}."
        norm(p + "attn_norm", h, p + "attn_norm.weight")
        for x in ("q", "k", "v"):
            linear(p + x, p + f"attn_{x}", p + "attn_norm", LinearModeV2.ACT)
        for x, heads in (("q", H), ("k", G)):
            add(p + f"{x}_rope", OpV2.ROPE, (heads, hd, S), [same(p + x), weight("rope_cos"), weight("rope_sin")],
                4 * heads * hd)
        row = 4 * G * hd
        for cache_name, src in (("k_cache", "k_rope"), ("v_cache", "v")):
            # The cache one position earlier is this node's own output at t − 1 (one zero row at t = 0).
            add(p + cache_name, OpV2.KV_APPEND, (S, G, hd), [InputRef(Ref.PREV_TOKEN, len(nodes), 0, row), same(p + src)],
                0, row)
        ins = [same(p + "q_rope"), same(p + "k_cache"), same(p + "v_cache"), weight("exp2")]
        ranges = plan.get(p + "attn")
        if not ranges:
            add(p + "attn", OpV2.ATTENTION, (H, G, hd, S), ins, 4 * H * hd)
        else:
            for t_idx, (h0, nh) in enumerate(ranges):
                last = t_idx == len(ranges) - 1
                chain = [InputRef(Ref.SAME_TOKEN, len(nodes) - 1, 4 * H * hd)] if t_idx else []
                add(p + "attn" if last else f"{p}attn[{t_idx}]", OpV2.ATTENTION, (H, G, hd, S, h0, nh, 1), ins + chain,
                    4 * H * hd, prefix=(4 * hd * (h0 + nh), 0))
        linear(p + "attn_residual", p + "attn_output", p + "attn", LinearModeV2.RESIDUAL, h)
        h = p + "attn_residual"
        norm(p + "ffn_norm", h, p + "ffn_norm.weight")
        linear(p + "gate", p + "ffn_gate", p + "ffn_norm", LinearModeV2.ACT)
        linear(p + "up", p + "ffn_up", p + "ffn_norm", LinearModeV2.ACT)
        add(p + "swiglu", OpV2.SWIGLU, (f,), [same(p + "gate"), same(p + "up"), weight("exp2")], 4 * f)
        linear(p + "ffn_residual", p + "ffn_down", p + "swiglu", LinearModeV2.RESIDUAL, h)
        h = p + "ffn_residual"
    norm("norm", h, "output_norm.weight")
    linear("logits", "output", "norm", LinearModeV2.ACT)
    # Greedy: the task's sampling parameters are not yet part of F's inputs (SPEC §5.5).
    add("token", OpV2.SAMPLE, (V, 0, 1000, 0, 0), [same("logits"), weight("exp2")], 4)
    return Graph(tuple(nodes), names, sizes)


def estimate_steps_v2(d: Descriptor, c: "object") -> int:
    """Upper estimate of a v2 node's VM steps at the model's longest context (`tiles`' figures)."""
    p, op = d.params, d.op
    shape = c  # a LlamaShape
    if op == OpV2.LINEAR:
        kind = next(k for k, v in GGML_TYPE.items() if v == p[1])
        esz = 8 if p[0] == LinearModeV2.RESIDUAL else 4
        return tiles.linear(kind, p[5], p[3], p[2], esz, len(d.inputs) > (3 if p[0] == LinearModeV2.RESIDUAL else 2))
    if op == OpV2.ATTENTION:
        nh = p[5] if len(p) > 4 else p[0]
        return tiles.attention(nh, shape.max_seq_len, p[2], p[0])  # type: ignore[attr-defined]
    if op == OpV2.RMSNORM:
        return tiles.rmsnorm(p[0])
    if op == OpV2.SWIGLU:
        return tiles.swiglu(p[0])
    if op == OpV2.ROPE:
        return tiles.rope(p[0], p[1])
    if op == OpV2.EMBED:
        return tiles.embed(p[2])
    if op == OpV2.KV_APPEND:
        return tiles.kv_append(p[1] * p[2])
    if op == OpV2.SAMPLE:
        return tiles.sample(p[0], greedy=p[1] == 0)
    raise ValueError(f"no step estimate for op {op}")


def programs_root_v2() -> bytes:
    """The v2 programs root (SPEC §5.3 over PROGRAMS_V2): each kernel's (region-0 root, entry)."""
    from offchain.llm.kernels import program

    leaves = [tensor_root(program(n).region0_root + program(n).entry.to_bytes(4, "big"))[0] for n in PROGRAMS_V2]
    return tensor_root(b"".join(leaves))[0]
