"""The phase link (SPEC §6.6) on a real model's v2 graph F (SPEC §5.5): the start-state hash
NodeLink derives on chain from committed data alone equals the hash of the VM built from the
node's v2 program, header and input bytes, for every node kind of SmolLM2-135M-Instruct (tiles
and the sampler node included) at t = 0, the last prompt position, the first generated position
and the last. A neighbouring index, a short path and a changed descriptor word revert with their
named errors. NodeLink is unchanged: v2 is new descriptors and programs, not new rules.
"""

from __future__ import annotations

from dataclasses import astuple, replace
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.evm import ContractRevert
from offchain.game.model_v2 import model_spec_v2
from offchain.game.paths import accumulator_path, tree_path
from offchain.game.task_v2 import TaskV2, trace_v2
from offchain.game.tokens import input_root
from offchain.game.transition import TransitionProof, build, start_of, weight_tree
from offchain.llm.kernels.registry_v2 import OpV2
from offchain.llm.known_models import SMOLLM2
from offchain.llm.v2 import load_gguf
from offchain.node.graph import Ref
from offchain.node.graph_v2 import build_graph_v2
from tests.budget import examples

pytestmark = pytest.mark.skipif(not SMOLLM2.path().exists(), reason="SmolLM2 is not installed (make setup)")
PROMPT, N_NEW = [1, 9690, 314, 28, 253, 9690], 3  # P = 6: TOKEN_IN from the prompt tree at t < 6, from S_i after


@cache
def task() -> TaskV2:
    m = load_gguf(SMOLLM2.path())  # context 2048, as registered: attention splits into head tiles
    tk = trace_v2(m, build_graph_v2(m), PROMPT, N_NEW)
    n_f = tk.graph.n_f
    tk.prefetch_nodes([t * n_f + j for t in positions(tk) for j in range(n_f)])
    return tk


def positions(tk: TaskV2) -> list[int]:
    return sorted({0, tk.n_prompt - 1, tk.n_prompt, tk.n_prompt + tk.n_new - 2})


@cache
def spec():  # type: ignore[no-untyped-def]
    tk = task()
    return model_spec_v2(tk.model, tk.graph, weight_leaves=tk.weight_leaves())


def ctx_of(tk: TaskV2, i: int) -> tuple:
    s = spec()
    return (s.weightRoot, s.graphRoot, s.programsRoot, s.nF, s.jArgmax, s.nWeights, s.nPrograms, s.arch,
            s.stepCap, tk.n_prompt, input_root(tk.input), i, tk.honest().state(i), bytes(32))


def proof_of(tk: TaskV2, i: int) -> TransitionProof:
    return both(tk, i)[0]


def both(tk: TaskV2, i: int) -> tuple[TransitionProof, bytes]:
    """Node i's proof and its emulator start-state hash, from one VM (a 28 MB embedding is slow to load)."""
    vm = start_of(tk, i)
    return build(tk, tk.honest(), i, vm), vm.state_hash()  # startHash does not read the final-state fields


def on_chain(link, tk: TaskV2, i: int, p: TransitionProof) -> bytes:  # type: ignore[no-untyped-def]
    return link.call("startHash", ctx_of(tk, i), astuple(p))


@pytest.fixture(scope="module")
def link(chain):  # type: ignore[no-untyped-def]
    return chain.deploy("NodeLink")


def kinds() -> dict[str, list[int]]:
    """F's node indices by kind: each op, and tiles apart from whole nodes."""
    out: dict[str, list[int]] = {}
    for j, d in enumerate(task().graph.descriptors):
        out.setdefault(d.op.name.lower() + ("[tile]" if d.name.endswith("]") else ""), []).append(j)
    return out


def test_the_kinds_cover_every_v2_op_tiles_and_every_input_kind() -> None:
    k = kinds()
    assert {name.removesuffix("[tile]") for name in k} == {op.name.lower() for op in OpV2}
    assert {"attention[tile]", "linear[tile]"} <= set(k)
    refs = {ref.kind for d in task().graph.descriptors for ref in d.inputs}
    assert refs == {Ref.SAME_TOKEN, Ref.PREV_TOKEN, Ref.WEIGHT, Ref.TOKEN_IN}


