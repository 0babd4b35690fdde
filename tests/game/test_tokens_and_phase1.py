"""Task inputs and the token-mismatch proof (SPEC §6.3); phase-1 state hashes and step witnesses
(§6.4) from checkpoints equal a run from the start; the ModelSpec encodes as its ABI struct."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest
from eth_abi import decode
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.game.errors import Revert
from offchain.game.model import MODEL_SPEC_ABI
from offchain.game.paths import check_path
from offchain.game.phase1 import NodeRun, clone_vm
from offchain.game.task import wrong_token
from offchain.game.tokens import (
    check_token_mismatch,
    input_root,
    prompt_depth,
    prompt_leaf,
    task_input,
    token_mismatch,
    tokens_bytes,
)
from offchain.game.transition import start_of
from offchain.mipsemu import hash_packed
from offchain.mipsemu.fastforward import fast_forward
from tests.budget import examples


@given(st.lists(st.integers(0, (1 << 31) - 1), min_size=1, max_size=40), st.data())
def test_every_prompt_token_is_proven_by_its_leaf(prompt, draw):
    data = task_input(prompt)
    assert len(data) == 4 * len(prompt)
    t = draw.draw(st.integers(0, len(prompt) - 1))
    leaf, path = prompt_leaf(data, t)
    check_path(input_root(data), leaf, t // 8, path, prompt_depth(len(prompt)))
    assert int.from_bytes(leaf[4 * (t % 8) : 4 * (t % 8) + 4], "big") == prompt[t]


def test_a_wrong_token_with_the_honest_final_state_is_caught_by_one_proof(llama_task):
    g, honest = llama_task.graph, llama_task.honest()
    assert token_mismatch(honest.accumulator, honest.tokens, llama_task.n_prompt, g.n_f, g.j_argmax) is None
    liar = wrong_token(llama_task, 1)
    assert liar.final_state == honest.final_state and liar.tokens != honest.tokens
    proof = token_mismatch(liar.accumulator, liar.tokens, llama_task.n_prompt, g.n_f, g.j_argmax)
    assert proof is not None and proof.k == 1 and proof.index == (llama_task.n_prompt) * g.n_f + g.j_argmax
    check_token_mismatch(liar.final_state, tokens_bytes(liar.tokens), llama_task.n_prompt, g.n_f, g.j_argmax, proof)
    with pytest.raises(Revert) as e:  # against the honest tokens the same leaf matches
        check_token_mismatch(honest.final_state, tokens_bytes(honest.tokens), llama_task.n_prompt, g.n_f,
                             g.j_argmax, proof)
    assert e.value.error == "TokenMatches"
    with pytest.raises(Revert) as e:  # the leaf of token 0 is not at token 1's index
        check_token_mismatch(liar.final_state, tokens_bytes(liar.tokens), llama_task.n_prompt, g.n_f, g.j_argmax,
                             replace(proof, k=0))
    assert e.value.error == "InvalidProof"


@pytest.fixture(scope="module")
def node_run(llama_task):  # type: ignore[no-untyped-def]
    i = llama_task.n_prompt * llama_task.graph.n_f + llama_task.graph.index("layers.0.scores")
    return NodeRun(start_of(llama_task, i)), start_of(llama_task, i)


@settings(max_examples=examples(25))
@given(st.lists(st.integers(0, 5000), min_size=1, max_size=6))
def test_state_hashes_from_checkpoints_equal_a_run_from_the_start_in_any_order(node_run, ks):
    run, start = node_run
    for k in ks:
        fresh = clone_vm(start)
        fast_forward(fresh, k)
        assert run.state_hash(k) == fresh.state_hash()


def test_the_step_witness_goes_from_k_to_k_plus_1_and_the_end_is_a_fixed_point(node_run):
    run, _ = node_run
    steps = run.steps
    for k in (0, steps // 3, steps - 1):
        w = run.witness(k)
        assert hash_packed(w.pre_state) == run.state_hash(k) and w.post_hash == run.state_hash(k + 1)
        assert len(w.proof) in (896, 1792) and len(w.proof_compact) < len(w.proof)
    assert run.state_hash(steps + 10) == run.state_hash(steps) == run.final().state_hash()


def test_the_model_spec_encodes_as_its_abi_struct(llama_spec):
    (back,) = decode([MODEL_SPEC_ABI], llama_spec.abi())
    assert list(back) == [getattr(llama_spec, f.name) for f in fields(llama_spec)]
    assert replace(llama_spec, uri="other").model_id != llama_spec.model_id
