"""A spec v2 task as the players see it: the GGUF model, its F (SPEC §5.5), the prompt and the
honest trace's roots. The interface is `game.task.Task`'s, so the phase link, the bisection and
the dishonest strategies take either.

A v2 trace's outputs are too large to keep (SmolLM2: over 10 MB a position with its tiles), so
`TaskV2` keeps the roots and re-runs the task natively for the few nodes a game needs bytes of
(one disputed node's inputs, a liar's corrupted output): the same bits every time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from offchain.game.task import Claims
from offchain.game.tokens import task_input
from offchain.llm.kernels.registry_v2 import NodeV2
from offchain.llm.ops import canonical_bytes
from offchain.llm.v2.commit import leaf_roots
from offchain.llm.v2.model import ModelV2
from offchain.llm.v2.tiles import DEFAULT_MAX_STEPS
from offchain.llm.v2.trace import trace_task
from offchain.node.graph import Graph
from offchain.node.graph_v2 import PROGRAMS_V2
from offchain.node.nodes_v2 import Key, needed, node_v2


@dataclass
class TaskV2:
    """One greedy v2 task and its honest trace: `leaves[i]` is global node i's output root."""

    model: ModelV2
    graph: Graph
    input: bytes  # the prompt, i32 big-endian (SPEC §6.3)
    n_new: int
    leaves: tuple[bytes, ...]
    tokens: tuple[int, ...]
    max_steps: int | None = DEFAULT_MAX_STEPS
    _kept: dict[Key, bytes] = field(default_factory=dict, repr=False)
    _weights: list[bytes] | None = field(default=None, repr=False)

    mlp = False

    @property
    def n_prompt(self) -> int:
        return len(self.input) // 4

    @property
    def prompt(self) -> list[int]:
        return [int.from_bytes(self.input[k : k + 4], "big") for k in range(0, len(self.input), 4)]

    @property
    def n(self) -> int:
        return (self.n_prompt + self.n_new - 1) * self.graph.n_f

    @property
    def vocab(self) -> int:
        return self.model.shape.vocab_size

    @property
    def programs(self) -> tuple[str, ...]:
        return PROGRAMS_V2

    def weight_leaves(self) -> list[bytes]:
        if self._weights is None:
            self._weights = leaf_roots(self.model.path, self.model.shape.max_seq_len)
        return self._weights

    def token_in(self, t: int) -> bytes:
        return canonical_bytes(np.array([(self.prompt + list(self.tokens))[t]], dtype=np.int32))

    def honest(self) -> Claims:
        return Claims(self.leaves, self.tokens)

    def prefetch(self, keys: Iterable[Key]) -> None:
        """Re-run the task once, keeping the outputs `keys` names (position, node name)."""
        want = set(keys) - set(self._kept)
        if not want:
            return
        tr = trace_task(self.model, self.prompt, self.n_new, max_steps=self.max_steps,
                        keep=lambda pos, name: (pos, name) in want)
        if tuple(tr.roots) != self.leaves:  # the same bits every run, or the model changed under us
            raise RuntimeError("a re-run of the task does not reproduce its trace")
        self._kept.update(tr.kept)

    def _key(self, i: int) -> Key:
        t, j = divmod(i, self.graph.n_f)
        return t, self.graph.descriptors[j].name

    def prefetch_nodes(self, indices: Sequence[int]) -> None:
        """Keep what `node(i)` and `output(i)` need for each i, in one re-run."""
        self.prefetch(needed(self.graph, indices) | {self._key(i) for i in indices})

    def node(self, i: int) -> NodeV2:
        self.prefetch(needed(self.graph, [i]))
        return node_v2(self.graph, self.model, i, self.prompt + list(self.tokens), self._kept)

    def output(self, i: int) -> bytes:
        self.prefetch([self._key(i)])
        return self._kept[self._key(i)]


def trace_v2(model: ModelV2, graph: Graph, prompt: Sequence[int], n_new: int,
             on_token: Callable[[int], None] | None = None, max_steps: int | None = DEFAULT_MAX_STEPS) -> TaskV2:
    """Run a greedy task natively and commit to every node of `graph` (built with `max_steps`):
    exactly N new tokens, as the contract counts nodes (no stop at an end-of-generation token)."""
    tr = trace_task(model, list(prompt), n_new, on_token=on_token, max_steps=max_steps)
    if len(tr.roots) != (len(prompt) + n_new - 1) * graph.n_f:
        raise ValueError("the trace does not have F's nodes at every position (F built with another budget?)")
    return TaskV2(model, graph, task_input(prompt), n_new, tuple(tr.roots), tuple(tr.tokens), max_steps)
