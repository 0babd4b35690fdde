"""The per-token graph F: every node, rebuilt from F alone, reproduces the native run in the VM."""

from dataclasses import replace

import numpy as np
import pytest

from offchain.llm import ops
from offchain.llm.kernels import run
from offchain.llm.kernels.registry import Op
from offchain.llm.quant import quantize_llama, quantize_mlp
from offchain.llm.runner import run_mlp
from offchain.merkle import tensor_root
from offchain.node.graph import PROGRAMS, Descriptor, InputRef, Ref, build_graph, estimate_steps, node_at, token_bytes
from offchain.node.start import check_end
from offchain.node.trace import trace_task
from tests.llm.helpers import tiny_llama


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    return quantize_llama(tiny_llama(seed=5), list(range(40)))


def test_graph_follows_the_runner_node_for_node(model):
    graph = build_graph(model.config)
    tr = trace_task(model, [1, 2], 2)
    assert [d.name for d in graph.descriptors] == tr.names[: graph.n_f]
    assert graph.n_f == 1 + 17 * model.config.n_layers + 3


def test_every_node_of_a_whole_task_matches_natively_and_in_the_vm(model):
    """A whole small model's graph, all nodes, natively vs in the VM (issue 5)."""
    graph = build_graph(model.config)
    prompt, n_new = [3, 1, 4], 2
    tr = trace_task(model, prompt, n_new, keep_outputs=True)
    assert tr.outputs is not None
    fed = list(prompt) + tr.tokens  # the token fed at position t
    for i, expected in enumerate(tr.outputs):
        t, j = divmod(i, graph.n_f)
        d = graph.descriptors[j]
        header = graph.header(j, t)
        assert header.output_length == len(expected), d.name
        vm = run(node_at(graph, model, j, t, tr.outputs, token_bytes(fed[t])), exact=True)
        assert check_end(vm, tr.roots[i], header, d.output_region) is None, f"node {i} ({d.name} at t={t})"


def _variants(d: Descriptor) -> list[tuple[str, Descriptor]]:
    """`d` with each committed field changed alone (SPEC §5.1): program, op, position flag, both
    output-length words, the output region, every word of every input reference, every parameter."""
    from dataclasses import replace

    out = [("program", replace(d, program_id=(d.program + 1) % len(PROGRAMS))),
           ("op", replace(d, op=Op.ARGMAX if d.op != Op.ARGMAX else Op.EMBED, program_id=d.program)),
           ("positional", replace(d, positional=not d.positional)),
           ("out_base", replace(d, out_base=d.out_base + 1)), ("out_per_pos", replace(d, out_per_pos=d.out_per_pos + 1)),
           ("region", replace(d, region=2 if d.region == 8 else 8))]
    for k, ref in enumerate(d.inputs):
        for f in InputRef._fields:
            bumped = ref._replace(**{f: Ref(ref.kind % 4 + 1) if f == "kind" else getattr(ref, f) + 1})
            out.append((f"inputs[{k}].{f}", replace(d, inputs=d.inputs[:k] + (bumped,) + d.inputs[k + 1:])))
    for k in range(len(d.params)):
        out.append((f"params[{k}]", replace(d, params=d.params[:k] + (d.params[k] + 1,) + d.params[k + 1:])))
    return out


def test_the_graph_root_commits_to_every_descriptor_field_of_every_node(model):
    """Every committed field of every descriptor, changed one at a time, changes F's root; and the
    committed bytes decode back to the same fields (nothing the contract reads is left out)."""
    graph = build_graph(model.config)
    root = graph.root()
    assert root == build_graph(model.config).root()
    for j, d in enumerate(graph.descriptors):
        back = Descriptor.decode(d.encode())
        assert back.encode() == d.encode() and back.inputs == d.inputs and back.region == d.region, d.name
        for field, changed in _variants(d):
            assert changed.encode() != d.encode(), (d.name, field)
            g2 = replace(graph, descriptors=graph.descriptors[:j] + (changed,) + graph.descriptors[j + 1:])
            assert g2.root() != root, (d.name, field)


def test_references_point_backwards_or_to_the_previous_position(model):
    graph = build_graph(model.config)
    for j, d in enumerate(graph.descriptors):
        assert d.program < len(PROGRAMS)
        for kind, idx, _, _ in d.inputs:
            if kind == Ref.SAME_TOKEN:
                assert idx < j, d.name
            elif kind == Ref.PREV_TOKEN:
                assert idx < graph.n_f
            elif kind == Ref.WEIGHT:
                assert idx < len(graph.weight_names)


def test_every_reference_commits_the_length_of_what_it_points_at(model):
    graph = build_graph(model.config)
    for d in graph.descriptors:
        for ref in d.inputs:
            if ref.kind in (Ref.SAME_TOKEN, Ref.PREV_TOKEN):
                src = graph.descriptors[ref.index]
                assert (ref.len_base, ref.len_per_pos) == (src.out_base, src.out_per_pos), d.name
            elif ref.kind == Ref.WEIGHT:
                assert (ref.len_base, ref.len_per_pos) == (graph.weight_bytes[ref.index], 0), d.name
            else:
                assert (ref.len_base, ref.len_per_pos) == (4, 0), d.name


