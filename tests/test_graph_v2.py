"""Graph F of spec v2 models (SPEC §5.5): F's nodes are the v2 trace's, name for name and tiles
included; every node of a task re-executed in the VM from the inputs F resolves shows the root
the native trace committed (SPEC §4.5) within its step estimate; on SmolLM2 every node fits the
budget of SPEC §5.4."""

from __future__ import annotations

from pathlib import Path

import pytest
from gguf import GGMLQuantizationType as Q

from offchain.llm.known_models import SMOLLM2
from offchain.llm.v2 import load_gguf, tiles
from offchain.llm.v2.tiles import DEFAULT_MAX_STEPS
from offchain.llm.v2.trace import trace_task
from offchain.node.graph import Descriptor
from offchain.node.graph_v2 import PROGRAMS_V2, build_graph_v2, estimate_steps_v2
from offchain.node.nodes_v2 import check
from tests.llm.gguf_toy import write_toy_gguf

SMALL_BUDGET = 20_000  # a toy model's attention, ffn and logits then split into tiles


@pytest.fixture(scope="module")
def toy(tmp_path_factory):  # type: ignore[no-untyped-def]
    d = tmp_path_factory.mktemp("g2")
    types = {f"blk.{i}.{m}.weight": q for i in range(2)
             for m, q in (("attn_q", Q.Q4_1), ("attn_k", Q.Q4_0), ("attn_v", Q.Q8_0), ("attn_output", Q.Q4_1),
                          ("ffn_gate", Q.Q8_0), ("ffn_up", Q.Q4_0), ("ffn_down", Q.Q4_1))}
    return load_gguf(write_toy_gguf(Path(d) / "toy.gguf", types=types, n_layers=2), 16)


