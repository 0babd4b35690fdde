"""Upper estimates of the spec v2 kernels' VM steps, and the tiles they imply (SPEC §4.7, §5.4).

Every node of a v2 graph F must stay within a step budget (2^22 by default) at the model's
longest context. The estimates here are fitted above measured runs (`bench`-free: the kernel
tests print the rates, and tests/node/test_graph_v2.py holds every estimate above the steps of
the nodes it runs); `plan` turns them into the row tiles of a large matmul and the head tiles of
attention. Both the trace (which commits tile outputs) and graph F (which describes them) read
the same plan, so the two always agree on the nodes of a position.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The default step budget per node (SPEC §5.4).
DEFAULT_MAX_STEPS = 1 << 22

#: v2_linear's steps per multiply-accumulate by weight type, about 10 % above the measured 5.7,
#: 6.3 and 8.0 (four rows share each load of the quantized input; a tail row costs a little more),
#: 5.7, 9.2 and 8.6 for the k-quants, and the worst exponents' 52 (F16) and 69 (F32).
LINEAR_RATE = {"Q8_0": 6.3, "Q4_0": 7.0, "Q4_1": 8.8, "Q4_K": 6.3, "Q5_K": 10.2, "Q6_K": 9.5, "F16": 58.0,
               "F32": 76.0}
LINEAR_PER_INPUT = 50  # quantizing x once per node, per value (measured ~40)
LINEAR_PER_ROW = 60
FIXED = 5000  # header checks, setup and exit


def linear(kind: str, rows: int, k: int, n: int, esz: int, partial: bool) -> int:
    """A v2_linear node of `rows` rows of `k` terms; `partial`: it copies the previous tile's whole
    output (n rows of esz bytes) first."""
    copy = 2 * n * esz if partial else 0
    return int(LINEAR_RATE[kind] * rows * k) + LINEAR_PER_INPUT * k + LINEAR_PER_ROW * rows + copy + 2 * rows * esz + FIXED


#: v2_attention per (head, cached row): two dot products of hd terms, an exp_neg and a 64-bit
#: division (measured ~1,740 at hd = 64), plus the exp2 table's check and the copies.
ATTN_PER_HEAD_ROW_PER_DIM = 30
ATTN_FIXED = 50_000


def attention(heads: int, t_len: int, hd: int, h_all: int) -> int:
    return ATTN_PER_HEAD_ROW_PER_DIM * heads * t_len * hd + 8 * h_all * hd + ATTN_FIXED


def rmsnorm(d: int) -> int:
    return 400 * d + 10_000  # measured 329 per value (the F32 gain's conversion, a 64-bit division)


def swiglu(f: int) -> int:
    return 220 * f + 40_000  # measured 177 per value, plus the exp2 check


def rope(heads: int, hd: int) -> int:
    return 60 * heads * hd + FIXED  # measured 38 per value


def embed(d: int) -> int:
    return 80 * d + FIXED  # measured 23 per value (Q8_0), up to 68 (Q5_K: a super-block unpacked)


def kv_append(row_values: int) -> int:
    return 6 * row_values + 2000  # a word copy


def sample(v: int, greedy: bool) -> int:
    """Greedy is an argmax (measured 15 per logit); sampling sorts the positive weights (measured
    241 per logit with every weight positive)."""
    return (20 * v + 50_000) if greedy else (300 * v + 100_000)


@dataclass(frozen=True)
class Shape:
    """What the plan needs of a model: its dimensions and each matrix's weight type."""

    dim: int
    hidden_dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    vocab_size: int
    max_seq_len: int
    kinds: dict[str, str]  # "token_embd", "output", "blk.{l}.attn_q", … → ggml type name

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads


def _rows_per_tile(kind: str, n: int, k: int, esz: int, max_steps: int | None) -> int:
    if max_steps is None or linear(kind, n, k, n, esz, False) <= max_steps:
        return n
    rows = n
    lo, hi = 1, n  # the largest tile that fits with the partial copy, by bisection
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if linear(kind, mid, k, n, esz, True) <= max_steps:
            lo = mid
        else:
            hi = mid - 1
    rows = max(4, lo - lo % 4)  # a multiple of the kernel's four-row unrolling
    return min(rows, n)


def _heads_per_tile(s: Shape, max_steps: int | None) -> int:
    h, hd = s.n_heads, s.head_dim
    heads = h
    while max_steps is not None and heads > 1 and attention(heads, s.max_seq_len, hd, h) > max_steps:
        heads -= 1
    return heads


