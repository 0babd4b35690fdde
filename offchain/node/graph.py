"""The per-token forward graph F of a model, its commitment, and node resolution (SPEC §5).

A descriptor says, with no values: which kernel runs the node, its parameter words, how long its
output is at position t, and where each input comes from. From F, the model's weights, the prompt
and the outputs of earlier nodes, anyone can rebuild any node's header and input bytes, which is
what the contract does (with roots instead of bytes) to derive a node's VM start state.

Global node i of a task is node j = i mod n_f of F at position t = i div n_f (SPEC §5.2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

import numpy as np

from offchain.llm import ops
from offchain.llm.commit import leaf_bytes
from offchain.llm.kernels.registry import PROGRAM_OF, LinearMode, Node, Op, output_region
from offchain.llm.kernels.registry_v2 import OpV2
from offchain.llm.model import ARCH_LLAMA, ARCH_MLP, PACKED_MLP, Config, IntModel, weight_leaves
from offchain.merkle import tensor_root
from offchain.merkle.batch import tree_root
from offchain.node.layout import MAX_INPUTS, MAX_PARAMS, OUTPUT_REGION, Header
from offchain.protocol import DESC_FIXED_WORDS, REF_PREV_TOKEN, REF_SAME_TOKEN, REF_TOKEN_IN, REF_WEIGHT

#: The default step budget per node: a 7B-shaped model's matmuls are split into row tiles that each
#: stay at or below it (docs/SPEC.md §5.4, "Node size").
DEFAULT_MAX_STEPS = 1 << 22
#: A conservative upper bound on the linear kernel's steps for nr rows of K terms, fitted above
#: measured runs (3.7-3.9 steps per multiply-accumulate plus per-row and fixed overhead).
LINEAR_STEPS_PER_MAC, LINEAR_STEPS_PER_ROW, LINEAR_STEPS_FIXED = 4, 80, 2000


def linear_steps(rows: int, k: int) -> int:
    """Upper estimate of the linear kernel's VM steps for `rows` output rows of `k` terms."""
    return LINEAR_STEPS_PER_MAC * rows * k + LINEAR_STEPS_PER_ROW * rows + LINEAR_STEPS_FIXED


#: Upper estimates for the attention kernels, per head tile at context T (fitted above measured
#: runs: scores 3.7-4.0, attn_values 4.6-4.8 steps per multiply-accumulate, plus copying the
#: previous tile's output and fixed overhead).
SCORES_STEPS_PER_MAC, ATTN_STEPS_PER_MAC, ATTN_STEPS_FIXED = 4.5, 5.5, 4000


def scores_steps(heads: int, t_len: int, hd: int, h_all: int) -> int:
    return int(SCORES_STEPS_PER_MAC * heads * t_len * hd) + 4 * h_all * t_len + ATTN_STEPS_FIXED


#: The softmax kernel: ~90-115 steps per score element (requant, table lookup, one division).
SOFTMAX_STEPS_PER_ELEMENT = 120


def softmax_steps(heads: int, t_len: int, h_all: int, table_len: int) -> int:
    # The kernel checks the whole exp table (~7 steps an entry) before anything else.
    return SOFTMAX_STEPS_PER_ELEMENT * heads * t_len + 4 * h_all * t_len + 8 * table_len + ATTN_STEPS_FIXED


def attn_values_steps(heads: int, t_len: int, hd: int, h_all: int) -> int:
    return int(ATTN_STEPS_PER_MAC * heads * t_len * hd) + h_all * hd + ATTN_STEPS_FIXED


def tile_heads(h_all: int, cost: Callable[[int], int], max_steps: int | None) -> int:
    """Heads per tile so that a tile's estimated steps (at the longest context) stay in budget."""
    if max_steps is None or cost(h_all) <= max_steps:
        return h_all
    heads = h_all
    while heads > 1 and cost(heads) > max_steps:
        heads -= 1
    return heads


def tile_rows(n: int, k: int, max_steps: int | None) -> int:
    """Rows per tile so that a tile's estimated steps stay within `max_steps` (a multiple of 4,
    the kernel's row unrolling, unless the whole product fits)."""
    if max_steps is None or linear_steps(n, k) <= max_steps:
        return n
    rows = (max_steps - LINEAR_STEPS_FIXED) // (LINEAR_STEPS_PER_MAC * k + LINEAR_STEPS_PER_ROW)
    return max(4, rows - rows % 4)


