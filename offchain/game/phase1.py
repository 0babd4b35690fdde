"""Phase 1 of a node: VM state hashes at any step of its run, and the step witness (SPEC §6.4).

A bisection over a node's steps asks ~log2(steps) state hashes, mostly increasing (each agreement
moves `lo` up) and now and then lower (a disagreement). A node may run millions of steps, so
`NodeRun` keeps checkpoints (copies of the VM at the steps already visited) and fast-forwards
from the nearest one below the asked step instead of from the start.
"""

from __future__ import annotations

import bisect as _bisect
from dataclasses import dataclass

from offchain.mipsemu import VM
from offchain.mipsemu.fastforward import fast_forward, run_to_exit
from offchain.mipsemu.witness import compact_proof, witness

MAX_CHECKPOINTS = 48
#: Checkpoints also share a memory budget, counted in 4 KiB pages (a 7B-shaped node holds a 45 MB
#: weight tile, and each copy carries its Merkle caches too): 512 MiB of pages in all.
MAX_CHECKPOINT_PAGES = 1 << 17


def clone_vm(vm: VM) -> VM:
    """An independent copy of a VM state (memory included), ready to run (State.copy; the name
    stays for the callers)."""
    return vm.copy()


@dataclass(frozen=True)
class StepWitness:
    """What `step(game, preState, proof, compact)` sends for the step from k to k + 1."""

    lo: int
    pre_state: bytes
    proof: bytes
    proof_compact: bytes
    post_hash: bytes


class NodeRun:
    """A node's honest run from its start state, queried by step."""

    def __init__(self, start: VM) -> None:
        if start.step_count:
            raise ValueError("a node run starts at step 0")
        self._steps = [0]
        self._vms = [clone_vm(start)]
        self._hashes: dict[int, bytes] = {}
        self._final: VM | None = None

    def vm_at(self, k: int) -> VM:
        """A fresh VM at step k (the exited state if the run ends before k)."""
        if k < 0:
            raise ValueError("a step index is >= 0")
        base = _bisect.bisect_right(self._steps, k) - 1
        vm = clone_vm(self._vms[base])
        fast_forward(vm, k)
        if self._steps[base] != k and not vm.exited:
            pages = len(vm.mem.page_store()[0])
            # Keep the start; drop the oldest others while over the count or the memory budget.
            while len(self._steps) > 1 and (len(self._steps) >= MAX_CHECKPOINTS
                                            or pages * len(self._steps) > MAX_CHECKPOINT_PAGES):
                del self._steps[1], self._vms[1]
            pos = _bisect.bisect_right(self._steps, k)
            self._steps.insert(pos, k)
            self._vms.insert(pos, clone_vm(vm))
        return vm

    def state_hash(self, k: int) -> bytes:
        """The state hash after k steps (SPEC §2.1)."""
        if k not in self._hashes:
            self._hashes[k] = self.vm_at(k).state_hash()
        return self._hashes[k]

    def final(self) -> VM:
        """The exited state (a copy)."""
        if self._final is None:
            vm = clone_vm(self._vms[-1])
            run_to_exit(vm)
            self._final = vm
        return clone_vm(self._final)

    @property
    def steps(self) -> int:
        return self.final().step_count

    def witness(self, k: int) -> StepWitness:
        """The witness of the step from k to k + 1 (SPEC §2.7), with its compact proof (§2.8)."""
        vm = self.vm_at(k)
        pre, proof = witness(vm)
        vm.step()
        return StepWitness(k, pre, proof, compact_proof(proof), vm.state_hash())
