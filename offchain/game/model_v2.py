"""A spec v2 model as the ModelRegistry records it (SPEC §5.5, §6.2): its `ModelSpec` from the
GGUF and F, and `verify_v2`, the off-chain check that a registered record is that file and F.

F of a v2 model is a pure function of the file's config, its weight types and the step budget, so
verify rebuilds it and compares every descriptor byte, where v1's verify checks each descriptor
against its kernel: nothing but the canonical F is accepted.
"""

from __future__ import annotations

from collections.abc import Sequence

from offchain.game.model import MAX_STEP_CAP, ModelSpec
from offchain.game.verify import ModelInvalid
from offchain.llm.v2.commit import ARCH_LLAMA, leaf_roots
from offchain.llm.v2.model import ModelV2
from offchain.merkle import tensor_root
from offchain.node.graph import Graph, model_commitment
from offchain.node.graph_v2 import PROGRAMS_V2, build_graph_v2, estimate_steps_v2, programs_root_v2


def step_cap_v2(graph: Graph, model: ModelV2) -> int:
    """The smallest K with 2^K at least every node's step estimate (SPEC §6.2)."""
    worst = max(estimate_steps_v2(d, model.shape) for d in graph.descriptors)
    return max(1, (worst - 1).bit_length())


def model_spec_v2(model: ModelV2, graph: Graph, uri: str = "", weight_leaves: list[bytes] | None = None) -> ModelSpec:
    """The ModelSpec of a GGUF served with F = `graph` (`weight_leaves`: the leaf roots, if known)."""
    c = model.shape
    leaves = weight_leaves if weight_leaves is not None else leaf_roots(model.path, c.max_seq_len)
    wroot, groot, proot = tensor_root(b"".join(leaves))[0], graph.root(), programs_root_v2()
    return ModelSpec(
        weightRoot=wroot, graphRoot=groot, programsRoot=proot, commitment=model_commitment(wroot, groot, proot),
        arch=ARCH_LLAMA, nF=graph.n_f, jArgmax=graph.j_argmax, nWeights=len(graph.weight_names),
        nPrograms=len(PROGRAMS_V2), stepCap=step_cap_v2(graph, model), vocab=c.vocab_size, context=c.max_seq_len,
        inputBytes=0, uri=uri)


def verify_v2(model: ModelV2, descriptors: Sequence[bytes], spec: ModelSpec,
              weight_leaves: list[bytes] | None = None) -> Graph:
    """F and the record against the file (`weight_leaves`: its leaf roots, if already hashed from
    it): raises ModelInvalid with a one-line reason."""
    try:
        graph = build_graph_v2(model)
    except ValueError as e:
        raise ModelInvalid(str(e)) from None
    if len(descriptors) != graph.n_f:
        raise ModelInvalid(f"F has {len(descriptors)} nodes, the file's F has {graph.n_f}")
    for j, (got, d) in enumerate(zip(descriptors, graph.descriptors)):
        if got != d.encode():
            raise ModelInvalid(f"node {j} ({d.name}) is not the descriptor the file's F has there")
    want = model_spec_v2(model, graph, spec.uri, weight_leaves)
    for name in ("weightRoot", "graphRoot", "programsRoot", "commitment", "arch", "nF", "jArgmax", "nWeights",
                 "nPrograms", "vocab", "context", "inputBytes"):
        if getattr(spec, name) != getattr(want, name):
            show = (lambda v: "0x" + v.hex()) if isinstance(getattr(want, name), bytes) else str
            raise ModelInvalid(f"spec {name} is {show(getattr(spec, name))}, the file gives {show(getattr(want, name))}")
    if not want.stepCap <= spec.stepCap <= MAX_STEP_CAP:
        raise ModelInvalid(f"step cap 2^{spec.stepCap}: the step estimates need 2^{want.stepCap} (at most 2^{MAX_STEP_CAP})")
    return graph