#: Program ids are indices into this list; F commits to them, and the model's program tree to
#: each program's (region-0 root, entry).
PROGRAMS: tuple[str, ...] = tuple(sorted(set(PROGRAM_OF.values())))


class Ref(IntEnum):
    """Where a node input comes from (SPEC §5.1)."""

    SAME_TOKEN = REF_SAME_TOKEN  # output of node j' at the same position
    PREV_TOKEN = REF_PREV_TOKEN  # output of node j' at position t−1; the zero tensor at t = 0
    WEIGHT = REF_WEIGHT  # leaf w of the weight tree (SPEC §3.6)
    TOKEN_IN = REF_TOKEN_IN  # prompt[t] while t < P, else the previous position's argmax output; MLP: the input


_REF_KINDS = frozenset(int(r) for r in Ref)
_V1_OPS = frozenset(int(o) for o in Op)
_V2_OPS = frozenset(int(o) for o in OpV2)


class InputRef(NamedTuple):
    """One committed input reference: its source and its byte length `len_base +
    len_per_pos·(τ + 1)`, τ = t (SAME_TOKEN) or max(t − 1, 0) (PREV_TOKEN). The lengths are in F,
    so a tensor's height is never the caller's to choose (SPEC §5.1)."""

    kind: Ref
    index: int
    len_base: int
    len_per_pos: int = 0

    def length(self, t: int) -> int:
        tau = max(t - 1, 0) if self.kind == Ref.PREV_TOKEN else t
        return self.len_base + self.len_per_pos * (tau + 1)


#: Words of a descriptor before its parameters (SPEC §5.1): program, op, positional, out_base,
#: out_per_pos, output region, 6 references of 4 words, the parameter count.
DESCRIPTOR_FIXED_WORDS = DESC_FIXED_WORDS


@dataclass(frozen=True)
class Descriptor:
    """One node of F. Its output at position t is `out_base + out_per_pos·(t + 1)` bytes."""

    name: str  # for people and logs; not committed
    op: Op | OpV2  # a v1 op (§4.6) or a v2 one (§4.7)
    params: tuple[int, ...]
    inputs: tuple[InputRef, ...]
    out_base: int
    out_per_pos: int = 0
    positional: bool = False  # whether the header's position word carries t (else 0)
    #: For a tile that is not the last of its chain: its output is the chain's full output cut
    #: to `prefix[0] + prefix[1]·(t + 1)` bytes and zero-filled. Derived from the params; not committed.
    prefix: tuple[int, int] = (0, 0)
    #: The region holding the output at the end: 8, or 2 for an in-place op (SPEC §4.3).
    region: int = OUTPUT_REGION
    #: The committed program id; None: the op's kernel (a decoded descriptor keeps what it says).
    program_id: int | None = None

    def __post_init__(self) -> None:
        if len(self.inputs) > MAX_INPUTS or len(self.params) > MAX_PARAMS:
            raise ValueError(f"node {self.name}: too many inputs or parameters")

    @property
    def program(self) -> int:
        if self.program_id is not None:
            return self.program_id
        assert isinstance(self.op, Op), "a v2 descriptor names its program (graph_v2.program_id)"
        return PROGRAMS.index(PROGRAM_OF[self.op])

    @property
    def output_region(self) -> int:
        return self.region

    def out_len(self, t: int) -> int:
        return self.out_base + self.out_per_pos * (t + 1)

    def words(self) -> list[int]:
        """Canonical u32 words (SPEC §5.1): program, op, positional, out_base, out_per_pos, output
        region, 6 input references (kind, index, len_base, len_per_pos) (unused: zeros), the
        parameter count, the parameters."""
        refs = [int(w) for ref in self.inputs for w in ref]
        refs += [0, 0, 0, 0] * (MAX_INPUTS - len(self.inputs))
        return [self.program, int(self.op), int(self.positional), self.out_base, self.out_per_pos, self.region,
                *refs, len(self.params), *self.params]

    def encode(self) -> bytes:
        return b"".join(w.to_bytes(4, "big") for w in self.words())

    @staticmethod
    def decode(data: bytes, name: str = "") -> "Descriptor":
        """A descriptor from its committed bytes; raises ValueError (one line) if malformed."""
        if len(data) % 4 or len(data) < 4 * DESCRIPTOR_FIXED_WORDS:
            raise ValueError(f"descriptor {name}: {len(data)} bytes is not 4·(31 + p)")
        w = [int.from_bytes(data[k : k + 4], "big") for k in range(0, len(data), 4)]
        p = w[DESCRIPTOR_FIXED_WORDS - 1]
        if p > MAX_PARAMS or len(w) != DESCRIPTOR_FIXED_WORDS + p:
            raise ValueError(f"descriptor {name}: parameter count {p} does not match its {len(data)} bytes")
        op: Op | OpV2
        if w[1] in _V1_OPS:
            op = Op(w[1])
        elif w[1] in _V2_OPS:
            op = OpV2(w[1])
        else:
            raise ValueError(f"descriptor {name}: unknown op id {w[1]}")
        if w[2] > 1:
            raise ValueError(f"descriptor {name}: positional flag {w[2]} is not 0 or 1")
        refs: list[InputRef] = []
        for k in range(MAX_INPUTS):
            kind, idx, base, per = w[6 + 4 * k : 10 + 4 * k]
            if kind == 0:
                if (idx, base, per) != (0, 0, 0) or any(w[10 + 4 * k : 6 + 4 * MAX_INPUTS]):
                    raise ValueError(f"descriptor {name}: input {k} is unused but a later word is set")
                break
            if kind not in _REF_KINDS:
                raise ValueError(f"descriptor {name}: input {k} has unknown kind {kind}")
            refs.append(InputRef(Ref(kind), idx, base, per))
        return Descriptor(name, op, tuple(w[DESCRIPTOR_FIXED_WORDS:]), tuple(refs), w[3], w[4], bool(w[2]),
                          region=w[5], program_id=w[0])