@pytest.mark.parametrize("budget", [DEFAULT_MAX_STEPS, SMALL_BUDGET])
def test_f_lists_the_trace_nodes_of_every_position_in_order(toy, budget):
    g = build_graph_v2(toy, budget)
    tr = trace_task(toy, [3, 7, 1], 3, max_steps=budget)
    names = [d.name for d in g.descriptors]
    assert len(tr.names) % g.n_f == 0
    for t in range(len(tr.names) // g.n_f):
        assert tr.names[t * g.n_f:(t + 1) * g.n_f] == names
    tiled = [n for n in names if n.endswith("]")]
    assert (not tiled) == (budget == DEFAULT_MAX_STEPS)
    if budget == SMALL_BUDGET:  # the kinds that split: a matmul's rows, attention's heads, the logits
        assert {"blk.0.attn[0]", "blk.1.gate[0]", "logits[0]"} <= set(tiled)
    assert names[-1] == "token" and g.j_argmax == g.n_f - 1


def test_descriptors_decode_to_themselves_and_name_v2_programs(toy):
    g = build_graph_v2(toy, SMALL_BUDGET)
    for d in g.descriptors:
        back = Descriptor.decode(d.encode())
        assert back.encode() == d.encode() and back.op == d.op
        assert 0 <= d.program < len(PROGRAMS_V2)
    assert len({d.encode() for d in g.descriptors}) == g.n_f  # no two nodes alike (tiles differ in r0)


def test_every_node_of_a_task_runs_in_the_vm_to_the_committed_root(toy):
    """All 52 × 5 nodes, tiles included, at every position from t = 0 (PREV_TOKEN's zero row)."""
    tr, results = check(toy, [3, 7, 1], 3, lambda n, n_f: list(range(n)), max_steps=SMALL_BUDGET)
    assert len(results) == len(tr.roots) == 5 * build_graph_v2(toy, SMALL_BUDGET).n_f
    assert [r.name for r in results if r.reason is not None] == []
    assert [r.name for r in results if r.steps > r.estimate] == []


@pytest.fixture(scope="module")
def toy_k(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Every other weight type: k-quant, F16 and F32 matrices (K a multiple of 256), a Q6_K
    embedding the logits share."""
    d = tmp_path_factory.mktemp("g2k")
    types = {"token_embd.weight": Q.Q6_K} | {
        f"blk.0.{m}.weight": q for m, q in (("attn_q", Q.Q4_K), ("attn_k", Q.F32), ("attn_v", Q.F16),
                                             ("attn_output", Q.Q6_K), ("ffn_gate", Q.Q5_K), ("ffn_up", Q.Q4_K),
                                             ("ffn_down", Q.Q5_K))}
    return load_gguf(write_toy_gguf(Path(d) / "toy_k.gguf", types=types, dim=256, hidden=512), 8)


@pytest.mark.parametrize("budget", [DEFAULT_MAX_STEPS, 400_000])
def test_k_quant_and_float_weights_run_in_the_vm_to_the_committed_root(toy_k, budget):
    """Graph F of a model of k-quants, F16 and F32: every node of a task (row tiles too at the small
    budget) runs in the VM to the root the native trace committed, within its step estimate."""
    assert {w.kind for w in toy_k.mats.values()} >= {"Q4_K", "Q5_K", "Q6_K", "F16", "F32"}
    g = build_graph_v2(toy_k, budget)
    tr, results = check(toy_k, [3, 7], 1, lambda n, n_f: list(range(n)), max_steps=budget)
    assert len(results) == 2 * g.n_f
    assert (budget == DEFAULT_MAX_STEPS) == (not [d.name for d in g.descriptors if d.name.endswith("]")])
    assert [r.name for r in results if r.reason is not None] == []
    assert [r.name for r in results if r.steps > r.estimate] == []


def test_a_wrong_committed_root_is_a_mismatch(toy):
    """The comparison can fail: a node checked against another node's root."""
    from offchain.llm.kernels import run
    from offchain.node.graph_v2 import build_graph_v2 as build
    from offchain.node.nodes_v2 import needed, node_v2
    from offchain.node.start import check_end

    g = build(toy)
    i = g.n_f + g.index("blk.0.q")  # position 1
    want = needed(g, [i])
    tr = trace_task(toy, [3, 7, 1], 1, keep=lambda pos, name: (pos, name) in want)
    node = node_v2(g, toy, i, [3, 7, 1], tr.kept)
    vm = run(node)
    assert check_end(vm, tr.roots[i], node.header) is None
    assert check_end(vm, tr.roots[i + 1], node.header) is not None


@pytest.mark.skipif(not SMOLLM2.path().exists(), reason="SmolLM2 is not installed (make setup)")
def test_smollm2_f_fits_the_budget_and_its_hardest_nodes_run_to_the_committed_roots():
    m = load_gguf(SMOLLM2.path())
    g = build_graph_v2(m)
    worst = max(estimate_steps_v2(d, m.shape) for d in g.descriptors)
    assert worst <= DEFAULT_MAX_STEPS
    shape = tiles.shape_of(m)  # the shape-only figures (the 7B's, in bench/graph.py) agree with F's
    assert tiles.nodes_per_position(shape, tiles.plan(shape)) == g.n_f
    assert max(tiles.worst_estimates(shape).values()) == worst
    assert g.n_f == 1 + 30 * (15 + 8 + 3) + 2 + 48 + 1  # 8 more attention heads, 3 split matmuls, 48 logits tiles
    names = [d.name for d in g.descriptors]
    kinds = ["embed", "blk.0.k_cache", "blk.7.attn[2]", "blk.29.ffn_residual[0]", "logits[46]", "logits", "token"]

    def pick(n: int, n_f: int) -> list[int]:
        last = n // n_f - 1
        return [t * n_f + names.index(k) for t in (0, last) for k in kinds]

    _, results = check(m, [1, 9690, 314, 28], 2, pick)
    assert [(r.name, r.position) for r in results if r.reason is not None or r.steps > r.estimate] == []
