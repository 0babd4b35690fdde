"""The phase-2 trace of a task: every node's output root, in global order, and the states S_i.

Running a task (P prompt tokens, N new ones) evaluates the per-token graph (SPEC §3.3) at positions
0 .. P+N−2. Global node i is the i-th node output in that order; its leaf in the accumulator is
the tensor root of its canonical bytes (SPEC §1.1), and S_i commits to the first i leaves.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from offchain.llm import ops
from offchain.llm.model import IntModel
from offchain.llm.runner import Runner
from offchain.merkle.tensor import TensorTree
from offchain.node.graph import Graph, build_graph
from offchain.merkle.accumulator import Accumulator


@dataclass
class Trace:
    """What a submitter commits and a challenger compares: per-node roots and the accumulator."""

    names: list[str]
    positions: list[int]
    roots: list[bytes]
    tokens: list[int]
    accumulator: Accumulator
    #: canonical output bytes per node, kept only when asked for (check-node, small tasks)
    outputs: list[bytes] | None = None

    @property
    def final_state(self) -> bytes:
        return self.accumulator.root(len(self.roots))


def trace_task(
    model: IntModel,
    prompt: Sequence[int],
    n_new: int,
    keep_outputs: bool = False,
    on_token: Callable[[int], None] | None = None,
    graph: Graph | None = None,
) -> Trace:
    """Run the task natively and commit to every node output of `graph` (default: F of the model).

    The runner emits one output per op; a matmul that F splits into row tiles also gets its tiles'
    outputs, which are prefixes of the full output padded with zeros (SPEC §4.6, §5.4)."""
    tiles = (graph or build_graph(model.config)).tiles_before()
    names: list[str] = []
    positions: list[int] = []
    roots: list[bytes] = []
    outputs: list[bytes] | None = [] if keep_outputs else None
    pos = -1
    # One incremental tree per node name: a KV cache changes by one row per token, so its root
    # costs a few dozen hashes instead of a full rebuild; other nodes fall back to a full build.
    trees: dict[str, TensorTree] = {}

    def emit(name: str, x: np.ndarray) -> None:
        nonlocal pos
        if name == "embed":  # the first node of every token
            pos += 1
        data = ops.canonical_bytes(x)
        tree = trees.get(name)
        if tree is None:
            tree = trees[name] = TensorTree()
        for d in tiles.get(name, ()):
            end = d.prefix[0] + d.prefix[1] * (pos + 1)
            record(d.name, data[:end] + bytes(len(data) - end), tree)
        record(name, data, tree)

    def record(name: str, data: bytes, tree: TensorTree) -> None:
        names.append(name)
        positions.append(pos)
        roots.append(tree.update(data)[0])
        if outputs is not None:
            outputs.append(data)

    tokens = Runner(model).generate(list(prompt), n_new, on_token=on_token, emit=emit)
    return Trace(names, positions, roots, tokens, Accumulator(roots), outputs)