@dataclass(frozen=True)
class Graph:
    """F for one model: descriptors in evaluation order, and the weight-tree leaves they index."""

    descriptors: tuple[Descriptor, ...]
    weight_names: tuple[str, ...]
    weight_bytes: tuple[int, ...]

    @property
    def n_f(self) -> int:
        return len(self.descriptors)

    def root(self) -> bytes:
        """F's commitment: the tree over each descriptor's tensor root, padded like the weight tree."""
        return tensor_root(b"".join(tensor_root(d.encode())[0] for d in self.descriptors))[0]

    def index(self, name: str) -> int:
        return next(j for j, d in enumerate(self.descriptors) if d.name == name)

    @property
    def j_argmax(self) -> int:
        """The node whose output is the next token (the class, for an MLP): the last node."""
        return self.n_f - 1

    def tiles_before(self) -> dict[str, list[Descriptor]]:
        """For each tiled matmul's name, the tiles that precede its last one, in order."""
        out: dict[str, list[Descriptor]] = {}
        for d in self.descriptors:
            if d.name.endswith("]"):
                out.setdefault(d.name[: d.name.rindex("[")], []).append(d)
        return out

    def input_lengths(self, j: int, t: int) -> list[int]:
        """Byte lengths of node j's inputs at position t, from the committed references alone."""
        return [ref.length(t) for ref in self.descriptors[j].inputs]

    def header(self, j: int, t: int) -> Header:
        """The header the contract derives for node j at position t (SPEC §4.2)."""
        d = self.descriptors[j]
        return Header(int(d.op), t if d.positional else 0, tuple(self.input_lengths(j, t)), d.out_len(t), d.params)


