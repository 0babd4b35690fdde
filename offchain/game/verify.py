"""`opml model verify`: the checks of SPEC §6.2 that the registry leaves off chain.

A model that fails here has no honest trace (some kernel would refuse its header, or a
reference would read the wrong bytes), so agents refuse to serve or watch it. The checks work on
the committed descriptor bytes, not on the builder that made them: every descriptor against its
kernel's contract (§4.6) and the config, the input kinds, `j' < j`, the program versus the op,
every committed length (§5.1), `j_argmax`, the programs root against the committed ELFs, and the
step cap against the step estimates.
"""

from __future__ import annotations

from collections.abc import Sequence

from offchain.game.model import MAX_STEP_CAP, ModelSpec, step_cap
from offchain.llm.commit import weight_leaf_roots, weight_root
from offchain.llm.kernels.registry import MAX_MLP_WIDTHS, PROGRAM_OF, LinearMode, Op, output_region
from offchain.llm.model import ARCH_LLAMA, ARCH_MLP, IntModel, packed_mlp_bytes, weight_leaves
from offchain.merkle import tensor_root
from offchain.node.graph import PROGRAMS, Descriptor, Graph, Ref, model_commitment, programs_root

Len = tuple[int, int]  # (base, per position)
MLP_OPS = frozenset({Op.MLP_INPUT, Op.MLP_FULL, Op.LINEAR, Op.ARGMAX})
LLAMA_OPS = frozenset(Op) - {Op.MLP_INPUT, Op.MLP_FULL}
POSITIONAL = frozenset({Op.ROPE, Op.KV_APPEND, Op.SCORES, Op.SOFTMAX, Op.ATTN_VALUES})
#: Parameter words each op reads (before optional head-tile or row-tile words).
N_PARAMS = {Op.EMBED: 2, Op.RMSNORM: 2, Op.LINEAR: 5, Op.ROPE: 3, Op.KV_APPEND: 3, Op.SCORES: 4, Op.SOFTMAX: 2,
            Op.ATTN_VALUES: 4, Op.SWIGLU: 1, Op.ARGMAX: 1, Op.MLP_INPUT: 1}


class ModelInvalid(ValueError):
    """A model that `verify` refuses; the message names the node or field."""


def _head_tile(h: int, extra: tuple[int, ...], per_head: Len) -> tuple[int, Len | None]:
    """(heads in the output, the optional previous-tile input) of a head-tiled attention op."""
    if not extra:
        return h, None
    if len(extra) != 3:
        raise ModelInvalid(f"a head tile is 3 words (h0, nh, full), got {len(extra)}")
    h0, nh, full = extra
    if full > 1 or (nh and h0 + nh > h):
        raise ModelInvalid(f"head tile {h0}+{nh} (full {full}) outside {h} heads")
    full_out = (per_head[0] * h, per_head[1] * h)
    return (h if full or not nh else nh), (full_out if full else None)


