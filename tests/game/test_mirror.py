"""The Python mirror of the contracts' checks refuses what they refuse, with the same error.

One table of tampered proofs. Each row is checked twice: by offchain/game (transition.check,
tokens.check_token_mismatch, and paths through them) and by the contract on anvil (NodeLink.verify,
TaskRegistry.proveTokenMismatch). Both must name the row's custom error, the contract's decoded
from its ABI, with the same arguments (reason codes, tree numbers, indices, lengths), or both must
accept (error None) with the same hashes. Rows whose tampering changes
the descriptor re-commit the graph with it, so that the check under test, not the graph path, is
what refuses it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple, dataclass, replace
from typing import Any

import pytest

from offchain.chain.deployment import deploy
from offchain.evm import Chain, ContractRevert
from offchain.game.bounds import commitment
from offchain.game.errors import Revert
from offchain.game.model import ModelSpec, model_spec
from offchain.game.paths import accumulator_path, tree_path
from offchain.game.task import Task, trace
from offchain.game.tokens import TokenMismatch, argmax_index, check_token_mismatch, input_root, tokens_bytes
from offchain.game.transition import TransitionProof, build, check, node_run
from offchain.merkle import tensor_root
from offchain.node.graph import Ref, build_graph
from offchain.protocol import DESC_FIXED_WORDS, MAX_PARAMS, MIN_BOND, OFF_EXIT_CODE, OFF_EXITED, REGION_BYTES

# A transition row: the task, the spec, node i, and the proof, all of which a row may change.
Case = tuple[Task, ModelSpec, int, TransitionProof]


@dataclass(frozen=True)
class Row:
    name: str
    make: Callable[["Cases"], Case]
    error: str | None  # the custom error both must raise; None: both accept


class Cases:
    """Honest starting points the rows tamper with."""

    def __init__(self, llama_task: Task, llama_spec: ModelSpec, mlp_task: Task, mlp_spec: ModelSpec) -> None:
        self.llama, self.spec, self.mlp, self.mlp_spec = llama_task, llama_spec, mlp_task, mlp_spec
        self._built: dict[tuple[int, int], Case] = {}

    def honest(self, task: Task, spec: ModelSpec, i: int) -> Case:
        key = (id(task), i)
        if key not in self._built:  # each proof runs its node in the VM once
            self._built[key] = task, spec, i, build(task, task.honest(), i, node_run(task, i).final())
        return self._built[key]

    def node(self, name: str, t: int) -> Case:
        """The honest proof of the node called `name` at position t of the LLaMA task."""
        return self.honest(self.llama, self.spec, t * self.llama.graph.n_f + self.llama.graph.index(name))

    def with_descriptor(self, case: Case, edit: Callable[[list[int]], None]) -> Case:
        """The case with its descriptor's words edited, and the graph re-committed with it."""
        task, spec, i, p = case
        j = i % task.graph.n_f
        words = [int.from_bytes(p.descriptor[k:k + 4], "big") for k in range(0, len(p.descriptor), 4)]
        edit(words)
        d = b"".join(x.to_bytes(4, "big") for x in words)
        leaves = [tensor_root(x.encode())[0] for x in task.graph.descriptors]
        leaves[j] = tensor_root(d)[0]
        graph = b"".join(leaves)
        return task, replace(spec, graphRoot=tensor_root(graph)[0]), i, replace(p, descriptor=d, graphPath=tree_path(graph, j))


def _input(case: Case, kind: Ref) -> int:
    """The position of the first input of `kind` in the case's descriptor."""
    task, _, i, _ = case
    return next(k for k, r in enumerate(task.graph.descriptors[i % task.graph.n_f].inputs) if r.kind == kind)


def _set(words: list[int], k: int, field: int, value: int) -> None:
    """Set word `field` (0 kind, 1 index, 2 base length, 3 length per position) of input k."""
    words[6 + 4 * k + field] = value


def _proof(case: Case, **fields: Any) -> Case:
    task, spec, i, p = case
    return task, spec, i, replace(p, **fields)


def _tuple_at(values: tuple[bytes, ...], k: int, value: bytes) -> tuple[bytes, ...]:
    return values[:k] + (value,) + values[k + 1:]


K_CACHE = "layers.1.k_cache"  # PREV_TOKEN and SAME_TOKEN inputs, output in place over input 0 (region 2)
Q = "layers.1.q"  # WEIGHT and SAME_TOKEN inputs, output in region 8


