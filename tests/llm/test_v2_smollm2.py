"""SmolLM2-135M-Instruct end to end under spec v2 (the model `make setup` installs; CI runs this).

Bit-exactness is checked between our own paths (numpy definitions ≡ native C on the real
weights); agreement with llama.cpp is measured by `make accuracy`, not asserted here."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from offchain.llm.known_models import SMOLLM2
from offchain.llm.v2 import RunnerV2, load_gguf
from offchain.llm.v2.commit import weight_root
from offchain.llm.v2.sample import Sampling
from offchain.llm.v2.session import Request, run

PATH = SMOLLM2.path()
CONTEXT = 256
pytestmark = pytest.mark.skipif(not PATH.exists(), reason=f"{SMOLLM2.relpath} is not installed (make setup)")


@pytest.fixture(scope="module")
def model():
    return load_gguf(PATH, CONTEXT)


def opml(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "offchain.cli", *args], capture_output=True, text=True, timeout=600)


def test_native_and_numpy_runners_give_the_same_logits_on_the_real_weights(model):
    fast, slow = RunnerV2(model), RunnerV2(model, use_native=False)
    for pos, tok in enumerate([1, 9690, 198, 2683]):
        assert np.array_equal(fast.step(tok, pos), slow.step(tok, pos))


def test_opml_infer_chat_prints_the_greedy_answer_cut_at_end_of_generation(model):
    r = opml("infer", "--model", "smollm2", "--chat", "Name a primary colour.", "--tokens", "6", "--json",
             "--context", str(CONTEXT))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["spec"] == 2 and out["text"] and out["weight_root"].startswith("0x")
    # the same answer in process: the runner's greedy continuation, cut before <|im_end|> (id 2)
    full = run(PATH, Request(chat="Name a primary colour.", tokens=6, context=CONTEXT), model=model)
    assert full["tokens"] == out["tokens"] and full["input_root"] == out["input_root"] and 2 not in out["tokens"]


def test_token_ids_give_the_teacher_forced_argmax(model):
    ids = [1, 9690, 198, 2683, 359, 253]
    out = run(PATH, Request(token_ids=ids, tokens=2, context=CONTEXT), model=model)
    runner = RunnerV2(model)
    want = [int(np.argmax(runner.step(t, p))) for p, t in enumerate(ids)]
    assert out["argmax"] == want and out["tokens"][0] == want[-1]


def test_sampling_with_one_seed_repeats_and_another_seed_differs(model):
    def tokens(seed: int) -> list[int]:
        req = Request(prompt="Once upon a time", tokens=5, sampling=Sampling(1200, 1000, seed), context=CONTEXT)
        return run(PATH, req, model=model)["tokens"]

    a = tokens(7)
    assert a == tokens(7) and a != tokens(8)


def test_verify_recomputes_the_files_commitment_and_refuses_another_root():
    root = "0x" + weight_root(PATH, CONTEXT).hex()
    bad = opml("model", "verify", "smollm2", "--context", str(CONTEXT), "--root", "0x" + "00" * 32)
    assert root in bad.stdout  # recomputed from the file (the README test runs the accepting form)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1 and "refused" in bad.stderr