def build_graph(config: Config, max_steps: int | None = DEFAULT_MAX_STEPS, single_phase: bool = False) -> Graph:
    """F for a model config (LLaMA per-token graph of SPEC §3.3, or the MLP graph).

    A matmul whose estimated steps exceed `max_steps` becomes a chain of full-length row tiles
    (SPEC §4.6): tile k is named `name[k]`, takes the previous tile's output as its last input,
    and the chain's last tile keeps the plain `name` that later nodes refer to. `single_phase`
    (MLP only): F is one `mlp_full` node over the input and the packed-weights leaf (n_f = 1).
    """
    leaves = weight_leaves(config)
    names = tuple(n for n, _ in leaves)
    sizes = tuple(b for _, b in leaves)
    w = {n: i for i, n in enumerate(names)}
    nodes: list[Descriptor] = []

    def same(name: str) -> InputRef:
        j = next(j for j, d in enumerate(nodes) if d.name == name)
        return InputRef(Ref.SAME_TOKEN, j, nodes[j].out_base, nodes[j].out_per_pos)

    def weight(name: str) -> InputRef:
        return InputRef(Ref.WEIGHT, w[name], sizes[w[name]])

    def linear(name: str, wname: str, x: str, mode: LinearMode, n: int, k: int, extra: InputRef | None) -> None:
        ins = [weight(f"{wname}.weight"), same(x), weight(f"{wname}.rq")] + ([extra] if extra else [])
        esz = 1 if mode in (LinearMode.INT8, LinearMode.MLP_RELU) else 4
        rows = tile_rows(n, k, max_steps)
        if rows >= n:
            nodes.append(Descriptor(name, Op.LINEAR, (int(mode), n, k, 0, n), tuple(ins), esz * n))
            return
        starts = list(range(0, n, rows))
        for t_idx, r0 in enumerate(starts):
            last = t_idx == len(starts) - 1
            chain = [InputRef(Ref.SAME_TOKEN, len(nodes) - 1, esz * n)] if t_idx else []
            end = min(r0 + rows, n)
            nodes.append(Descriptor(name if last else f"{name}[{t_idx}]", Op.LINEAR,
                                    (int(mode), n, k, r0, end - r0, 1), tuple(ins + chain), esz * n,
                                    prefix=(esz * end, 0)))

    def attention(name: str, op: Op, params: tuple[int, ...], ins: list[InputRef], out_base: int,
              out_per_pos: int, per_head: tuple[int, int], h_all: int, size: int) -> None:
        """An attention node, or a chain of head tiles when `size` heads would exceed the budget."""
        if size >= h_all:
            nodes.append(Descriptor(name, op, params, tuple(ins), out_base, out_per_pos, positional=True))
            return
        starts = list(range(0, h_all, size))
        for t_idx, h0 in enumerate(starts):
            end = min(h0 + size, h_all)
            chain = [InputRef(Ref.SAME_TOKEN, len(nodes) - 1, out_base, out_per_pos)] if t_idx else []
            last = t_idx == len(starts) - 1
            nodes.append(Descriptor(name if last else f"{name}[{t_idx}]", op, (*params, h0, end - h0, 1),
                                    tuple(ins + chain), out_base, out_per_pos, positional=True,
                                    prefix=(per_head[0] * end, per_head[1] * end)))

    if single_phase and config.arch != ARCH_MLP:
        raise ValueError("single-phase mode runs MLP models only")
    if config.arch == ARCH_MLP:
        dims = config.dims
        token = InputRef(Ref.TOKEN_IN, 0, dims[0])  # the raw u8 input vector
        if single_phase:
            nodes.append(Descriptor("mlp_full", Op.MLP_FULL, (len(dims), *dims), (token, weight(PACKED_MLP)), 4))
            return Graph(tuple(nodes), names, sizes)
        nodes.append(Descriptor("input", Op.MLP_INPUT, (dims[0],), (token, weight("input.rq")), dims[0]))
        prev = "input"
        for i in range(len(dims) - 1):
            last = i == len(dims) - 2
            name = "logits" if last else f"fc{i}"
            mode = LinearMode.MLP_LOGITS if last else LinearMode.MLP_RELU
            linear(name, f"fc{i}", prev, mode, dims[i + 1], dims[i], weight(f"fc{i}.bias"))
            prev = name
        nodes.append(Descriptor("argmax", Op.ARGMAX, (dims[-1],), (same("logits"),), 4))
        return Graph(tuple(nodes), names, sizes)

    if config.arch != ARCH_LLAMA:
        raise ValueError(f"no graph for architecture {config.arch}")
    c = config
    d, hid, hd, H, G, S, V = c.dim, c.hidden_dim, c.head_dim, c.n_heads, c.n_kv_heads, c.max_seq_len, c.vocab_size
    nodes.append(Descriptor("embed", Op.EMBED, (V, d), (InputRef(Ref.TOKEN_IN, 0, 4), weight("tok_embeddings.weight"),
                                                         weight("tok_embeddings.rq")), 4 * d))
    h = "embed"
    for i in range(c.n_layers):
        p = f"layers.{i}"
        nodes.append(Descriptor(f"{p}.attention_norm", Op.RMSNORM, (d, c.norm_eps),
                                (same(h), weight(f"{p}.attention_norm.weight")), d))
        linear(f"{p}.q", f"{p}.attention.wq", f"{p}.attention_norm", LinearMode.INT8, d, d, None)
        linear(f"{p}.k", f"{p}.attention.wk", f"{p}.attention_norm", LinearMode.INT8, G * hd, d, None)
        linear(f"{p}.v", f"{p}.attention.wv", f"{p}.attention_norm", LinearMode.INT8, G * hd, d, None)
        for x, heads in (("q", H), ("k", G)):
            nodes.append(Descriptor(f"{p}.{x}_rope", Op.ROPE, (heads, hd, S),
                                    (same(f"{p}.{x}"), weight("rope_cos"), weight("rope_sin")), heads * hd,
                                    positional=True))
        for cache, row in (("k_cache", "k_rope"), ("v_cache", "v")):
            j = len(nodes)  # the cache's input is this same node one position earlier
            # In place (params word 3 = 1): the row lands in the cache's own input region, so a long
            # context costs one row per step, not a copy of the whole cache (SPEC §4.3).
            nodes.append(Descriptor(f"{p}.{cache}", Op.KV_APPEND, (S, G, hd, 1),
                                    (InputRef(Ref.PREV_TOKEN, j, S * G * hd), same(f"{p}.{row}")), S * G * hd,
                                    positional=True, region=output_region(Op.KV_APPEND, (S, G, hd, 1))))
        attention(f"{p}.scores", Op.SCORES, (H, G, hd, S), [same(f"{p}.q_rope"), same(f"{p}.k_cache")], 0, 4 * H,
              (0, 4), H, tile_heads(H, lambda n: scores_steps(n, S, hd, H), max_steps))
        attention(f"{p}.probs", Op.SOFTMAX, (H, c.exp_len),
                  [same(f"{p}.scores"), weight(f"{p}.attention.softmax.rq"), weight("exp_table")], 0, 4 * H,
                  (0, 4), H, tile_heads(H, lambda n: softmax_steps(n, S, H, c.exp_len), max_steps))
        attention(f"{p}.attn_out", Op.ATTN_VALUES, (H, G, hd, S),
              [same(f"{p}.probs"), same(f"{p}.v_cache"), weight(f"{p}.attention.av.rq")], H * hd, 0, (hd, 0), H,
              tile_heads(H, lambda n: attn_values_steps(n, S, hd, H), max_steps))
        linear(f"{p}.attn_residual", f"{p}.attention.wo", f"{p}.attn_out", LinearMode.RESIDUAL, d, d, same(h))
        h = f"{p}.attn_residual"
        nodes.append(Descriptor(f"{p}.ffn_norm", Op.RMSNORM, (d, c.norm_eps),
                                (same(h), weight(f"{p}.ffn_norm.weight")), d))
        linear(f"{p}.gate", f"{p}.feed_forward.w1", f"{p}.ffn_norm", LinearMode.INT8, hid, d, None)
        linear(f"{p}.up", f"{p}.feed_forward.w3", f"{p}.ffn_norm", LinearMode.INT8, hid, d, None)
        nodes.append(Descriptor(f"{p}.swiglu", Op.SWIGLU, (hid,),
                                (same(f"{p}.gate"), same(f"{p}.up"), weight(f"{p}.feed_forward.silu_table"),
                                 weight(f"{p}.feed_forward.swiglu.rq")), hid))
        linear(f"{p}.ffn_residual", f"{p}.feed_forward.w2", f"{p}.swiglu", LinearMode.RESIDUAL, d, hid, same(h))
        h = f"{p}.ffn_residual"
    nodes.append(Descriptor("norm", Op.RMSNORM, (d, c.norm_eps), (same(h), weight("norm.weight")), d))
    linear("logits", "output", "norm", LinearMode.LOGITS, V, d, None)
    nodes.append(Descriptor("argmax", Op.ARGMAX, (V,), (same("logits"),), 4))
    return Graph(tuple(nodes), names, sizes)