def _prev_token_with_path(c: Cases) -> Case:
    case = c.node(K_CACHE, 0)
    k = _input(case, Ref.PREV_TOKEN)
    return _proof(case, inputPaths=_tuple_at(case[3].inputPaths, k, bytes(4)))


def _weight(c: Cases, field: int, value: Callable[[Case], int]) -> Case:
    case = c.node(Q, 1)
    k = _input(case, Ref.WEIGHT)
    return c.with_descriptor(case, lambda w: _set(w, k, field, value(case)))


def _mlp_token_in(c: Cases, **fields: Any) -> Case:
    case = c.honest(c.mlp, c.mlp_spec, 0)
    k = _input(case, Ref.TOKEN_IN)
    p = case[3]
    return _proof(case, **{f: _tuple_at(getattr(p, f), k, v) for f, v in fields.items()})


def _too_many_steps(c: Cases) -> Case:
    case = c.node(K_CACHE, 1)
    state = bytearray(case[3].finalState)
    state[90:98] = ((1 << case[1].stepCap) + 1).to_bytes(8, "big")
    return _proof(case, finalState=bytes(state))


TRANSITIONS: list[Row] = [
    Row("honest, in place (region 2)", lambda c: c.node(K_CACHE, 1), None),
    Row("honest, region 8, at t = 0", lambda c: c.node(Q, 0), None),
    Row("a node index past the accumulator's 2^32 leaves", lambda c: _too_far(c), "IndexOutOfRange"),
    Row("a wrong input count", lambda c: _proof(c.node(K_CACHE, 1), inputLeaves=c.node(K_CACHE, 1)[3].inputLeaves[:-1],
                                                inputPaths=c.node(K_CACHE, 1)[3].inputPaths[:-1]), "InvalidDescriptor"),
    Row("one input path too many", lambda c: _proof(c.node(K_CACHE, 1), inputPaths=c.node(K_CACHE, 1)[3].inputPaths + (b"",)),
        "InvalidDescriptor"),
    Row("an output region other than 2 or 8", lambda c: c.with_descriptor(c.node(K_CACHE, 1), lambda w: w.__setitem__(5, 5)),
        "InvalidDescriptor"),
    Row("a program id out of range",
        lambda c: c.with_descriptor(c.node(K_CACHE, 1), lambda w: w.__setitem__(0, c.spec.nPrograms)), "InvalidDescriptor"),
    Row("a descriptor one word short", lambda c: _proof(c.node(K_CACHE, 1), descriptor=c.node(K_CACHE, 1)[3].descriptor[:-4]),
        "InvalidDescriptor"),
    Row("an MLP token input's leaf is not read", lambda c: _mlp_token_in(c, inputLeaves=bytes([7]) * 32), None),
    Row("an MLP token input with a path", lambda c: _mlp_token_in(c, inputPaths=bytes(4)), "InvalidPathLength"),
    Row("a PREV_TOKEN path at t = 0", _prev_token_with_path, "InvalidPathLength"),
    Row("a PREV_TOKEN index past F", lambda c: c.with_descriptor(
        c.node(K_CACHE, 1), lambda w: _set(w, _input(c.node(K_CACHE, 1), Ref.PREV_TOKEN), 1, c.llama.graph.n_f)),
        "InvalidReference"),
    Row("a SAME_TOKEN index not before the node", lambda c: c.with_descriptor(
        c.node(K_CACHE, 1), lambda w: _set(w, _input(c.node(K_CACHE, 1), Ref.SAME_TOKEN), 1,
                                           c.llama.graph.index(K_CACHE))), "InvalidReference"),
    Row("a WEIGHT index past the weight tree", lambda c: _weight(c, 1, lambda case: case[1].nWeights), "InvalidReference"),
    Row("a WEIGHT with bytes per position", lambda c: _weight(c, 3, lambda case: 4), "InvalidReference"),
    Row("an unknown reference kind", lambda c: _weight(c, 0, lambda case: 9), "InvalidReference"),
    Row("an input larger than a region", lambda c: _weight(c, 2, lambda case: REGION_BYTES + 1), "TensorTooLarge"),
    Row("an op id no kernel has (the contract does not read it)",
        lambda c: c.with_descriptor(c.node(K_CACHE, 1), lambda w: w.__setitem__(1, 0xFFFF)), None),
    Row("a positional flag of 2 (read as 'not 1')",
        lambda c: c.with_descriptor(c.node(K_CACHE, 1), lambda w: w.__setitem__(2, 2)), None),
    Row("a parameter count past the descriptor", lambda c: c.with_descriptor(
        c.node(K_CACHE, 1), lambda w: w.__setitem__(DESC_FIXED_WORDS - 1, w[DESC_FIXED_WORDS - 1] + 1)), "InvalidDescriptor"),
    Row("a final state over the step cap", _too_many_steps, "StepCapExceeded"),
    Row("a final state a byte short", lambda c: _proof(c.node(Q, 1), finalState=c.node(Q, 1)[3].finalState[:-1]),
        "InvalidStateLength"),
    Row("an exited flag of 2", lambda c: _final_byte(c, OFF_EXITED, 2), "InvalidExitedFlag"),
    Row("a final state that has not exited", lambda c: _final_byte(c, OFF_EXITED, 0), "InvalidFinalState"),
    Row("a final state that exited with 1", lambda c: _final_byte(c, OFF_EXIT_CODE, 1), "InvalidFinalState"),
    Row("more parameters than 48", lambda c: c.with_descriptor(
        c.node(Q, 1), lambda w: w.__setitem__(DESC_FIXED_WORDS - 1, MAX_PARAMS + 1)), "InvalidDescriptor"),
    Row("a wrong WEIGHT leaf", lambda c: _leaf(c, Q, Ref.WEIGHT), "InvalidProof"),
    Row("a wrong SAME_TOKEN leaf", lambda c: _leaf(c, Q, Ref.SAME_TOKEN), "InvalidProof"),
    Row("a wrong prompt leaf", lambda c: _leaf(c, "embed", Ref.TOKEN_IN, t=1), "InvalidProof"),
    Row("a wrong argmax leaf after the prompt", lambda c: _leaf(c, "embed", Ref.TOKEN_IN, t=c.llama.n_prompt),
        "InvalidProof"),
    Row("a graph path of another node", lambda c: _proof(c.node(Q, 1), graphPath=c.node(K_CACHE, 1)[3].graphPath),
        "InvalidProof"),
    Row("a programs path with a mask bit past its depth",
        lambda c: _proof(c.node(Q, 1), programPath=(1 << 31).to_bytes(4, "big") + c.node(Q, 1)[3].programPath[4:]),
        "InvalidSiblingMask"),
    Row("an output region path of another region", lambda c: _proof(c.node(Q, 1), regionPath=c.node(K_CACHE, 1)[3].regionPath),
        "InvalidProof"),
    Row("the accumulator path of another node", lambda c: _proof(c.node(Q, 1), accPath=c.node(K_CACHE, 1)[3].accPath),
        "InconsistentTransition"),
]


