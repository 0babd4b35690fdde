"""The phase link (SPEC §6.6): the proof a submitter builds passes a re-implementation of every
contract check, which derives the emulator's start state from committed data alone; a proof for a
neighbouring index, a wrong leaf, a bad final state or a state over the cap is refused."""

from __future__ import annotations

from dataclasses import replace

import pytest

from offchain.game.bisect import play
from offchain.game.errors import Revert
from offchain.game.model import model_spec
from offchain.game.task import Task, trace, wrong_output
from offchain.game.tokens import input_root
from offchain.game.transition import build, check, claimed_final, node_run
from offchain.mipsemu import hash_packed
from offchain.node.graph import Ref, build_graph
from tests.game.conftest import N_NEW, PROMPT


def _check(task: Task, spec, claims, i: int, proof):  # type: ignore[no-untyped-def]
    return check(spec, input_root(task.input), task.n_prompt, i, claims.state(i), claims.state(i + 1), proof)


def _link_holds(task: Task, spec, i: int) -> None:  # type: ignore[no-untyped-def]
    run = node_run(task, i)
    final = run.final()
    start, end = _check(task, spec, task.honest(), i, build(task, task.honest(), i, final))
    assert start == run.state_hash(0), f"node {i}"
    assert end == final.state_hash() and final.step_count <= 1 << spec.stepCap


@pytest.mark.parametrize("t", sorted({0, len(PROMPT) - 1, len(PROMPT), len(PROMPT) + N_NEW - 2}))
def test_every_node_at_the_edge_positions_links_to_the_emulators_start_state(llama_task, llama_spec, t):
    for j in range(llama_task.graph.n_f):
        _link_holds(llama_task, llama_spec, t * llama_task.graph.n_f + j)


def test_tiled_nodes_link_too(llama):
    graph = build_graph(llama.config, max_steps=4000)
    task = trace(llama, graph, PROMPT[:3], 2)
    spec = model_spec(llama, graph)
    tiles = [j for j, d in enumerate(graph.descriptors) if d.name.endswith("]") or f"{d.name}[0]" in
             {x.name for x in graph.descriptors}]
    assert tiles
    for j in tiles:
        _link_holds(task, spec, 2 * graph.n_f + j)


@pytest.mark.parametrize("single_phase", [False, True], ids=["two-phase", "single-phase"])
def test_mlp_nodes_link_with_the_input_root_as_their_token_input(mlp, mlp_pixels, single_phase):
    graph = build_graph(mlp.config, single_phase=single_phase)
    task = trace(mlp, graph, mlp_pixels, 1)
    spec = model_spec(mlp, graph)
    for i in range(task.n):
        _link_holds(task, spec, i)
    proof = build(task, task.honest(), 0, node_run(task, 0).final())
    assert proof.inputLeaves[0] == input_root(mlp_pixels) and proof.inputPaths[0] == b""


@pytest.fixture(scope="module")
def case(llama_task):  # type: ignore[no-untyped-def]
    """A node at t = P with SAME_TOKEN, WEIGHT and (in-place) PREV_TOKEN inputs: the k cache."""
    g = llama_task.graph
    j = g.index("layers.1.k_cache")
    i = len(PROMPT) * g.n_f + j
    final = node_run(llama_task, i).final()
    return i, build(llama_task, llama_task.honest(), i, final), final


def _refused(task, spec, i, proof, error):  # type: ignore[no-untyped-def]
    with pytest.raises(Revert) as e:
        _check(task, spec, task.honest(), i, proof)
    assert e.value.error == error


def test_the_proof_encodes_as_its_abi_struct(case):
    from eth_abi import decode

    from offchain.game.transition import TRANSITION_ABI

    _, proof, _ = case
    (back,) = decode([TRANSITION_ABI], proof.abi())
    assert tuple(tuple(x) if isinstance(x, (list, tuple)) else x for x in back) == proof.as_tuple()


def test_a_proof_for_a_neighbouring_node_is_refused(llama_task, llama_spec, case):
    i, proof, _ = case
    _refused(llama_task, llama_spec, i + 1, proof, "InconsistentTransition")
    _refused(llama_task, llama_spec, i - 1, proof, "InconsistentTransition")


