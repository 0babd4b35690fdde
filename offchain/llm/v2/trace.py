"""The trace of a spec v2 task: every node output's tensor root (SPEC §1.1) in global order, and
the accumulator over them (SPEC §5.2), as a submitter commits it.

Positions 0 … P + N − 2 each emit the runner's nodes (SPEC §3v2.3) and then `token`, the
sampler's output (§3v2.7, int32 [1]). A node that graph F splits into tiles (`tiles.plan`, SPEC
§5.4) is preceded by its tiles' outputs, each the whole output with everything after the tile's
range zeroed: their roots come off the whole output's tree. Natively, a token's outputs are hashed
in one call on a background thread while the runner computes the next token (as v1's trace, SPEC
§3.4)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from offchain.llm.ops import canonical_bytes
from offchain.llm.v2.model import ModelV2
from offchain.llm.v2.runner import RunnerV2
from offchain.llm.v2.sample import Sampling, sample
from offchain.llm.v2.tiles import DEFAULT_MAX_STEPS, plan, shape_of, tile_prefixes
from offchain.merkle import batch
from offchain.merkle.accumulator import Accumulator
from offchain.merkle.batch import NodeRoots, split_roots
from offchain.merkle.tensor import TensorTree

PREFILL_BATCH = 32  # prompt positions computed together


@dataclass
class TraceV2:
    names: list[str]
    positions: list[int]
    roots: list[bytes]
    tokens: list[int]
    accumulator: Accumulator
    argmax: list[int]  # the greedy next token after each position (teacher-forced along the input)
    kept: dict[tuple[int, str], bytes] = field(default_factory=dict)  # (position, node name) -> canonical bytes

    @property
    def final_state(self) -> bytes:
        return self.accumulator.root(len(self.roots))


def trace_task(model: ModelV2, ids: list[int], n_new: int, sampling: Sampling = Sampling(),
               stop: Callable[[int], bool] = lambda t: False, on_token: Callable[[int], None] | None = None,
               native: bool | None = None, max_steps: int | None = DEFAULT_MAX_STEPS,
               keep: Callable[[int, str], bool] | None = None) -> TraceV2:
    """Run the task and commit to every node output (with graph F's tiles for `max_steps`);
    generation stops early at a `stop` token (which is still the last node's output, as the graph
    computed it). `keep(pos, name)`: the canonical bytes of the nodes it selects are kept in
    `TraceV2.kept` (a node's inputs, for the VM)."""
    use_native = batch.NATIVE if native is None else native
    hasher = NodeRoots() if use_native else None
    runner = RunnerV2(model)
    tiles = tile_prefixes(shape_of(model), plan(shape_of(model), max_steps))
    trees: dict[str, TensorTree] = {}
    special: dict[int, tuple[int, int]] = {}  # queue index of a tile -> (bytes kept, queue index of the whole)
    kept: dict[tuple[int, str], bytes] = {}
    names: list[str] = []
    positions: list[int] = []
    roots: list[bytes] = []
    keys: list[str] = []
    arrays: list[np.ndarray] = []
    started: list[Any] = []
    done: list[bytes] = []
    pos = 0

    def emit(name: str, x: np.ndarray) -> None:
        before = tiles.get(name, ())
        if hasher is not None:
            x = x if x.base is None else x.copy()
        data = canonical_bytes(x) if hasher is None or keep is not None else b""
        whole = len(keys) + len(before)  # where x itself is queued in this position's batch
        for tile, end in before:
            record(tile, x, data, end, whole)
        record(name, x, data, None, None)

    def record(name: str, x: np.ndarray, data: bytes, end: int | None, whole: int | None) -> None:
        names.append(name)
        positions.append(pos)
        if keep is not None and keep(pos, name):
            kept[(pos, name)] = data if end is None else data[:end] + bytes(len(data) - end)
        if hasher is None:
            part = data if end is None else data[:end] + bytes(len(data) - end)
            roots.append(trees.setdefault(name, TensorTree()).update(part)[0])
            return
        if end is not None:
            assert whole is not None
            special[len(keys)] = (end, whole)
        keys.append(name)
        arrays.append(x)

    def flush() -> None:
        if hasher is not None and keys:
            hasher.add_batch(keys, arrays, special)
            started.append(hasher.start(hasher.take()))
            keys.clear()
            arrays.clear()
            special.clear()
            while len(started) > 2:
                done.append(NodeRoots.finish(started.pop(0)))

    out: list[int] = []
    argmax: list[int] = []

    def position(z: np.ndarray) -> bool:
        """The sampler's node of position `pos`; True when generation ends here."""
        argmax.append(int(np.argmax(z)))
        nxt = sample(z, sampling, pos, model.exp2)
        emit("token", np.array([nxt], dtype=np.int32))
        flush()
        if pos < len(ids) - 1:
            return False
        if len(out) == n_new or stop(nxt):
            return True
        out.append(nxt)
        if on_token:
            on_token(len(out))
        return len(out) == n_new

    ended = False
    try:
        # the prompt in batches (each weight read once per batch), then one token at a time
        for start in range(0, len(ids), PREFILL_BATCH):
            zs, nodes = runner.prefill(ids[start:start + PREFILL_BATCH], start)
            for z, per in zip(zs, nodes):
                for name, x in per:
                    emit(name, x)
                ended = position(z)
                pos += 1
        while not ended:
            z = runner.step(out[-1], pos, emit)
            ended = position(z)
            pos += 1
    finally:  # also on error: the native thread must be done with every buffer before they go
        done.extend(NodeRoots.finish(b) for b in started)
    for raw in done:
        roots.extend(split_roots(raw))
    return TraceV2(names, positions, roots, out, Accumulator(roots), argmax, kept)