def resolve_inputs(graph: Graph, model: IntModel, j: int, t: int, outputs: Sequence[bytes],
                   token_in: bytes) -> list[bytes]:
    """Input bytes of node j at position t, from the model, this task's earlier node outputs
    (`outputs[i]` for global node i) and the token fed at t (canonical bytes)."""
    n_f = graph.n_f
    out = []
    for ref in graph.descriptors[j].inputs:
        kind, idx = ref.kind, ref.index
        if kind == Ref.WEIGHT:
            out.append(leaf_bytes(model, graph.weight_names[idx]))
        elif kind == Ref.TOKEN_IN:
            out.append(token_in)
        elif kind == Ref.SAME_TOKEN:
            out.append(outputs[t * n_f + idx])
        elif t == 0:
            out.append(bytes(ref.length(0)))
        else:
            out.append(outputs[(t - 1) * n_f + idx])
    return out


def token_bytes(token: int) -> bytes:
    return ops.canonical_bytes(np.array([token], dtype=np.int32))


def node_at(graph: Graph, model: IntModel, j: int, t: int, outputs: Sequence[bytes], token_in: bytes) -> Node:
    """The kernel run of node j at position t: its header and resolved input bytes."""
    d = graph.descriptors[j]
    return Node(d.op, graph.header(j, t), tuple(resolve_inputs(graph, model, j, t, outputs, token_in)))


