"""Collecting the node outputs a runner emits: canonical bytes and tensor roots, in graph order.

Global node index i = t·n_f + j (DESIGN.md §5), t the forward step, j the node within the step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import IO

import numpy as np

from offchain.llm.ops import canonical_bytes
from offchain.merkle import hash_pair, tensor_height, tensor_root

INCREMENTAL_MIN_BYTES = 4096  # below this, rehashing everything is as cheap as diffing


class IncrementalRoot:
    """Tensor root of a tensor that changes a little between calls (a KV cache gains one row per
    step): keeps every level of the tree and rehashes only the paths above changed leaves."""

    def __init__(self) -> None:
        self.leaves: np.ndarray | None = None
        self.levels: list[list[bytes]] = []

    def root(self, data: bytes) -> bytes:
        h = tensor_height(len(data))
        cur = np.frombuffer(data + bytes((32 << h) - len(data)), dtype=np.uint8).reshape(-1, 32)
        if self.leaves is None or self.leaves.shape != cur.shape:
            level = [row.tobytes() for row in cur]
            self.levels = [level]
            while len(level) > 1:
                level = [hash_pair(level[i], level[i + 1]) for i in range(0, len(level), 2)]
                self.levels.append(level)
        else:
            dirty = {int(i) for i in np.nonzero((cur != self.leaves).any(axis=1))[0]}
            for i in dirty:
                self.levels[0][i] = cur[i].tobytes()
            for lv in range(1, len(self.levels)):
                dirty = {i >> 1 for i in dirty}
                below = self.levels[lv - 1]
                for i in dirty:
                    self.levels[lv][i] = hash_pair(below[2 * i], below[2 * i + 1])
        self.leaves = cur.copy()
        return self.levels[-1][0]


@dataclass
class Node:
    step: int
    name: str
    nbytes: int
    root: bytes | None = None
    data: bytes | None = None


@dataclass
class TraceRecorder:
    """An `emit` callback for `Runner.step`/`generate`. Keeps roots and/or bytes, or streams JSON lines."""

    keep_bytes: bool = False
    roots: bool = True
    out: IO[str] | None = None
    nodes: list[Node] = field(default_factory=list)
    _step: int = 0
    _trees: dict[str, IncrementalRoot] = field(default_factory=dict)

    def __call__(self, name: str, x: np.ndarray) -> None:
        b = canonical_bytes(x)
        root = None
        if self.roots:
            if len(b) >= INCREMENTAL_MIN_BYTES and name.endswith(("k_cache", "v_cache")):
                root = self._trees.setdefault(name, IncrementalRoot()).root(b)
            else:
                root = tensor_root(b)[0]
        if name == "embed" and self.nodes:
            self._step += 1
        node = Node(self._step, name, len(b), root, b if self.keep_bytes else None)
        if self.out is not None:
            self.out.write(json.dumps({"t": node.step, "node": name, "bytes": len(b),
                                       **({"root": "0x" + root.hex()} if root else {})}) + "\n")
        self.nodes.append(node)
