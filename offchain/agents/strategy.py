"""What a submitter posts and defends, honest or not (the dishonest ones are test and demo tooling).

A `Plan` is a submitter's whole story about one task: its tokens, its S_n, its claim S_k at any
phase-2 index, and for a disputed node its claimed final VM state and its claim at any step. The
honest plan is the native trace. Each dishonest strategy of `opml serve --dishonest` is a small
function from the honest trace to a lie; every one of them must lose on chain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from offchain.game.phase1 import NodeRun, clone_vm
from offchain.game.task import Claims, Task, wrong_output, wrong_token
from offchain.game.transition import claimed_final
from offchain.merkle import keccak, tensor_root
from offchain.mipsemu import VM
from offchain.node.graph import token_bytes

#: The strategies `opml serve --dishonest` takes (ARG in brackets), for demos and tests only.
SUBMITTER_STRATEGIES = {
    "wrong-token": "post a wrong token k [K, default 0] with the honest S_n (lost to the token proof, bound to the watcher's game)",
    "wrong-node": "corrupt node I's output [I] and post a different answer consistent with it",
    "inconsistent": "claim S_k for k > I [I] that no single node output links to S_I",
    "bogus-final": "corrupt node I [I] and claim a final VM state with a changed register too",
    "steps-short": "corrupt node I [I] and claim its run ended 1000 steps early",
    "steps-long": "corrupt node I [I] and claim its run took 1000 steps more",
    "lie-mid2": "corrupt node I [I] and post garbage midpoints below I in phase 2",
    "lie-mid1": "corrupt node I [I] and post garbage midpoints in the second half of phase 1",
    "silent": "corrupt node I [I] and stop answering after 4 moves (loses on time)",
}
#: The strategies `opml watch --dishonest` takes.
CHALLENGER_STRATEGIES = {
    "contrarian": "challenge every result and disagree with every midpoint (loses against an honest submitter)",
    "silent": "challenge every result and stop answering after 2 moves (loses on time)",
}


def garbage(tag: str, k: int) -> bytes:
    return keccak(f"{tag}:{k}".encode())


@dataclass(frozen=True)
class Strategy:
    name: str = "honest"
    arg: int | None = None

    @classmethod
    def parse(cls, text: str | None, table: dict[str, str]) -> "Strategy":
        """`NAME[:ARG]` from the command line; a one-line ValueError names the known ones."""
        if not text:
            return cls()
        name, _, arg = text.partition(":")
        if name not in table:
            raise ValueError(f"unknown strategy {name!r}: one of {', '.join(table)}")
        try:
            return cls(name, int(arg) if arg else None)
        except ValueError:
            raise ValueError(f"strategy {text!r}: the argument after ':' is an integer") from None

    @property
    def honest(self) -> bool:
        return self.name == "honest"


@dataclass
class Plan:
    """A submitter's story for one task."""

    task: Task
    claims: Claims
    strategy: Strategy = field(default_factory=Strategy)
    _runs: dict[int, NodeRun] = field(default_factory=dict)
    _finals: dict[int, VM] = field(default_factory=dict)

    @property
    def tokens(self) -> tuple[int, ...]:
        return self.claims.tokens

    @property
    def final_state(self) -> bytes:
        return self.phase2(self.task.n)

    def phase2(self, k: int) -> bytes:
        """The claimed S_k."""
        s = self.strategy
        lie = s.arg if s.arg is not None else 0
        if s.name == "inconsistent" and k > lie:
            return garbage("S", k)
        if s.name == "lie-mid2" and 0 < k < lie:
            return garbage("S", k)
        return self.claims.state(k)

    def run(self, i: int) -> NodeRun:
        """Node i's honest run (the submitter's own emulator, started from the honest inputs)."""
        if i not in self._runs:
            from offchain.game.transition import node_run

            self._runs[i] = node_run(self.task, i)
        return self._runs[i]

    def final(self, i: int) -> VM:
        """The final state the submitter claims for node i."""
        if i not in self._finals:
            vm = claimed_final(self.task, self.claims, i, self.run(i).final())
            if self.claims.output(i) is not None:
                name = self.strategy.name
                if name == "bogus-final":
                    vm = clone_vm(vm)
                    vm.regs[2] ^= 0x5A5A
                elif name == "steps-short":
                    vm = clone_vm(vm)
                    vm.step_count = max(1, vm.step_count - 1000)
                elif name == "steps-long":
                    vm = clone_vm(vm)
                    vm.step_count += 1000
            self._finals[i] = vm
        return self._finals[i]

    def phase1(self, i: int, k: int) -> bytes:
        """The claimed VM state hash of node i after k steps."""
        final = self.final(i)
        if k >= final.step_count:
            return final.state_hash()
        if self.strategy.name == "lie-mid1" and self.claims.output(i) is not None and k >= final.step_count // 2:
            return garbage("step", k)
        return self.run(i).state_hash(k)


def wrong_answer(task: Task, node: int) -> Claims:
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


def plan_for(task: Task, strategy: Strategy) -> Plan:
    """The submitter's plan for `task` under `strategy`."""
    if strategy.honest:
        return Plan(task, task.honest(), strategy)
    if strategy.name == "wrong-token":
        return Plan(task, wrong_token(task, strategy.arg or 0), strategy)
    node = strategy.arg if strategy.arg is not None else task.n // 2
    if not 0 <= node < task.n:
        raise ValueError(f"node {node} is outside this task's {task.n} nodes")
    return Plan(task, wrong_answer(task, node), strategy)


Claim = Callable[[int], bytes]