def op_shape(op: Op, params: tuple[int, ...]) -> tuple[list[Len], Len | None, Len]:
    """What the kernel of `op` accepts with `params` (SPEC §4.6): the required input lengths, an
    optional last input (a tile's predecessor), and the output length."""
    need = N_PARAMS.get(op, 1)
    if len(params) < need:
        raise ModelInvalid(f"{op.name} takes at least {need} parameter words, got {len(params)}")
    p = params
    if op == Op.EMBED:
        v, d = p
        return [(4, 0), (v * d, 0), (8 * v, 0)], None, (4 * d, 0)
    if op == Op.RMSNORM:
        d, eps = p
        if not 1 <= d < 1 << 14 or eps < 1:
            raise ModelInvalid(f"rmsnorm d = {d}, eps = {eps} out of range")
        return [(4 * d, 0), (4 * d, 0)], None, (d, 0)
    if op == Op.LINEAR:
        mode, n, k, r0, nr = p[:5]
        full = p[5] if len(p) > 5 else 0
        if mode > LinearMode.MLP_LOGITS or not 1 <= k < 1 << 17 or not 1 <= nr <= 1 << 25 or r0 + nr > n or full > 1 \
                or len(p) > 6:
            raise ModelInvalid(f"linear parameters {list(p)} out of range")
        esz = 1 if mode in (LinearMode.INT8, LinearMode.MLP_RELU) else 4
        ins = [(n * k, 0), (k, 0), (8 * n, 0)]
        if mode in (LinearMode.RESIDUAL, LinearMode.MLP_RELU, LinearMode.MLP_LOGITS):
            ins.append((4 * n, 0))
        return ins, ((esz * n, 0) if full else None), (esz * (n if full else nr), 0)
    if op == Op.ROPE:
        heads, hd, s = p
        if hd % 2 or not hd:
            raise ModelInvalid(f"rope head dim {hd} is not even")
        return [(heads * hd, 0), (2 * hd * s, 0), (2 * hd * s, 0)], None, (heads * hd, 0)
    if op == Op.KV_APPEND:
        s, g, hd = p[:3]
        if len(p) > 4 or (len(p) == 4 and p[3] > 1):
            raise ModelInvalid(f"kv_append parameters {list(p)} out of range")
        return [(s * g * hd, 0), (g * hd, 0)], None, (s * g * hd, 0)
    if op in (Op.SCORES, Op.ATTN_VALUES):
        h, g, hd, s = p[:4]
        if not g or h % g or hd >= 1 << 17:
            raise ModelInvalid(f"{op.name} parameters {list(p[:4])} out of range")
        if op == Op.SCORES:
            heads, partial = _head_tile(h, p[4:], (0, 4))
            return [(h * hd, 0), (s * g * hd, 0)], partial, (0, 4 * heads)
        heads, partial = _head_tile(h, p[4:], (hd, 0))
        return [(0, 4 * h), (s * g * hd, 0), (8, 0)], partial, (heads * hd, 0)
    if op == Op.SOFTMAX:
        h, el = p[:2]
        heads, partial = _head_tile(h, p[2:], (0, 4))
        return [(0, 4 * h), (8, 0), (4 * el, 0)], partial, (0, 4 * heads)
    if op == Op.SWIGLU:
        (f,) = p
        return [(f, 0), (f, 0), (1024, 0), (8, 0)], None, (f, 0)
    if op == Op.ARGMAX:
        (n,) = p
        return [(4 * n, 0)], None, (4, 0)
    if op == Op.MLP_INPUT:
        (k,) = p
        return [(k, 0), (8, 0)], None, (k, 0)
    n, widths = p[0], p[1:]
    if not 2 <= n <= MAX_MLP_WIDTHS or len(widths) != n or not all(1 <= w < 1 << 17 for w in widths):
        raise ModelInvalid(f"mlp_full parameters {list(p)} out of range")
    return [(widths[0], 0), (packed_mlp_bytes(tuple(widths)), 0)], None, (4, 0)


def _config_params(op: Op, model: IntModel) -> dict[int, int]:
    """Parameter words the config fixes, by position (the rest are tied by the lengths)."""
    c = model.config
    if c.arch == ARCH_MLP:
        return {Op.MLP_INPUT: {0: c.dims[0]},
                Op.MLP_FULL: {0: len(c.dims), **{1 + k: w for k, w in enumerate(c.dims)}}}.get(op, {})
    return {
        Op.EMBED: {0: c.vocab_size, 1: c.dim},
        Op.RMSNORM: {0: c.dim, 1: c.norm_eps},
        Op.ROPE: {1: c.head_dim, 2: c.max_seq_len},
        Op.KV_APPEND: {0: c.max_seq_len, 1: c.n_kv_heads, 2: c.head_dim},
        Op.SCORES: {0: c.n_heads, 1: c.n_kv_heads, 2: c.head_dim, 3: c.max_seq_len},
        Op.ATTN_VALUES: {0: c.n_heads, 1: c.n_kv_heads, 2: c.head_dim, 3: c.max_seq_len},
        Op.SOFTMAX: {0: c.n_heads, 1: c.exp_len},
    }.get(op, {})