def test_a_descriptor_is_4_times_31_plus_p_bytes_and_decodes_to_itself(model):
    graph = build_graph(model.config, max_steps=4000)
    for d in graph.descriptors:
        data = d.encode()
        assert len(data) == 4 * (31 + len(d.params))
        back = Descriptor.decode(data, d.name)
        assert back.encode() == data and back.inputs == d.inputs and back.output_region == d.output_region
    kv = graph.descriptors[graph.index("layers.0.k_cache")]
    assert kv.encode()[20:24] == (2).to_bytes(4, "big")  # in place: the output region word is 2
    assert graph.descriptors[0].encode()[20:24] == (8).to_bytes(4, "big")


def test_prev_token_lengths_use_the_previous_position(model):
    graph = build_graph(model.config)
    j = graph.index("layers.0.scores")
    per = graph.descriptors[j].out_per_pos
    ref = InputRef(Ref.PREV_TOKEN, j, 0, per)
    assert [ref.length(t) for t in (0, 1, 2)] == [per, per, 2 * per]
    assert [InputRef(Ref.SAME_TOKEN, j, 0, per).length(t) for t in (0, 1, 2)] == [per, 2 * per, 3 * per]


def test_the_mlp_graph_reproduces_a_small_mlp_run_in_the_vm():
    rng = np.random.default_rng(0)
    layers = [(rng.standard_normal((12, 20)).astype(np.float32), rng.standard_normal(12).astype(np.float32)),
              (rng.standard_normal((5, 12)).astype(np.float32), rng.standard_normal(5).astype(np.float32))]
    m = quantize_mlp(layers, 1 / 255, 255, rng.integers(0, 256, (16, 20)).astype(np.float32))
    graph = build_graph(m.config)
    pixels = rng.integers(0, 256, 20).astype(np.uint8)
    outs: list[bytes] = []
    run_mlp(m, pixels, emit=lambda name, x: outs.append(ops.canonical_bytes(x)))
    assert [d.name for d in graph.descriptors] == ["input", "fc0", "logits", "argmax"]
    for j, d in enumerate(graph.descriptors):
        header = graph.header(j, 0)
        vm = run(node_at(graph, m, j, 0, outs, pixels.tobytes()), exact=True)
        assert check_end(vm, tensor_root(outs[j])[0], header) is None, d.name
    single = build_graph(m.config, single_phase=True)
    assert single.n_f == 1 and single.j_argmax == 0 and single.weight_names[-1] == "mlp_full.packed"
    vm = run(node_at(single, m, 0, 0, [], pixels.tobytes()))
    assert check_end(vm, tensor_root(outs[-1])[0], single.header(0, 0)) is None
    assert vm.step_count <= estimate_steps(single.descriptors[0], m.config)


def test_check_node_cli_reports_matching_roots_and_steps(tmp_path, capsys):
    from offchain.cli import main
    from offchain.llm.format import write_model

    path = tmp_path / "tiny.opml"
    write_model(path, quantize_llama(tiny_llama(seed=6, vocab=256), list(range(40))))  # a byte vocabulary
    assert main(["check-node", "--model", str(path), "--prompt", "ab", "--tokens", "2", "--sample", "3", "--exact"]) == 0
    out = capsys.readouterr().out
    assert out.count("MATCH") == 3 and "steps" in out and "S_n = 0x" in out
    assert main(["graph", "--model", str(path)]) == 0
    assert "commitment    0x" in capsys.readouterr().out


@pytest.mark.parametrize(
    "shape, budget",
    [({}, 4000), ({"dim": 32, "n_heads": 2, "n_kv_heads": 1, "vocab": 96, "max_seq": 64}, 12000)],
    ids=["matmul-tiles", "matmul-and-head-tiles"],
)
def test_a_tiled_graph_stays_within_its_step_budget_and_still_matches_in_the_vm(shape, budget):
    model = quantize_llama(tiny_llama(seed=5, **shape), list(range(40)))
    graph = build_graph(model.config, max_steps=budget)
    tiled = {d.op for d in graph.descriptors if d.name.endswith("]")}
    assert Op.LINEAR in tiled and (not shape or {Op.SCORES, Op.SOFTMAX, Op.ATTN_VALUES} <= tiled)
    prompt, n_new = [2, 7], 2
    tr = trace_task(model, prompt, n_new, keep_outputs=True, graph=graph)
    assert tr.outputs is not None and tr.tokens == trace_task(model, prompt, n_new).tokens
    assert len(tr.roots) == graph.n_f * (len(prompt) + n_new - 1)
    fed = list(prompt) + tr.tokens
    for i, root in enumerate(tr.roots):
        t, j = divmod(i, graph.n_f)
        d = graph.descriptors[j]
        header = graph.header(j, t)
        vm = run(node_at(graph, model, j, t, tr.outputs, token_bytes(fed[t])), exact=True)
        assert check_end(vm, root, header, d.output_region) is None, f"node {i} ({d.name} at t={t})"
        est = estimate_steps(d, model.config)
        if est is not None:  # the estimate tiling relies on is an upper bound ...
            assert vm.step_count <= est, f"{d.name}: {vm.step_count} steps, estimated {est}"
        if d.op in tiled and est is not None and est > budget:  # ... and only a 1-row/head tile may exceed
            size = d.params[{Op.LINEAR: 4, Op.SCORES: 5, Op.ATTN_VALUES: 5, Op.SOFTMAX: 3}[d.op]]
            assert size <= (4 if d.op == Op.LINEAR else 1), d.name
