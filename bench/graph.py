"""Graph: node sizes in VM steps, measured on the shipped model and estimated on the 7B shape."""

import time
from typing import Any

from offchain.llm.cli import DEFAULT_MODEL
from offchain.llm.format import read_model
from offchain.llm.kernels import run as run_node
from offchain.llm.model import Config
from offchain.node.graph import DEFAULT_MAX_STEPS, build_graph, estimate_steps, node_at, token_bytes
from offchain.node.trace import trace_task

#: The synthetic 7B shape of issue 4 (LLaMA-7B: dim 4096, 32 layers, ffn 11008, vocab 32000).
SEVEN_B = Config(arch=1, dim=4096, hidden_dim=11008, n_layers=32, n_heads=32, n_kv_heads=32, vocab_size=32000,
                 max_seq_len=2048, norm_eps=168, exp_len=2841)


def run() -> dict[str, Any]:
    out: dict[str, Any] = {}
    model = read_model(DEFAULT_MODEL)
    prompt = list(b"ROMEO:\n")
    # (the trace overhead against plain inference is measured in bench/llm.py)

    # Every node of the last position of a short task, in the VM: the largest node.
    graph = build_graph(model.config)
    tr = trace_task(model, prompt, 8, keep_outputs=True)
    assert tr.outputs is not None
    fed = prompt + tr.tokens
    t = len(prompt) + 8 - 2
    worst, worst_name = 0, ""
    t0 = time.perf_counter()
    for j, d in enumerate(graph.descriptors):
        vm = run_node(node_at(graph, model, j, t, tr.outputs, token_bytes(fed[t])))
        if vm.step_count > worst:
            worst, worst_name = vm.step_count, d.name
    out["shipped_nodes_per_token"] = {"value": graph.n_f, "unit": "nodes"}
    out["shipped_worst_node_steps"] = {"value": worst, "unit": "steps", "note": f"{worst_name} at t={t}, measured"}
    out["shipped_one_token_all_nodes_in_vm"] = {"value": time.perf_counter() - t0, "unit": "s"}

    g7 = build_graph(SEVEN_B)
    c = SEVEN_B
    worst: dict[str, int] = {}
    for d in g7.descriptors:
        steps = estimate_steps(d, c)
        if steps is not None:
            worst[d.op.name.lower()] = max(worst.get(d.op.name.lower(), 0), steps)
    out["7b_nodes_per_token"] = {"value": g7.n_f, "unit": "nodes",
                                 "note": f"context {c.max_seq_len}, budget {DEFAULT_MAX_STEPS:,} steps"}
    for name, steps in worst.items():
        out[f"7b_worst_{name}_node_steps"] = {"value": int(steps), "unit": "steps (upper estimate)",
                                              "target": "<= 2^22 (4,194,304)"}
    out.update(v2())
    return out


def v2() -> dict[str, Any]:
    """Spec v2's F (SPEC §5.5): SmolLM2's nodes per position, its worst estimate and the measured
    steps of its hardest nodes; the 7B shape's F from the shape alone (Q8_0 and Q4_0 matrices)."""
    from offchain.llm.known_models import SMOLLM2
    from offchain.llm.v2 import tiles
    from offchain.llm.v2.model import load_gguf
    from offchain.node.graph_v2 import build_graph_v2
    from offchain.node.nodes_v2 import check

    out: dict[str, Any] = {}
    budget = f"budget {tiles.DEFAULT_MAX_STEPS:,} steps (SPEC §5.4)"
    if SMOLLM2.path().exists():
        m = load_gguf(SMOLLM2.path())
        g = build_graph_v2(m)
        worst = tiles.worst_estimates(tiles.shape_of(m))
        out["smollm2_nodes_per_position"] = {"value": g.n_f, "unit": "nodes",
                                             "note": f"context {m.shape.max_seq_len}, {budget}"}
        out["smollm2_worst_node_estimate"] = {"value": max(worst.values()), "unit": "steps (upper estimate)",
                                              "target": "<= 2^22 (4,194,304)",
                                              "note": ", ".join(f"{k} {v:,}" for k, v in worst.items())}
        names = [d.name for d in g.descriptors]
        hard = ["logits[0]", "blk.0.gate[0]", "blk.0.ffn_residual[0]", "blk.0.attn", "token", "blk.0.attn_norm"]
        _, results = check(m, [1, 9690, 314, 28, 253], 2, lambda n, n_f: [(n // n_f - 1) * n_f + names.index(k) for k in hard])
        top = max(results, key=lambda r: r.steps)
        out["smollm2_worst_node_steps"] = {"value": top.steps, "unit": "steps",
                                           "note": f"{top.name}, measured in the VM (estimate {top.estimate:,}); every "
                                                   f"checked node matched the native trace: {all(r.reason is None for r in results)}"}
    kinds = ["token_embd", "output"] + [f"blk.{i}.{k}" for i in range(32) for k in
                                        ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")]
    for quant in ("Q8_0", "Q4_0"):
        s7 = tiles.Shape(4096, 11008, 32, 32, 32, 32000, 2048, {k: quant for k in kinds})
        worst = tiles.worst_estimates(s7)
        key = f"7b_v2_{quant.lower()}"
        out[f"{key}_nodes_per_position"] = {"value": tiles.nodes_per_position(s7, tiles.plan(s7)), "unit": "nodes",
                                            "note": f"7B shape, every matrix {quant}, context 2048, {budget}"}
        out[f"{key}_worst_node_estimate"] = {"value": max(worst.values()), "unit": "steps (upper estimate)",
                                             "target": "<= 2^22 (4,194,304)",
                                             "note": ", ".join(f"{k} {v:,}" for k, v in worst.items())
                                             + "; one attention head at context 2048 is the worst node and alone "
                                               "exceeds the budget (heads are not split over positions yet)"}
    return out
