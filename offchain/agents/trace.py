"""What the solver needs from a trace (`TraceProvider`), and the native task trace behind it.

A trace provider is one party's whole story about one task: its tokens and S_n, its claim at any
phase-2 index (S_k), and for any node its claim at any phase-1 step, the node-link proof material
(the transition) and the one-step proof material (the witness). The solver reads nothing else, so
a trace of another kind plugs in by implementing this protocol, and a liar is a provider
whose claims differ (offchain/testing). `TaskTrace` serves both specs' tasks, whose game-layer
interface is the same (`game.task.AnyTask`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from offchain.game.phase1 import NodeRun, StepWitness
from offchain.game.task import AnyTask, Claims
from offchain.game.tokens import TokenMismatch, token_mismatch
from offchain.game.transition import TransitionProof, build, claimed_final, node_run
from offchain.mipsemu import VM


class TraceProvider(Protocol):
    """One party's claims about one task, and the proof material behind them."""

    @property
    def tokens(self) -> tuple[int, ...]:
        """The N generated tokens it claims."""
        ...

    @property
    def final_state(self) -> bytes:
        """The S_n it claims."""
        ...

    def phase2(self, k: int) -> bytes:
        """Its claim S_k (phase 2's index k: after k nodes)."""
        ...

    def phase1(self, i: int, k: int) -> bytes:
        """Its claim for node i's VM state hash after k steps."""
        ...

    def transition(self, i: int) -> TransitionProof:
        """The proof that links S_i to S_{i+1} through node i's start and claimed final state;
        a ValueError or IndexError when its claims cannot be linked."""
        ...

    def step(self, i: int, k: int) -> StepWitness:
        """The witness of node i's step from k to k + 1 (its own, honest, run)."""
        ...

    def token_proof(self, tokens: Sequence[int]) -> TokenMismatch | None:
        """A proof that `tokens` (posted with this trace's S_n) has a token that is not its own
        argmax leaf, or None."""
        ...

    def node_name(self, i: int) -> str:
        """Node i's descriptor name, for the agents' messages."""
        ...


class TaskTrace:
    """The trace of a task run natively, spec v1 (`game.task.Task`) or v2 (`game.task_v2.TaskV2`,
    a GGUF: the same interface), and the claims posted about it (its honest ones by default, or a
    liar's). Claims, node runs and claimed final states are computed once, on first use."""

    def __init__(self, task: AnyTask, claims: Claims | None = None) -> None:
        self.task = task
        self._claims = claims
        self._runs: dict[int, NodeRun] = {}
        self._finals: dict[int, VM] = {}

    @classmethod
    def honest(cls, task: AnyTask) -> "TaskTrace":
        return cls(task)

    @property
    def claims(self) -> Claims:
        """The claims posted; the honest ones (every output's tensor root) made on first use."""
        if self._claims is None:
            self._claims = self.task.honest()
        return self._claims

    @property
    def tokens(self) -> tuple[int, ...]:
        return self.claims.tokens

    @property
    def final_state(self) -> bytes:
        # Through phase2, so that a trace lying about S_k for large k also lies about S_n.
        return self.phase2(self.task.n)

    def phase2(self, k: int) -> bytes:
        return self.claims.state(k)

    def run(self, i: int) -> NodeRun:
        """Node i's honest run (the party's own emulator, started from the honest inputs)."""
        if i not in self._runs:
            self._runs[i] = node_run(self.task, i)
        return self._runs[i]

    def claimed_final(self, i: int) -> VM:
        """The final state claimed for node i: the honest run's, holding the claimed output
        bytes where the claims differ (a subclass may lie about more)."""
        return claimed_final(self.task, self.claims, i, self.run(i).final())

    def final(self, i: int) -> VM:
        if i not in self._finals:
            self._finals[i] = self.claimed_final(i)
        return self._finals[i]

    def phase1(self, i: int, k: int) -> bytes:
        if self.claims.output(i) is None:
            # An honest node: its claimed final state is the run's own, which the run returns
            # for every k past its end, so there is no need to run the node to its end first.
            return self.run(i).state_hash(k)
        final = self.final(i)
        if k >= final.step_count:
            return final.state_hash()
        return self.run(i).state_hash(k)

    def transition(self, i: int) -> TransitionProof:
        return build(self.task, self.claims, i, self.final(i))

    def step(self, i: int, k: int) -> StepWitness:
        return self.run(i).witness(k)

    def token_proof(self, tokens: Sequence[int]) -> TokenMismatch | None:
        g = self.task.graph
        return token_mismatch(self.claims.accumulator, tokens, self.task.n_prompt, g.n_f, g.j_argmax)

    def node_name(self, i: int) -> str:
        return self.task.graph.descriptors[i % self.task.graph.n_f].name