def test_wrong_leaves_of_every_input_kind_are_refused(llama_task, llama_spec, case):
    i, proof, _ = case
    kinds = [ref.kind for ref in llama_task.graph.descriptors[i % llama_task.graph.n_f].inputs]
    assert kinds == [Ref.PREV_TOKEN, Ref.SAME_TOKEN]
    for k in range(len(kinds)):
        leaves = list(proof.inputLeaves)
        leaves[k] = bytes(31) + b"\x01"
        _refused(llama_task, llama_spec, i, replace(proof, inputLeaves=tuple(leaves)), "InvalidProof")


def test_the_token_input_is_read_from_the_prompt_then_from_the_argmax_leaf(llama_task, llama_spec):
    g, honest = llama_task.graph, llama_task.honest()
    for t in (len(PROMPT) - 1, len(PROMPT)):
        i = t * g.n_f  # embed
        proof = build(llama_task, honest, i, node_run(llama_task, i).final())
        if t < len(PROMPT):
            assert proof.inputLeaves[0] == llama_task.input[32:64] + bytes(28)  # prompt leaf 1 holds token 8
        else:
            assert proof.inputLeaves[0] == honest.leaves[(t - 1) * g.n_f + g.j_argmax]
        swapped = list(proof.inputLeaves)
        swapped[1], swapped[2] = swapped[2], swapped[1]  # two weights, each at the other's index
        _refused(llama_task, llama_spec, i, replace(proof, inputLeaves=tuple(swapped)), "InvalidProof")


def test_a_descriptor_of_another_node_or_a_wrong_program_is_refused(llama_task, llama_spec, case):
    i, proof, _ = case
    other = llama_task.graph.descriptors[i % llama_task.graph.n_f + 1].encode()
    _refused(llama_task, llama_spec, i, replace(proof, descriptor=other), "InvalidProof")
    _refused(llama_task, llama_spec, i, replace(proof, entry=proof.entry + 4), "InvalidProof")
    _refused(llama_task, llama_spec, i, replace(proof, descriptor=proof.descriptor + bytes(4)), "InvalidDescriptor")


def test_a_final_state_that_did_not_exit_0_or_passes_the_cap_is_refused(llama_task, llama_spec, case):
    i, proof, final = case
    running = bytearray(proof.finalState)
    running[89] = 0
    _refused(llama_task, llama_spec, i, replace(proof, finalState=bytes(running)), "InvalidFinalState")
    code1 = bytearray(proof.finalState)
    code1[88] = 1
    _refused(llama_task, llama_spec, i, replace(proof, finalState=bytes(code1)), "InvalidFinalState")
    cap = (final.step_count - 1).bit_length() - 1  # 2^cap < steps
    _refused(llama_task, replace(llama_spec, stepCap=cap), i, proof, "StepCapExceeded")
    other_region = replace(proof, regionPath=proof.regionPath[:4] + bytes(32) + proof.regionPath[36:])
    _refused(llama_task, llama_spec, i, other_region, "InvalidProof")


def test_a_lie_links_to_a_fake_final_state_and_loses_the_last_step(llama_task, llama_spec):
    g = llama_task.graph
    i = (len(PROMPT) + N_NEW - 2) * g.n_f + g.index("layers.1.q")
    liar = wrong_output(llama_task, i, offset=3)
    game = play(0, llama_task.n, liar.state, llama_task.honest().state)
    assert (game.lo, game.hi) == (i, i + 1)
    run = node_run(llama_task, i)
    fake = claimed_final(llama_task, liar, i, run.final())
    start, fake_hash = _check(llama_task, llama_spec, liar, i, build(llama_task, liar, i, fake))
    assert start == run.state_hash(0) and fake_hash != run.final().state_hash()
    steps = fake.step_count

    def liar_steps(k: int) -> bytes:
        return fake_hash if k >= steps else run.state_hash(k)

    p1 = play(0, steps, liar_steps, run.state_hash)
    assert (p1.lo, p1.hi) == (steps - 1, steps) and all(p1.agrees)
    w = run.witness(p1.lo)
    assert hash_packed(w.pre_state) == run.state_hash(p1.lo) and w.post_hash != fake_hash
