"""Differential test of the phase link (SPEC §6.6): the start-state hash NodeLink derives on
chain from committed data alone equals the hash of the VM that offchain/node/start.py builds from
the node's real program, header and input bytes.

Hypothesis picks the node: every kind of node of the shipped LLaMA at positions 0, P−1, P and
P+N−2 (the first position, the last prompt token, the first generated one and the last), the
same model with tiles forced by a small step budget, and the MNIST MLP in both graphs. Proofs of
a neighbouring index, with a sibling missing or with a leaf changed must revert with named errors.
"""

from __future__ import annotations

from dataclasses import astuple, replace
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.evm import ContractRevert
from offchain.game.model import model_spec
from offchain.game.paths import accumulator_path, tree_path
from offchain.game.task import Task, trace
from offchain.game.tokens import input_root, prompt_leaf
from offchain.game.transition import TransitionProof, build, start_of, weight_tree
from offchain.llm.format import read_model as load_model
from offchain.node.graph import Ref, build_graph
from tests.budget import examples

ROOT = Path(__file__).resolve().parent.parent
PROMPT, N_NEW = list(b"ROMEO:\nIs "), 3  # P = 10: TOKEN_IN from the prompt tree at t < 10, from S_i after


@cache
def task(kind: str) -> Task:
    if kind == "llama":
        m = load_model(ROOT / "models" / "shakespeare.opml")
        return trace(m, build_graph(m.config), PROMPT, N_NEW)
    if kind == "llama-tiled":  # a budget small enough to split matmuls and attention into tiles
        m = load_model(ROOT / "models" / "shakespeare.opml")
        g = build_graph(m.config, max_steps=40_000)
        assert g.tiles_before(), "the small budget must produce tiles"
        return trace(m, g, PROMPT, N_NEW)
    m = load_model(ROOT / "models" / "mnist.opml")
    pixels = (ROOT / "models" / "opml-mnist" / "input_7").read_bytes() if (ROOT / "models" / "opml-mnist" / "input_7").exists() else bytes(range(256)) * 3 + bytes(16)
    return trace(m, build_graph(m.config, single_phase=(kind == "mlp-single")), pixels, 1)


def ctx_of(tk: Task, i: int, s_i: bytes) -> tuple:
    spec = model_spec(tk.model, tk.graph)
    return (spec.weightRoot, spec.graphRoot, spec.programsRoot, spec.nF, spec.jArgmax, spec.nWeights,
            spec.nPrograms, spec.arch, spec.stepCap, tk.n_prompt, input_root(tk.input), i, s_i, bytes(32))


def proof_of(tk: Task, i: int) -> TransitionProof:
    # The final-state fields are not read by startHash; the start VM stands in for them.
    return build(tk, tk.honest(), i, start_of(tk, i))


def on_chain(link, tk: Task, i: int, p: TransitionProof) -> bytes:  # type: ignore[no-untyped-def]
    return link.call("startHash", ctx_of(tk, i, tk.honest().state(i)), astuple(p))


@pytest.fixture(scope="module")
def link(chain):  # type: ignore[no-untyped-def]
    return chain.deploy("NodeLink")


def nodes(kind: str) -> st.SearchStrategy[int]:
    tk = task(kind)
    n_f = tk.graph.n_f
    positions = sorted({0, tk.n_prompt - 1, tk.n_prompt, tk.n_prompt + tk.n_new - 2})
    return st.tuples(st.sampled_from(positions), st.integers(0, n_f - 1)).map(lambda tj: tj[0] * n_f + tj[1])


