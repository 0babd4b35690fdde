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
    return out
