"""Every kernel's output region equals the numpy reference bytes (offchain/llm/ops.py), per op.

Most examples run through the fast-forward (which hands short runs to the exact stepper); a
sample of each op also runs on the exact stepper alone, and the two must end in the same state.
"""

import numpy as np
import pytest
from hypothesis import given, settings

from offchain.llm.kernels import output, run
from offchain.llm.kernels import registry as R
from tests.kernels.cases import CASES, linear, seeds


def _check(node: R.Node, expected: bytes, exact: bool = False):  # type: ignore[no-untyped-def]
    vm = run(node, exact=exact)
    assert vm.exited and vm.exit_code == 0, f"exit code {vm.exit_code}"
    assert output(node, vm) == expected
    # nothing past the output: the output region holds exactly the tensor
    assert vm.mem.read(0x80000000 + len(expected), 64) == bytes(64)
    return vm


@pytest.mark.parametrize("op", list(CASES), ids=lambda op: op.name.lower())
@settings(max_examples=60)
@given(seed=seeds)
def test_kernel_matches_numpy(op, seed):
    node, expected = CASES[op](np.random.default_rng(seed))
    assert node.op == op
    _check(node, expected)


@pytest.mark.parametrize("mode", list(R.LinearMode), ids=lambda m: m.name.lower())
@settings(max_examples=15)
@given(seed=seeds)
def test_linear_every_mode(mode, seed):
    _check(*linear(np.random.default_rng(seed), mode))


@pytest.mark.parametrize("op", list(CASES), ids=lambda op: op.name.lower())
def test_exact_stepper_agrees_with_fast_forward(op):
    for seed in range(3):
        node, expected = CASES[op](np.random.default_rng(1000 + seed))
        a = _check(node, expected, exact=True)
        b = _check(node, expected, exact=False)
        assert (a.step_count, a.mem.root(), a.pc) == (b.step_count, b.mem.root(), b.pc)
