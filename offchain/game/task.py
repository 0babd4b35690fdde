"""A task as the players see it: the model, F, the input, and the honest trace (SPEC §5.2, §6.3).

`Task` holds what an honest player computes natively (every node's output bytes and the new
tokens); `Claims` is what a submitter posts and defends (its leaves, hence every S_i, and its
tokens). The dishonest strategies are small functions from the honest claims to a lie.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np

from offchain.game.tokens import task_input
from offchain.llm import ops
from offchain.llm.commit import weight_leaf_roots
from offchain.llm.kernels.registry import Node
from offchain.llm.model import ARCH_MLP, IntModel
from offchain.llm.runner import run_mlp
from offchain.merkle import tensor_root
from offchain.merkle.accumulator import Accumulator
from offchain.node.graph import PROGRAMS, Graph, node_at, token_bytes


@dataclass(frozen=True)
class Task:
    """One task and its honest trace: `outputs[i]` is global node i's canonical output."""

    model: IntModel
    graph: Graph
    input: bytes
    n_new: int
    outputs: tuple[bytes, ...]
    tokens: tuple[int, ...]

    @property
    def mlp(self) -> bool:
        return self.model.config.arch == ARCH_MLP

    @property
    def n_prompt(self) -> int:
        return 1 if self.mlp else len(self.input) // 4

    @property
    def prompt(self) -> list[int]:
        return [int.from_bytes(self.input[k : k + 4], "big") for k in range(0, len(self.input), 4)]

    @property
    def n(self) -> int:
        """The node count n = (P + N − 1)·n_f the contract computes."""
        return (self.n_prompt + self.n_new - 1) * self.graph.n_f

    def token_in(self, t: int) -> bytes:
        """The bytes TOKEN_IN reads at t: the token fed there, or the MLP's whole input."""
        if self.mlp:
            return self.input
        fed = self.prompt + list(self.tokens)
        return token_bytes(fed[t])

    def node(self, i: int) -> Node:
        """Global node i's kernel run (header and honest input bytes)."""
        t, j = divmod(i, self.graph.n_f)
        return node_at(self.graph, self.model, j, t, self.outputs, self.token_in(t))

    def honest(self) -> "Claims":
        return Claims(tuple(tensor_root(x)[0] for x in self.outputs), self.tokens)

    def output(self, i: int) -> bytes:
        """Global node i's honest output bytes."""
        return self.outputs[i]

    @property
    def vocab(self) -> int:
        return self.model.config.dims[-1] if self.mlp else self.model.config.vocab_size

    @property
    def programs(self) -> tuple[str, ...]:
        """The kernels F's program ids index (SPEC §5.3)."""
        return PROGRAMS

    def weight_leaves(self) -> list[bytes]:
        """The weight tree's leaves: each leaf's tensor root, in leaf order."""
        return weight_leaf_roots(self.model)


@dataclass(frozen=True)
class Claims:
    """A submitter's result: its accumulator leaves (so S_0 … S_n) and its N tokens. `outputs`
    holds output bytes it claims that differ from the honest ones (node index → bytes)."""

    leaves: tuple[bytes, ...]
    tokens: tuple[int, ...]
    outputs: tuple[tuple[int, bytes], ...] = ()

    @cached_property
    def accumulator(self) -> Accumulator:
        return Accumulator(list(self.leaves))

    def state(self, i: int) -> bytes:
        """S_i."""
        return self.accumulator.root(i)

    @property
    def final_state(self) -> bytes:
        return self.accumulator.root(len(self.leaves))

    def output(self, i: int) -> bytes | None:
        return dict(self.outputs).get(i)


def trace(model: IntModel, graph: Graph, prompt: Sequence[int] | bytes, n_new: int,
          on_token: Callable[[int], None] | None = None) -> Task:
    """Run a task natively and keep every node's output (LLaMA, or an MLP in either mode);
    `on_token` is called with each generated token (progress for long runs)."""
    data = task_input(prompt)
    if model.config.arch != ARCH_MLP:
        from offchain.node.trace import trace_task

        tr = trace_task(model, list(prompt), n_new, keep_outputs=True, graph=graph, on_token=on_token)
        assert tr.outputs is not None
        return Task(model, graph, data, n_new, tuple(tr.outputs), tuple(tr.tokens))
    if n_new != 1:
        raise ValueError("an MLP task has exactly one result (N = 1)")
    pixels = np.frombuffer(data, dtype=np.uint8)
    outs: list[bytes] = []
    _, cls = run_mlp(model, pixels, emit=lambda name, x: outs.append(ops.canonical_bytes(x)))
    if graph.n_f == 1:  # single phase: one node, the class as i32 [1]
        outs = [token_bytes(cls)]
    elif len(outs) != graph.n_f or graph.tiles_before():
        raise ValueError("the MLP's native run does not match its graph node for node")
    return Task(model, graph, data, 1, tuple(outs), (int(cls),))


# -- dishonest strategies -----------------------------------------------------------------------


AnyTask = Any  # Task or game.task_v2.TaskV2: the same interface (graph, n_prompt, node, output, honest, …)


def corrupt(data: bytes, offset: int = 0) -> bytes:
    """`data` with one byte flipped (the lowest bit of byte `offset`)."""
    if not 0 <= offset < len(data):
        raise ValueError(f"byte {offset} is outside a {len(data)}-byte output")
    out = bytearray(data)
    out[offset] ^= 1
    return bytes(out)


def wrong_output(task: AnyTask, node: int, offset: int = 0) -> Claims:
    """A result whose node `node` output has one corrupted byte; everything else is honest (the
    liar's phase-2 claims use the corrupted leaf, its tokens are the honest ones)."""
    bad = corrupt(task.output(node), offset)
    honest = task.honest()
    leaves = list(honest.leaves)
    leaves[node] = tensor_root(bad)[0]
    return Claims(tuple(leaves), honest.tokens, ((node, bad),))


def wrong_output_as(task: AnyTask, node: int, value: bytes) -> Claims:
    """A result whose node `node` outputs `value` (e.g. another class), tokens consistent with it
    when `node` is an argmax node feeding a result token."""
    honest = task.honest()
    leaves = list(honest.leaves)
    leaves[node] = tensor_root(value)[0]
    tokens = list(honest.tokens)
    t, j = divmod(node, task.graph.n_f)
    k = t - (task.n_prompt - 1)
    if j == task.graph.j_argmax and 0 <= k < len(tokens) and len(value) == 4:
        tokens[k] = int.from_bytes(value, "big", signed=True)
    return Claims(tuple(leaves), tuple(tokens), ((node, value),))


def wrong_token(task: AnyTask, k: int, token: int | None = None) -> Claims:
    """A result with the honest S_n but token k replaced (default: the next token id)."""
    honest = task.honest()
    tokens = list(honest.tokens)
    tokens[k] = (tokens[k] + 1) % task.vocab if token is None else token
    return replace(honest, tokens=tuple(tokens))
