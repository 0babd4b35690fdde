"""The phase-2 trace of a task: every node's output root, in global order, and the states S_i.

Running a task (P prompt tokens, N new ones) evaluates the per-token graph (SPEC §3.3) at positions
0 .. P+N−2. Global node i is the i-th node output in that order; its leaf in the accumulator is
the tensor root of its canonical bytes (SPEC §1.1), and S_i commits to the first i leaves.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from offchain.llm import ops
from offchain.llm.model import IntModel
from offchain.llm.runner import Runner
from offchain.merkle import batch
from offchain.merkle.accumulator import Accumulator
from offchain.merkle.batch import NodeRoots, split_roots
from offchain.merkle.tensor import TensorTree
from offchain.node.graph import Graph, build_graph


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
    # Natively, a token's node outputs are queued as (name, array, kept bytes) and hashed in one
    # call on a native background thread while the runner computes the next token: hashing then
    # costs wall time only where it is slower than inference. Views (the KV caches, which the
    # runner writes again next token) are copied; every other emitted array is fresh and never
    # written again. A KV cache keeps its tree and rehashes only the paths above its new row.
    hasher = NodeRoots() if batch.NATIVE else None
    started: list[Any] = []
    # This token's node outputs, queued in one add_batch at the next "embed" (or the end).
    keys: list[str] = []
    arrays: list[np.ndarray] = []
    special: dict[int, tuple[int, int]] = {}  # tile prefix rows: position -> (kept bytes, position of the whole)
    # Without it: one incremental tree per node name, updated from the canonical bytes.
    trees: dict[str, TensorTree] = {}

    done: list[bytes] = []

    def flush() -> None:
        if hasher is not None and keys:
            hasher.add_batch(keys, arrays, special)
            started.append(hasher.start(hasher.take()))
            keys.clear()
            arrays.clear()  # add_batch copied the list; the batch keeps the arrays alive
            special.clear()
            # Collect batches two tokens old (long done, as a token's hashing takes less time than its
            # inference): their arrays go, so memory stays flat and the runner's buffers stay hot.
            while len(started) > 2:
                done.append(NodeRoots.finish(started.pop(0)))

    def emit(name: str, x: np.ndarray) -> None:
        nonlocal pos
        if name == "embed":  # the first node of every token
            flush()
            pos += 1
        if hasher is not None and outputs is None and name not in tiles:  # the common case, kept lean
            names.append(name)
            positions.append(pos)
            keys.append(name)
            arrays.append(x if x.base is None else x.copy())
            return
        data = ops.canonical_bytes(x) if hasher is None or outputs is not None else b""
        ds = tiles.get(name, ())
        if hasher is not None:
            x = x if x.base is None else x.copy()
        whole = len(keys) + len(ds)  # where x itself will be queued in this token's batch
        for d in ds:  # a tile's output is a prefix of the whole output: its root is read off x's tree
            end = d.prefix[0] + d.prefix[1] * (pos + 1)
            record(d.name, x, data, end, whole)
        record(name, x, data, None, None)

    def record(name: str, x: np.ndarray, data: bytes, end: int | None, whole: int | None) -> None:
        names.append(name)
        positions.append(pos)
        kept = data if end is None else data[:end] + bytes(max(0, len(data) - end))
        if outputs is not None:
            outputs.append(kept)
        if hasher is not None:
            if end is not None:
                special[len(keys)] = (end, whole)
            keys.append(name)
            arrays.append(x)
        else:
            roots.append(trees.setdefault(name, TensorTree()).update(kept)[0])

    try:
        tokens = Runner(model).generate(list(prompt), n_new, on_token=on_token, emit=emit)
        flush()
    finally:  # also on error: the native thread must be done with every buffer before they go
        done.extend(NodeRoots.finish(b) for b in started)
    for raw in done:
        roots.extend(split_roots(raw))
    return Trace(names, positions, roots, tokens, Accumulator(roots), outputs)