#: The matmuls of one layer: (node name, weight key, rows, terms, output bytes per row).
def layer_matmuls(s: Shape, layer: int) -> list[tuple[str, str, int, int, int]]:
    p = f"blk.{layer}."
    d, f, nkv = s.dim, s.hidden_dim, s.n_kv_heads * s.head_dim
    return [(p + "q", p + "attn_q", d, d, 4), (p + "k", p + "attn_k", nkv, d, 4), (p + "v", p + "attn_v", nkv, d, 4),
            (p + "attn_residual", p + "attn_output", d, d, 8), (p + "gate", p + "ffn_gate", f, d, 4),
            (p + "up", p + "ffn_up", f, d, 4), (p + "ffn_residual", p + "ffn_down", d, f, 8)]


def plan(s: Shape, max_steps: int | None = DEFAULT_MAX_STEPS) -> dict[str, list[tuple[int, int]]]:
    """For every node that is split: its name → the (start, count) ranges of its tiles, in order
    (rows of a matmul, heads of attention). A node missing from the plan is one node."""
    out: dict[str, list[tuple[int, int]]] = {}

    def split(name: str, total: int, per: int) -> None:
        if per < total:
            out[name] = [(a, min(per, total - a)) for a in range(0, total, per)]

    heads = _heads_per_tile(s, max_steps)
    for layer in range(s.n_layers):
        for name, key, n, k, esz in layer_matmuls(s, layer):
            split(name, n, _rows_per_tile(s.kinds[key], n, k, esz, max_steps))
        split(f"blk.{layer}.attn", s.n_heads, heads)
    split("logits", s.vocab_size, _rows_per_tile(s.kinds["output"], s.vocab_size, s.dim, 4, max_steps))
    return out


def tile_prefixes(s: Shape, tiles: dict[str, list[tuple[int, int]]]) -> dict[str, list[tuple[str, int]]]:
    """For every split node: the tiles before its last, as (name `node[k]`, bytes kept). A tile's
    output is the node's whole output with everything after its range zeroed (SPEC §5.4), so its
    root is a prefix of the whole output's bytes."""
    unit = {name: esz for layer in range(s.n_layers) for name, _, _, _, esz in layer_matmuls(s, layer)}
    unit["logits"] = 4
    out: dict[str, list[tuple[str, int]]] = {}
    for name, ranges in tiles.items():
        per = 4 * s.head_dim if name.endswith(".attn") else unit[name]
        out[name] = [(f"{name}[{k}]", per * (a + c)) for k, (a, c) in enumerate(ranges[:-1])]
    return out


def shape_of(model: "object") -> Shape:
    """The plan's view of a loaded ModelV2 (duck-typed: `shape` and `mats`)."""
    c, mats = model.shape, model.mats  # type: ignore[attr-defined]
    return Shape(c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.max_seq_len,
                 {k: w.kind for k, w in mats.items()})


def nodes_per_position(s: Shape, tiles: dict[str, list[tuple[int, int]]]) -> int:
    """n_f of graph F (SPEC §5.5): embed, 15 per layer, norm, logits and token, plus the tiles."""
    return 1 + 15 * s.n_layers + 3 + sum(len(r) - 1 for r in tiles.values())


def worst_estimates(s: Shape, max_steps: int | None = DEFAULT_MAX_STEPS) -> dict[str, int]:
    """The largest step estimate of each kind of node of F, at the longest context, from the shape
    alone (no file needed: a 7B shape's F is sized before any GGUF exists)."""
    tiles = plan(s, max_steps)
    hd, h = s.head_dim, s.n_heads
    out: dict[str, int] = {}

    def note(kind: str, steps: int) -> None:
        out[kind] = max(out.get(kind, 0), steps)

    mats = [mm for layer in range(s.n_layers) for mm in layer_matmuls(s, layer)]
    mats.append(("logits", "output", s.vocab_size, s.dim, 4))
    for name, key, n, k, esz in mats:
        ranges = tiles.get(name, [(0, n)])
        for t_idx, (_, rows) in enumerate(ranges):
            note("linear", linear(s.kinds[key], rows, k, n, esz, t_idx > 0))
    heads = max(c for _, c in tiles.get("blk.0.attn", [(0, h)]))
    note("attention", attention(heads, s.max_seq_len, hd, h))
    note("rmsnorm", rmsnorm(s.dim))
    note("swiglu", swiglu(s.hidden_dim))
    note("rope", rope(h, hd))
    note("embed", embed(s.dim))
    note("kv_append", kv_append(s.n_kv_heads * hd))
    note("sample", sample(s.vocab_size, greedy=True))
    return out