@given(data=st.data())
@settings(max_examples=examples(24), deadline=None)
def test_on_chain_start_state_equals_the_emulators_smollm2(link, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    tk = task()
    kind = data.draw(st.sampled_from(sorted(kinds())))
    j = data.draw(st.sampled_from(kinds()[kind]))
    t = data.draw(st.sampled_from(positions(tk)))
    i = t * tk.graph.n_f + j
    p, want = both(tk, i)
    assert on_chain(link, tk, i, p) == want


@pytest.mark.parametrize("name", ["token", "logits[0]", "blk.0.k_cache", "embed"])
def test_every_position_of_the_sampler_a_tile_the_cache_and_the_embedding(link, name: str) -> None:  # type: ignore[no-untyped-def]
    tk = task()
    j = tk.graph.index(name)
    for t in positions(tk):
        i = t * tk.graph.n_f + j
        p, want = both(tk, i)
        assert on_chain(link, tk, i, p) == want, (name, t)


def _input_with(tk: TaskV2, kind: Ref, t: int) -> tuple[int, int]:
    for j, d in enumerate(tk.graph.descriptors):
        for k, ref in enumerate(d.inputs):
            if ref.kind == kind:
                return t * tk.graph.n_f + j, k
    raise AssertionError(f"no input of kind {kind}")


@pytest.mark.parametrize("kind,t", [(Ref.SAME_TOKEN, 6), (Ref.PREV_TOKEN, 6), (Ref.WEIGHT, 0), (Ref.TOKEN_IN, 6)])
def test_an_input_proven_for_a_neighbouring_index_reverts(link, kind: Ref, t: int) -> None:  # type: ignore[no-untyped-def]
    tk = task()
    i, k = _input_with(tk, kind, t)
    p = proof_of(tk, i)
    n_f, ref = tk.graph.n_f, tk.graph.descriptors[i % tk.graph.n_f].inputs[k]
    leaves, paths = list(p.inputLeaves), list(p.inputPaths)
    if kind == Ref.WEIGHT:
        tree, w = weight_tree(tk), ref.index + 1
        leaves[k], paths[k] = tree[32 * w : 32 * w + 32], tree_path(tree, w)
    else:
        src = {Ref.SAME_TOKEN: t * n_f + ref.index, Ref.PREV_TOKEN: (t - 1) * n_f + ref.index,
               Ref.TOKEN_IN: (t - 1) * n_f + tk.graph.j_argmax}[kind]
        acc = tk.honest().accumulator
        leaves[k], paths[k] = acc.levels[0][src + 1], accumulator_path(acc, src + 1, i)
    with pytest.raises(ContractRevert) as e:
        on_chain(link, tk, i, replace(p, inputLeaves=tuple(leaves), inputPaths=tuple(paths)))
    assert e.value.name == "InvalidProof"


def test_a_short_path_and_a_changed_descriptor_word_revert(link) -> None:  # type: ignore[no-untyped-def]
    tk = task()
    i, k = _input_with(tk, Ref.WEIGHT, tk.n_prompt)
    p = proof_of(tk, i)
    paths = list(p.inputPaths)
    paths[k] = paths[k][:-32]
    with pytest.raises(ContractRevert) as e:
        on_chain(link, tk, i, replace(p, inputPaths=tuple(paths)))
    assert e.value.name == "InvalidPathLength" and e.value.args == (len(paths[k]) + 32, len(paths[k]))
    words = bytearray(p.descriptor)
    at = 4 * (8 + 4 * k)  # len_base of the weight input: folding it at another height must fail F's proof
    words[at : at + 4] = (int.from_bytes(words[at : at + 4], "big") * 2).to_bytes(4, "big")
    with pytest.raises(ContractRevert) as e:
        on_chain(link, tk, i, replace(p, descriptor=bytes(words)))
    assert e.value.name == "InvalidProof" and e.value.args == (0, i % tk.graph.n_f)