def _final_byte(c: Cases, offset: int, value: int) -> Case:
    case = c.node(Q, 1)
    state = bytearray(case[3].finalState)
    state[offset] = value
    return _proof(case, finalState=bytes(state))


def _leaf(c: Cases, name: str, kind: Ref, t: int = 1) -> Case:
    case = c.node(name, t)
    k = _input(case, kind)
    return _proof(case, inputLeaves=_tuple_at(case[3].inputLeaves, k, bytes([0xAB]) * 32))


def _too_far(c: Cases) -> Case:
    task, spec, i, p = c.node(K_CACHE, 1)
    return task, spec, i + (task.graph.n_f << 32), p  # the same node j, at a position past 2^32 / F


def _states(task: Task, i: int) -> tuple[bytes, bytes]:
    """The agreed S_i and the claimed S_(i+1); a node past the task's end has none (zero roots)."""
    claims = task.honest()
    return (claims.state(i), claims.state(i + 1)) if i < task.n else (bytes(32), bytes(32))


@pytest.fixture(scope="module")
def cases(llama_task: Task, llama_spec: ModelSpec, mlp, mlp_pixels) -> Cases:  # type: ignore[no-untyped-def]
    graph = build_graph(mlp.config, single_phase=True)
    mlp_task = trace(mlp, graph, mlp_pixels, 1)
    return Cases(llama_task, llama_spec, mlp_task, model_spec(mlp, graph))


@pytest.fixture(scope="module")
def link(chain: Chain):  # type: ignore[no-untyped-def]
    return chain.deploy("NodeLink")


def _python(case: Case) -> tuple[str | None, Any]:
    """(None, (start, final hash)) or (error name, its arguments)."""
    task, spec, i, p = case
    try:
        return None, check(spec, input_root(task.input), task.n_prompt, i, *_states(task, i), p)
    except Revert as e:
        return e.error, e.code


