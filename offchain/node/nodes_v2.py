"""A spec v2 task's nodes as VM runs: node i's header and input bytes from F, the file and the
trace (SPEC §5.1 resolution, as NodeLink derives it from roots), and `check` to re-execute
chosen nodes in the VM against the roots the native trace committed (`opml check-node`).

A v2 trace is too large to keep (SmolLM2: ~1.4 MB of node outputs per position), so the inputs
of the chosen nodes are kept while the trace runs (`needed`), not every output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from offchain.llm.kernels.registry_v2 import NodeV2, OpV2
from offchain.llm.ops import canonical_bytes
from offchain.llm.v2.model import ModelV2
from offchain.llm.v2.tiles import DEFAULT_MAX_STEPS
from offchain.llm.v2.trace import TraceV2, trace_task
from offchain.merkle import tensor_root
from offchain.node.graph import Graph, Ref
from offchain.node.graph_v2 import build_graph_v2, estimate_steps_v2, leaf_bytes_v2

Key = tuple[int, str]  # (position, node name)


def needed(graph: Graph, picks: Iterable[int]) -> set[Key]:
    """The (position, name) outputs the global nodes `picks` read (SAME_TOKEN and PREV_TOKEN)."""
    out: set[Key] = set()
    names = [d.name for d in graph.descriptors]
    for i in picks:
        t, j = divmod(i, graph.n_f)
        for ref in graph.descriptors[j].inputs:
            if ref.kind == Ref.SAME_TOKEN:
                out.add((t, names[ref.index]))
            elif ref.kind == Ref.PREV_TOKEN and t > 0:
                out.add((t - 1, names[ref.index]))
    return out


def node_v2(graph: Graph, model: ModelV2, i: int, fed: list[int], kept: dict[Key, bytes]) -> NodeV2:
    """Global node i's kernel run: the header F gives at its position and its resolved inputs
    (`kept` must hold what `needed` named; `fed[t]` is the token fed at position t)."""
    t, j = divmod(i, graph.n_f)
    d = graph.descriptors[j]
    names = [x.name for x in graph.descriptors]
    inputs: list[bytes] = []
    for ref in d.inputs:
        if ref.kind == Ref.WEIGHT:
            inputs.append(leaf_bytes_v2(model, graph.weight_names[ref.index]))
        elif ref.kind == Ref.TOKEN_IN:
            inputs.append(canonical_bytes(np.array([fed[t]], dtype=np.int32)))
        elif ref.kind == Ref.SAME_TOKEN:
            inputs.append(kept[(t, names[ref.index])])
        elif t == 0:
            inputs.append(bytes(ref.length(0)))
        else:
            inputs.append(kept[(t - 1, names[ref.index])])
    assert isinstance(d.op, OpV2)
    return NodeV2(d.op, graph.header(j, t), tuple(inputs))


@dataclass(frozen=True)
class Checked:
    """One node re-executed in the VM."""

    index: int
    name: str
    position: int
    native_root: bytes
    vm_root: bytes
    steps: int
    estimate: int
    reason: str | None  # None: the VM's end state shows the committed output (SPEC §4.5)


def check(model: ModelV2, ids: list[int], n_new: int, pick: Callable[[int, int], list[int]],
          exact: bool = False, stop: Callable[[int], bool] = lambda t: False,
          on_node: Callable[[Checked], None] | None = None,
          max_steps: int | None = DEFAULT_MAX_STEPS) -> tuple[TraceV2, list[Checked]]:
    """Trace the task natively (greedy, as F's sampler node is), then run the nodes
    `pick(n_nodes, n_f)` chooses in the VM from the inputs F resolves."""
    from offchain.llm.kernels import run
    from offchain.node.start import check_end, output_bytes

    graph = build_graph_v2(model, max_steps)
    # The node count is known only after the run (generation may stop early): trace once for the
    # roots, then again keeping the chosen nodes' inputs. Both runs are the same bits.
    first = trace_task(model, ids, n_new, stop=stop, max_steps=max_steps)
    picks = pick(len(first.roots), graph.n_f)
    want = needed(graph, picks)
    tr = trace_task(model, ids, n_new, stop=stop, max_steps=max_steps, keep=lambda pos, name: (pos, name) in want)
    assert tr.roots == first.roots
    fed = list(ids) + tr.tokens
    results: list[Checked] = []
    for i in picks:
        t, j = divmod(i, graph.n_f)
        d = graph.descriptors[j]
        node = node_v2(graph, model, i, fed, tr.kept)
        vm = run(node, exact=exact)
        region = node.output_region
        vm_root = tensor_root(output_bytes(vm, node.header, region))[0]
        c = Checked(i, d.name, t, tr.roots[i], vm_root, vm.step_count, estimate_steps_v2(d, model.shape),
                    check_end(vm, tr.roots[i], node.header, region))
        results.append(c)
        if on_node:
            on_node(c)
    return tr, results