def programs_root(programs: Sequence[tuple[bytes, int]] | None = None) -> bytes:
    """Commitment to the kernels, in PROGRAMS order (default: the committed kernel ELFs): a tree
    over each program's leaf, the tensor root of `region0_root ‖ entry (u32)`."""
    if programs is None:
        from offchain.llm.kernels import program

        programs = [(program(n).region0_root, program(n).entry) for n in PROGRAMS]
    return tensor_root(b"".join(tensor_root(r + e.to_bytes(4, "big"))[0] for r, e in programs))[0]


def model_commitment(weight_root: bytes, graph_root: bytes, prog_root: bytes) -> bytes:
    """The model's full commitment: the tree over (weights, F, programs, zero)."""
    return tree_root(weight_root + graph_root + prog_root + bytes(32))


def estimate_steps(d: Descriptor, c: Config) -> int | None:
    """Upper estimate of a node's VM steps at the longest context, for the ops that are tiled and
    the single-phase MLP (None for the others, which are small and linear in their input size)."""
    tile = len(d.params) > (4 if d.op in (Op.SCORES, Op.ATTN_VALUES) else 2)
    if d.op == Op.LINEAR:
        return linear_steps(d.params[4], d.params[2])
    if d.op == Op.SCORES:
        return scores_steps(d.params[5] if tile else c.n_heads, c.max_seq_len, c.head_dim, c.n_heads)
    if d.op == Op.ATTN_VALUES:
        return attn_values_steps(d.params[5] if tile else c.n_heads, c.max_seq_len, c.head_dim, c.n_heads)
    if d.op == Op.SOFTMAX:
        return softmax_steps(d.params[3] if tile else c.n_heads, c.max_seq_len, c.n_heads, c.exp_len)
    if d.op == Op.MLP_FULL:
        return mlp_full_steps(d.params[1:])
    return None


def mlp_full_steps(widths: Sequence[int]) -> int:
    """Upper estimate of the single-phase MLP's steps: its layers as linear products, plus the
    input quantization and the final argmax (a few steps per value)."""
    layers = sum(linear_steps(n, k) for k, n in zip(widths[:-1], widths[1:]))
    return layers + 16 * widths[0] + 16 * widths[-1] + LINEAR_STEPS_FIXED