def _contract(link, case: Case) -> tuple[str | None, Any]:  # type: ignore[no-untyped-def]
    task, spec, i, p = case
    ctx = (spec.weightRoot, spec.graphRoot, spec.programsRoot, spec.nF, spec.jArgmax, spec.nWeights, spec.nPrograms,
           spec.arch, spec.stepCap, task.n_prompt, input_root(task.input), i, *_states(task, i))
    try:
        start, final, _steps = link.call("verify", ctx, p.as_tuple())
        return None, (start, final)
    except ContractRevert as e:
        assert e.name, f"a revert the ABI does not name: {e}"
        return e.name, tuple(e.args)


@pytest.mark.parametrize("row", TRANSITIONS, ids=[r.name for r in TRANSITIONS])
def test_the_mirror_and_nodelink_refuse_a_tampered_transition_alike(row: Row, cases: Cases, link) -> None:  # type: ignore[no-untyped-def]
    case = row.make(cases)
    py, chain = _python(case), _contract(link, case)
    assert (py[0], chain[0]) == (row.error, row.error)
    assert py[1] == chain[1]  # the error's arguments, or when both accept the start and final hashes


# -- token proofs: TaskRegistry.proveTokenMismatch against tokens.check_token_mismatch -------------------


@pytest.fixture(scope="module")
def posted(chain: Chain, llama_task: Task, llama_spec: ModelSpec):  # type: ignore[no-untyped-def]
    """A pending result of the LLaMA task on a fresh deployment: (tasks contract, result id)."""
    d = deploy(chain)
    d.models.send("register", astuple(llama_spec))
    now = int(chain.rpc.request("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
    day, bond = 86_400, MIN_BOND  # window and clock far above their floors (SPEC §6.3)
    d.tasks.send("createTask", llama_spec.model_id, llama_task.input, llama_task.n_new, now + 2 * day, day, day,
                 bond, bond, value=bond)
    task_id = int(d.tasks.call("taskCount"))
    tokens, final, salt = tokens_bytes(llama_task.tokens), llama_task.honest().final_state, bytes(32)
    d.tasks.send("commitResult", task_id, commitment(tokens, final, d.tasks.sender, salt), value=bond)
    rid = int(d.tasks.call("resultCount"))
    chain.rpc.request("evm_mine", [])  # a reveal must come in a later block than its commitment
    d.tasks.send("revealResult", rid, tokens, final, salt)
    return d.tasks, rid


def _token_row(task: Task, k: int, leaf_of: int | None = None, path: bytes | None = None) -> TokenMismatch:
    acc = task.honest().accumulator
    n_f, j = task.graph.n_f, task.graph.j_argmax
    i = argmax_index(task.n_prompt, k if leaf_of is None else leaf_of, n_f, j)
    return TokenMismatch(k, acc.levels[0][i], accumulator_path(acc, i, acc.n) if path is None else path, i)


TOKENS = [
    ("a token index out of range", lambda t: _token_row(t, t.n_new, leaf_of=t.n_new - 1), "TokenIndexOutOfRange"),
    ("a token that matches its argmax leaf", lambda t: _token_row(t, 0), "TokenMatches"),
    ("a path that proves another leaf", lambda t: _token_row(t, 0, leaf_of=t.n_new - 1), "InvalidProof"),
    ("a path one sibling short", lambda t: _token_row(t, 0, path=_token_row(t, 0).path[:-32]), "InvalidPathLength"),
]


@pytest.mark.parametrize("name,make,error", TOKENS, ids=[r[0] for r in TOKENS])
def test_the_mirror_and_the_registry_refuse_a_token_proof_alike(name: str, make, error: str, llama_task: Task,  # type: ignore[no-untyped-def]
                                                                 posted) -> None:
    tasks, rid = posted
    p = make(llama_task)
    tokens = tokens_bytes(llama_task.tokens)
    with pytest.raises(Revert) as py:
        check_token_mismatch(llama_task.honest().final_state, tokens, llama_task.n_prompt, llama_task.graph.n_f,
                             llama_task.graph.j_argmax, p)
    with pytest.raises(ContractRevert) as chain:
        # every refusal here comes before the recipient is looked at (SPEC §6.3), so any address will do
        tasks.call("proveTokenMismatch", rid, tokens, p.k, p.leaf, p.path, "0x" + "00" * 20)
    assert (py.value.error, chain.value.name) == (error, error)
    assert py.value.code == tuple(chain.value.args)
