"""The phase-2 trace: per-node roots of a real run, and incremental tensor roots."""

from hypothesis import given
from hypothesis import strategies as st

from offchain.llm.quant import quantize_llama
from offchain.llm.runner import Runner
from offchain.merkle import tensor_root
from offchain.merkle.accumulator import verify_transition
from offchain.merkle.tensor import TensorTree
from offchain.node.trace import trace_task
from tests.llm.helpers import tiny_llama


def _model(seed: int):  # type: ignore[no-untyped-def]
    return quantize_llama(tiny_llama(seed=seed), list(range(40)))


@given(
    first=st.binary(max_size=5000),
    edits=st.lists(st.tuples(st.integers(0, 6000), st.binary(min_size=1, max_size=200)), max_size=6),
)
def test_incremental_tensor_roots_equal_full_rebuilds(first, edits):
    tree = TensorTree()
    data = bytearray(first)
    assert tree.update(bytes(data)) == tensor_root(bytes(data))
    for at, patch in edits:
        at = min(at, len(data))
        data[at : at + len(patch)] = patch  # may also grow the tensor
        assert tree.update(bytes(data)) == tensor_root(bytes(data))


def test_a_trace_commits_to_every_node_of_every_position_in_order():
    model = _model(3)
    prompt, n_new = [1, 2, 3], 4
    tr = trace_task(model, prompt, n_new, keep_outputs=True)
    assert tr.tokens == Runner(model).generate(prompt, n_new)
    per_token = 1 + 17 * model.config.n_layers + 3
    assert len(tr.roots) == per_token * (len(prompt) + n_new - 1)
    assert tr.names[0] == "embed" and tr.names[per_token - 1] == "argmax"
    assert tr.positions == [i // per_token for i in range(len(tr.roots))]
    assert tr.outputs is not None
    assert [tensor_root(o)[0] for o in tr.outputs] == tr.roots
    for i in (0, per_token, len(tr.roots) - 1):
        acc = tr.accumulator
        assert verify_transition(acc.root(i), acc.root(i + 1), i, tr.roots[i], acc.transition_path(i))


def test_two_honest_traces_agree_and_a_different_prompt_does_not():
    model = _model(4)
    a = trace_task(model, [5, 6], 3)
    assert a.final_state == trace_task(model, [5, 6], 3).final_state
    assert a.final_state != trace_task(model, [5, 7], 3).final_state
