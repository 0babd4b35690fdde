"""Single-phase mode: the OPML demo's MNIST model runs as one VM node and reads the 7."""

import numpy as np
import pytest
from hypothesis import given, settings

from offchain.llm.kernels.mnist import IMAGE, classify, load_image, load_model
from offchain.llm.runner import run_mlp
from tests.budget import examples
from tests.kernels.cases import seeds


def test_the_mnist_data_is_in_the_repository():
    # committed under models/opml-mnist: nothing here may skip for want of it
    assert IMAGE.is_file() and IMAGE.stat().st_size == 784


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    return load_model()


def test_input_7_gives_7_on_the_stepper_and_the_fast_forward(model):
    img = load_image()
    fast, exact = classify(model, img), classify(model, img, exact=True)
    assert fast.digit == exact.digit == run_mlp(model, img)[1] == 7
    assert fast.steps == exact.steps


@settings(max_examples=examples(5))
@given(seed=seeds)
def test_perturbed_images_match_the_native_runner(model, seed):
    rng = np.random.default_rng(seed)
    img = load_image().astype(np.int64) + rng.integers(-60, 61, 784)
    img = np.clip(img, 0, 255).astype(np.uint8) if rng.random() < 0.7 else rng.integers(0, 256, 784, np.uint8)
    assert classify(model, img).digit == run_mlp(model, img)[1]