def check_descriptors(model: IntModel, descriptors: Sequence[bytes], j_argmax: int) -> Graph:
    """Every committed descriptor against its kernel, the config and the references; returns F."""
    c = model.config
    leaves = weight_leaves(c)
    mlp = c.arch == ARCH_MLP
    token_len = (c.dims[0] if mlp else 4, 0)
    if not descriptors:
        raise ModelInvalid("F has no nodes")
    descs: list[Descriptor] = []
    for j, data in enumerate(descriptors):
        try:
            d = Descriptor.decode(data, f"node {j}")
        except ValueError as e:
            raise ModelInvalid(str(e)) from None
        where = f"node {j} ({d.op.name.lower()})"
        if d.op not in (MLP_OPS if mlp else LLAMA_OPS):
            raise ModelInvalid(f"{where}: op not part of a {'MLP' if mlp else 'LLaMA'} graph")
        if d.program != PROGRAMS.index(PROGRAM_OF[d.op]):
            raise ModelInvalid(f"{where}: program id {d.program} does not run op {d.op.name}")
        if d.output_region != output_region(d.op, d.params):
            raise ModelInvalid(f"{where}: output region {d.output_region}, the op writes region "
                               f"{output_region(d.op, d.params)}")
        if d.positional != (d.op in POSITIONAL):
            raise ModelInvalid(f"{where}: positional flag {int(d.positional)} is wrong for the op")
        for k, v in _config_params(d.op, model).items():
            if k >= len(d.params) or d.params[k] != v:
                raise ModelInvalid(f"{where}: parameter word {k} must be {v} for this config")
        try:
            required, optional, out = op_shape(d.op, d.params)
        except ModelInvalid as e:
            raise ModelInvalid(f"{where}: {e}") from None
        except ValueError:
            raise ModelInvalid(f"{where}: wrong number of parameter words") from None
        if (d.out_base, d.out_per_pos) != out:
            raise ModelInvalid(f"{where}: output length {d.out_base}+{d.out_per_pos}(t+1), the kernel writes "
                               f"{out[0]}+{out[1]}(t+1)")
        shapes = required + ([optional] if optional and len(d.inputs) > len(required) else [])
        if len(d.inputs) != len(shapes):
            raise ModelInvalid(f"{where}: {len(d.inputs)} inputs, the kernel takes {len(required)}"
                               + (f" or {len(required) + 1}" if optional else ""))
        for k, (ref, shape) in enumerate(zip(d.inputs, shapes)):
            at = f"{where} input {k}"
            if ref.kind == Ref.SAME_TOKEN:
                if ref.index >= j:
                    raise ModelInvalid(f"{at}: SAME_TOKEN({ref.index}) does not point backwards")
                src = (descs[ref.index].out_base, descs[ref.index].out_per_pos)
            elif ref.kind == Ref.PREV_TOKEN:
                if ref.index >= len(descriptors):
                    raise ModelInvalid(f"{at}: PREV_TOKEN({ref.index}) is outside F")
                try:
                    prev = Descriptor.decode(descriptors[ref.index])
                except ValueError as e:
                    raise ModelInvalid(str(e)) from None
                src = (prev.out_base, prev.out_per_pos)
            elif ref.kind == Ref.WEIGHT:
                if ref.index >= len(leaves):
                    raise ModelInvalid(f"{at}: WEIGHT({ref.index}) is outside the {len(leaves)} weights")
                src = (leaves[ref.index][1], 0)
            else:
                if ref.index != 0 or k != 0 or d.op not in (Op.EMBED, Op.MLP_INPUT, Op.MLP_FULL):
                    raise ModelInvalid(f"{at}: TOKEN_IN is input 0 of the first op only")
                src = token_len
            if (ref.len_base, ref.len_per_pos) != src:
                raise ModelInvalid(f"{at}: committed length {ref.len_base}+{ref.len_per_pos}(τ+1), it points at "
                                   f"{src[0]}+{src[1]}(τ+1)")
            if src != shape:
                raise ModelInvalid(f"{at}: {src[0]}+{src[1]}(τ+1) bytes, the kernel takes {shape[0]}+{shape[1]}(τ+1)")
        descs.append(d)
    if not 0 <= j_argmax < len(descs):
        raise ModelInvalid(f"j_argmax {j_argmax} is outside F's {len(descs)} nodes")
    a = descs[j_argmax]
    classes = c.dims[-1] if mlp else c.vocab_size
    if not (a.op == Op.ARGMAX and a.params[0] == classes) and not (a.op == Op.MLP_FULL and len(descs) == 1):
        raise ModelInvalid(f"j_argmax {j_argmax} is not an argmax node over the {classes} classes")
    return Graph(tuple(descs), tuple(n for n, _ in leaves), tuple(b for _, b in leaves))


def verify(model: IntModel, descriptors: Sequence[bytes], spec: ModelSpec) -> None:
    """Everything SPEC §6.2 lists for `verify`; raises ModelInvalid with a one-line reason."""
    graph = check_descriptors(model, descriptors, spec.jArgmax)
    c = model.config
    mlp = c.arch == ARCH_MLP
    groot = tensor_root(b"".join(tensor_root(x)[0] for x in descriptors))[0]
    wroot, proot = weight_root(weight_leaf_roots(model)), programs_root()
    expect = {
        "arch": c.arch, "weightRoot": wroot, "graphRoot": groot, "programsRoot": proot,
        "commitment": model_commitment(spec.weightRoot, spec.graphRoot, spec.programsRoot),
        "nF": len(descriptors), "nWeights": len(graph.weight_names), "nPrograms": len(PROGRAMS),
        "vocab": c.dims[-1] if mlp else c.vocab_size, "context": 1 if mlp else c.max_seq_len,
        "inputBytes": c.dims[0] if mlp else 0,
    }
    if c.arch not in (ARCH_LLAMA, ARCH_MLP):
        raise ModelInvalid(f"unknown architecture {c.arch}")
    for name, want in expect.items():
        got = getattr(spec, name)
        if got != want:
            show = (lambda v: "0x" + v.hex()) if isinstance(want, bytes) else str
            raise ModelInvalid(f"spec {name} is {show(got)}, the model gives {show(want)}")
    need = step_cap(graph, model)
    if not need <= spec.stepCap <= MAX_STEP_CAP:
        raise ModelInvalid(f"step cap 2^{spec.stepCap}: the step estimates need 2^{need} (at most 2^{MAX_STEP_CAP})")
