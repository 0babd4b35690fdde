"""Shared game fixtures: a tiny LLaMA task (prompt across two prompt leaves) and a small MLP."""

from __future__ import annotations

import numpy as np
import pytest

from offchain.game.model import ModelSpec, model_spec
from offchain.game.task import Task, trace
from offchain.llm.model import IntModel
from offchain.llm.quant import quantize_llama, quantize_mlp
from offchain.node.graph import build_graph
from tests.llm.helpers import tiny_llama

PROMPT = [3, 1, 4, 1, 5, 9, 2, 6, 5]  # P = 9: positions 0..7 in prompt leaf 0, 8 in leaf 1
N_NEW = 2


@pytest.fixture(scope="session")
def llama() -> IntModel:
    return quantize_llama(tiny_llama(seed=5), list(range(40)))


@pytest.fixture(scope="session")
def llama_task(llama: IntModel) -> Task:
    return trace(llama, build_graph(llama.config), PROMPT, N_NEW)


@pytest.fixture(scope="session")
def llama_spec(llama_task: Task) -> ModelSpec:
    return model_spec(llama_task.model, llama_task.graph, "tiny")


@pytest.fixture(scope="session")
def mlp() -> IntModel:
    rng = np.random.default_rng(0)
    layers = [(rng.standard_normal((12, 20)).astype(np.float32), rng.standard_normal(12).astype(np.float32)),
              (rng.standard_normal((5, 12)).astype(np.float32), rng.standard_normal(5).astype(np.float32))]
    return quantize_mlp(layers, 1 / 255, 255, rng.integers(0, 256, (16, 20)).astype(np.float32))


@pytest.fixture(scope="session")
def mlp_pixels() -> bytes:
    return np.random.default_rng(1).integers(0, 256, 20).astype(np.uint8).tobytes()