@pytest.mark.parametrize("kind", ["llama", "llama-tiled"])
@given(data=st.data())
@settings(max_examples=examples(40))
def test_on_chain_start_state_equals_the_emulators_llama(link, kind: str, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    tk = task(kind)
    i = data.draw(nodes(kind))
    assert on_chain(link, tk, i, proof_of(tk, i)) == start_of(tk, i).state_hash()


@pytest.mark.parametrize("kind", ["mlp", "mlp-single"])
def test_on_chain_start_state_equals_the_emulators_mlp(link, kind: str) -> None:  # type: ignore[no-untyped-def]
    tk = task(kind)
    for i in range(tk.n):
        assert on_chain(link, tk, i, proof_of(tk, i)) == start_of(tk, i).state_hash()


def test_every_input_kind_and_in_place_output_is_covered() -> None:
    """The sampled positions reach every reference kind, both TOKEN_IN sources, and the in-place op."""
    tk = task("llama")
    kinds = {ref.kind for d in tk.graph.descriptors for ref in d.inputs}
    assert kinds == {Ref.SAME_TOKEN, Ref.PREV_TOKEN, Ref.WEIGHT, Ref.TOKEN_IN}
    assert {d.output_region for d in tk.graph.descriptors} == {2, 8}


def _input_with(tk: Task, kind: Ref, t: int) -> tuple[int, int]:
    """A global node at position t and the position of one of its inputs of `kind`."""
    for j, d in enumerate(tk.graph.descriptors):
        for k, ref in enumerate(d.inputs):
            if ref.kind == kind:
                return t * tk.graph.n_f + j, k
    raise AssertionError(f"no input of kind {kind}")


@pytest.mark.parametrize("kind,t", [(Ref.SAME_TOKEN, 4), (Ref.PREV_TOKEN, 4), (Ref.WEIGHT, 2),
                                    (Ref.TOKEN_IN, 1), (Ref.TOKEN_IN, 10)])
def test_an_input_proven_for_a_neighbouring_index_reverts(link, kind: Ref, t: int) -> None:  # type: ignore[no-untyped-def]
    """The contract derives every leaf index itself: a valid proof of the next leaf is refused."""
    tk = task("llama")
    i, k = _input_with(tk, kind, t)
    p = proof_of(tk, i)
    n_f, ref = tk.graph.n_f, tk.graph.descriptors[i % tk.graph.n_f].inputs[k]
    leaves, paths = list(p.inputLeaves), list(p.inputPaths)
    if kind == Ref.WEIGHT:  # the weight tree's next leaf, with its own valid path
        tree, w = weight_tree(tk), ref.index + 1
        leaves[k], paths[k] = tree[32 * w : 32 * w + 32], tree_path(tree, w)
    elif kind == Ref.TOKEN_IN and t < tk.n_prompt:  # the prompt tree's next leaf
        leaves[k], paths[k] = prompt_leaf(tk.input, t + 8)
    else:  # the accumulator leaf one index on, with its own valid path in S_i
        src = {Ref.SAME_TOKEN: t * n_f + ref.index, Ref.PREV_TOKEN: (t - 1) * n_f + ref.index,
               Ref.TOKEN_IN: (t - 1) * n_f + tk.graph.j_argmax}[kind]
        acc = tk.honest().accumulator
        leaves[k], paths[k] = acc.levels[0][src + 1], accumulator_path(acc, src + 1, i)
    with pytest.raises(ContractRevert) as e:
        on_chain(link, tk, i, replace(p, inputLeaves=tuple(leaves), inputPaths=tuple(paths)))
    assert e.value.name == "InvalidProof"


def test_a_path_of_the_wrong_depth_reverts(link) -> None:  # type: ignore[no-untyped-def]
    tk = task("llama")
    i, k = _input_with(tk, Ref.SAME_TOKEN, 5)
    p = proof_of(tk, i)
    paths = list(p.inputPaths)
    paths[k] = paths[k][:-32]  # one sibling short
    with pytest.raises(ContractRevert) as e:
        on_chain(link, tk, i, replace(p, inputPaths=tuple(paths)))
    assert e.value.name == "InvalidPathLength"
    assert e.value.args == (len(paths[k]) + 32, len(paths[k]))


def test_a_changed_descriptor_word_reverts(link) -> None:  # type: ignore[no-untyped-def]
    """Lengths live in the committed descriptor: changing one (to fold at another height) fails F's proof."""
    tk = task("llama")
    i, k = _input_with(tk, Ref.WEIGHT, 1)
    p = proof_of(tk, i)
    words = bytearray(p.descriptor)
    at = 4 * (8 + 4 * k)  # len_base of input k
    words[at : at + 4] = (int.from_bytes(words[at : at + 4], "big") * 2).to_bytes(4, "big")
    with pytest.raises(ContractRevert) as e:
        on_chain(link, tk, i, replace(p, descriptor=bytes(words)))
    assert e.value.name == "InvalidProof" and e.value.args == (0, i % tk.graph.n_f)
