"""Lying task traces: what a dishonest submitter claims, as trace providers.

Each is the honest `TaskTrace` with one claim changed; every one of them must lose on chain
(tests/agents/test_strategies.py).
"""

from __future__ import annotations

from dataclasses import replace

from offchain.agents.trace import TaskTrace
from offchain.game.task import AnyTask, Claims, wrong_output
from offchain.merkle import keccak, tensor_root
from offchain.mipsemu import VM
from offchain.node.graph import token_bytes


def garbage(tag: str, k: int) -> bytes:
    return keccak(f"{tag}:{k}".encode())


def wrong_answer(task: AnyTask, node: int) -> Claims:
    """Node `node`'s output corrupted, and a different answer: the first token generated at or
    after the node's position changed, its argmax leaf consistent with it (so no token proof
    applies and phase 2 must find exactly `node`, the first leaf that differs)."""
    lie = wrong_output(task, node)
    t = node // task.graph.n_f
    k = max(0, t - (task.n_prompt - 1))
    if k >= task.n_new:
        return lie
    tokens = list(lie.tokens)
    tokens[k] = (tokens[k] + 1) % task.vocab
    leaves = list(lie.leaves)
    argmax = (task.n_prompt - 1 + k) * task.graph.n_f + task.graph.j_argmax
    if argmax == node:  # the lie is the argmax itself: make the corrupted output that token
        value = token_bytes(tokens[k])
        return replace(lie, leaves=tuple(leaves[:node]) + (tensor_root(value)[0],) + tuple(leaves[node + 1:]),
                       tokens=tuple(tokens), outputs=((node, value),))
    leaves[argmax] = tensor_root(token_bytes(tokens[k]))[0]
    return replace(lie, leaves=tuple(leaves), tokens=tuple(tokens))


class Inconsistent(TaskTrace):
    """Claims S_k for k > `lie` that no single node output links to S_lie (and so a wrong S_n)."""

    def __init__(self, task: AnyTask, claims: Claims, lie: int) -> None:
        super().__init__(task, claims)
        self.lie = lie

    def phase2(self, k: int) -> bytes:
        return garbage("S", k) if k > self.lie else super().phase2(k)


class LieMid2(TaskTrace):
    """Posts garbage phase-2 midpoints below `lie`."""

    def __init__(self, task: AnyTask, claims: Claims, lie: int) -> None:
        super().__init__(task, claims)
        self.lie = lie

    def phase2(self, k: int) -> bytes:
        return garbage("S", k) if 0 < k < self.lie else super().phase2(k)


class BogusFinal(TaskTrace):
    """Claims, for its corrupted node, a final VM state with a changed register too."""

    def claimed_final(self, i: int) -> VM:
        vm = super().claimed_final(i)
        if self.claims.output(i) is None:
            return vm
        vm = vm.copy()
        vm.regs[2] ^= 0x5A5A
        return vm


class StepsOff(TaskTrace):
    """Claims its corrupted node's run took `delta` steps more (or fewer) than it does."""

    def __init__(self, task: AnyTask, claims: Claims, delta: int) -> None:
        super().__init__(task, claims)
        self.delta = delta

    def claimed_final(self, i: int) -> VM:
        vm = super().claimed_final(i)
        if self.claims.output(i) is None:
            return vm
        vm = vm.copy()
        vm.step_count = max(1, vm.step_count + self.delta)
        return vm


class LieMid1(TaskTrace):
    """Posts garbage phase-1 midpoints in the second half of its corrupted node's run."""

    def phase1(self, i: int, k: int) -> bytes:
        if self.claims.output(i) is not None and self.final(i).step_count // 2 <= k < self.final(i).step_count:
            return garbage("step", k)
        return super().phase1(i, k)
