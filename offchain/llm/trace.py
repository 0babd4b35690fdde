"""Collecting the node outputs a runner emits: canonical bytes and tensor roots, in graph order.

Global node index i = t·n_f + j (DESIGN.md §5), t the forward step, j the node within the step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import IO

import numpy as np

from offchain.llm.ops import canonical_bytes
from offchain.merkle import tensor_root
from offchain.merkle.tensor import TensorTree

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
    _trees: dict[str, TensorTree] = field(default_factory=dict)

    def __call__(self, name: str, x: np.ndarray) -> None:
        b = canonical_bytes(x)
        root = None
        if self.roots:
            # A KV cache gains one row per step: its tree is updated along the changed paths only.
            if name.endswith(("k_cache", "v_cache")):
                root = self._trees.setdefault(name, TensorTree()).update(b)[0]
            else:
                root = tensor_root(b)[0]
        if name == "embed" and self.nodes:
            self._step += 1
        node = Node(self._step, name, len(b), root, b if self.keep_bytes else None)
        if self.out is not None:
            self.out.write(json.dumps({"t": node.step, "node": name, "bytes": len(b),
                                       **({"root": "0x" + root.hex()} if root else {})}) + "\n")
        self.nodes.append(node)
