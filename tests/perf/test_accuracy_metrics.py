"""The metrics of `make accuracy` (bench/_metrics.py) and its SmolLM2 harness
(scripts/accuracy_smollm2.py), on small arrays and stand-in models: no llama.cpp, no real model."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from bench import smollm2 as sb
from bench._metrics import Tally, kl, log_softmax, nll, perplexity, same_argmax

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import accuracy_smollm2 as acc  # noqa: E402


def test_log_softmax_is_normalized_and_ignores_a_constant_per_row():
    z = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 990.0]])
    lp = log_softmax(z)
    assert np.allclose(np.exp(lp).sum(-1), 1.0)
    assert np.allclose(lp, log_softmax(z + np.array([[5.0], [-7.0]])))
    assert np.isfinite(lp).all()  # no overflow at large logits


def test_kl_is_zero_for_one_distribution_and_matches_a_hand_computed_value():
    p = np.log(np.array([[0.5, 0.5]]))
    q = np.log(np.array([[0.25, 0.75]]))
    assert kl(p, p + 3.0)[0] == pytest.approx(0.0, abs=1e-15)
    want = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert kl(p, q)[0] == pytest.approx(want, rel=1e-12)
    assert kl(q, p)[0] != pytest.approx(want, rel=1e-3)  # KL is not symmetric: the order matters
    with pytest.raises(ValueError, match="different shapes"):
        kl(p, np.zeros((1, 3)))


def test_same_argmax_compares_rows():
    a = np.array([[0.0, 1.0, 0.5], [2.0, 0.0, 1.0]])
    b = np.array([[0.0, 3.0, 0.0], [0.0, 0.0, 1.0]])
    assert same_argmax(a, b).tolist() == [True, False]


def test_perplexity_of_uniform_logits_is_the_vocabulary_size():
    z = np.zeros((4, 7))
    assert perplexity(nll(z, [0, 3, 6, 2])) == pytest.approx(7.0)
    sure = np.array([[0.0, 50.0], [50.0, 0.0]])
    assert perplexity(nll(sure, [1, 0])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="targets"):
        nll(z, [0, 1])


def test_a_tally_accumulates_over_calls():
    t = Tally()
    ref = np.log(np.array([[0.5, 0.5], [0.9, 0.1]]))
    t.add(ref, ref)
    t.add(ref, np.log(np.array([[0.25, 0.75], [0.9, 0.1]])))
    assert (t.n, t.agree) == (4, 3)
    assert t.agreement == 0.75
    assert t.mean_kl == pytest.approx(kl(ref[:1], np.log([[0.25, 0.75]]))[0] / 4)
    assert t.kl_max == pytest.approx(t.kl_sum)


V = 11


class Bigram:
    """A stand-in model: the logits after a position depend only on the token there."""

    def __init__(self, seed: int, noise: float = 0.0):
        self.table = np.random.default_rng(0).normal(size=(V, V)) * 3
        self.table += np.random.default_rng(seed).normal(size=(V, V)) * noise
        self.calls: list[list[int]] = []

    def teacher_forced(self, ids: list[int]) -> np.ndarray:
        self.calls.append(list(ids))
        return self.table[np.asarray(ids)]

    def generate(self, ids: list[int], n_new: int, stop_ids: list[int]) -> list[int]:
        out, t = [], ids[-1]
        while len(out) < n_new:
            t = int(np.argmax(self.table[t]))
            if t in stop_ids:
                break
            out.append(t)
        return out


def _peer(tmp_path: Path, ref: Bigram, stops: list[int]) -> dict:
    """A llama.cpp summary as the peer writes it, from the stand-in `ref`: greedy answers and the
    rows that predict each answer token; one held-out window."""
    chat = []
    for i, prompt in enumerate([[1, 2, 3], [4, 5], [6]]):
        answer = ref.generate(prompt, 5, [])
        np.save(tmp_path / f"chat_{i}.npy", ref.teacher_forced(prompt + answer)[len(prompt) - 1 : -1])
        chat.append({"prompt": prompt, "answer": answer, "logits": f"chat_{i}.npy", "text": "",
                     "incremental_vs_batch": {"n": len(answer), "agree": len(answer), "kl_sum": 0.0}})
    ids = [3, 1, 4, 1, 5, 9, 2, 6]
    np.save(tmp_path / "text_0_0.npy", ref.teacher_forced(ids)[:-1])
    return {"stop_ids": stops, "chat": chat, "texts": [{"n_ids": len(ids), "windows": [{"ids": ids,
                                                                                        "logits": "text_0_0.npy"}]}]}


def test_compare_reads_the_row_that_predicts_each_answer_token(tmp_path):
    ref = Bigram(1)
    peer = _peer(tmp_path, ref, stops=[])
    same, other = Bigram(1), Bigram(2, noise=2.0)
    r = acc.compare(peer, tmp_path, {"float": same, "ours": other}, greedy=same)
    n = sum(len(c["answer"]) for c in peer["chat"])
    assert r["positions"] == n == 15 and r["text_positions"] == 7
    # the identical model agrees everywhere with zero KL: the rows line up
    assert r["chat"]["float"].agree == n and r["chat"]["float"].mean_kl == pytest.approx(0.0, abs=1e-12)
    assert r["first"]["float"] == 3 and r["greedy_equal"] == 3 and r["greedy_prefix_mean"] == 5
    assert r["ppl"]["float"] == pytest.approx(r["ppl"]["llama.cpp"])
    # the perturbed one does not, and ours-vs-float is measured against the first model
    assert r["chat"]["ours"].mean_kl > 0.01 and r["cross"]["ours"].mean_kl == pytest.approx(r["chat"]["ours"].mean_kl)
    assert r["ppl"]["ours"] != pytest.approx(r["ppl"]["llama.cpp"])
    # teacher forcing feeds prompt + answer without its last token (whose prediction is never scored)
    c0 = peer["chat"][0]
    assert same.calls[0] == c0["prompt"] + c0["answer"][:-1]


def test_a_stop_token_ends_both_answers_whether_kept_or_not(tmp_path):
    ref = Bigram(1)
    stop = ref.generate([6], 5, [])[2]  # the third token of the last answer becomes a stop token
    peer = _peer(tmp_path, ref, stops=[stop])
    c = peer["chat"][2]
    c["answer"] = c["answer"][:3]  # llama.cpp keeps the stop token in its answer
    np.save(tmp_path / "chat_2.npy", np.load(tmp_path / "chat_2.npy")[:3])
    r = acc.compare(peer, tmp_path, {"ours": Bigram(1)}, greedy=Bigram(1))  # generate() drops it
    assert r["greedy_equal"] >= 1 and r["chat"]["ours"].agree == r["positions"]


def test_compare_rejects_a_peer_whose_rows_do_not_match_its_answer(tmp_path):
    ref = Bigram(1)
    peer = _peer(tmp_path, ref, stops=[])
    peer["chat"][1]["answer"] = peer["chat"][1]["answer"][:-1]
    with pytest.raises(ValueError, match="rows for"):
        acc.compare(peer, tmp_path, {"ours": Bigram(1)})


def test_the_section_states_the_targets_and_each_pair(tmp_path):
    ref = Bigram(1)
    peer = _peer(tmp_path, ref, stops=[])
    r = acc.compare(peer, tmp_path, {"float": Bigram(1), "ours": Bigram(1)}, greedy=Bigram(1))
    peer.update(version="0.0", threads=2, system_info="x")
    r.update(when="now", gguf="m.gguf", sha256="ab" * 32, peer=peer, peer_s=1.0, build_s=0.0, why_not_ours="",
             answer_tokens=[len(c["answer"]) for c in peer["chat"]])
    text = "\n".join(acc.section(r))
    assert "| ours (integer, SPEC §3 v2) | **100.00%** | **0.0000** |" in text
    assert "| float model (yardstick) | **100.00%**" in text
    assert "agreement ≥ 95% ✓" in text and "perplexity within 1% ✓" in text and "3 of 3" in text


def test_the_peer_cache_reruns_only_when_its_inputs_change(tmp_path, monkeypatch):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF one")
    runs = []

    def fake_run(py, path, jobs, out):
        runs.append(jobs)
        (out / "chat_0.npy").write_bytes(b"x")
        return {"n": len(runs)}

    monkeypatch.setattr(sb, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(sb, "run_peer", fake_run)
    a, folder = sb.cached_peer(Path("py"), gguf, {"chat": ["hi"]})
    b, _ = sb.cached_peer(Path("py"), gguf, {"chat": ["hi"]})
    assert a == {"n": 1} and b == {"n": 1, "from_cache": True} and (folder / "chat_0.npy").exists()
    assert json.loads((folder / "summary.json").read_text()) == {"n": 1}
    assert sb.cached_peer(Path("py"), gguf, {"chat": ["hello"]})[0] == {"n": 2}
    gguf.write_bytes(b"GGUF two")
    assert sb.cached_peer(Path("py"), gguf, {"chat": ["hi"]})[0] == {"n": 3}
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.name.startswith("tmp-")] == []


def test_the_smollm2_bench_says_why_it_skips(tmp_path, monkeypatch):
    from bench import peers

    monkeypatch.setattr(sb, "MODEL", tmp_path / "models" / "none.gguf")
    monkeypatch.setattr(sb, "ROOT", tmp_path)
    assert sb.run() == {"skipped": "models/none.gguf is missing: run `make setup`"}
    # without OPML_BENCH_PEERS, a llama.cpp that is not built yet is not built (~16 min)
    monkeypatch.setattr(peers, "PEERS", tmp_path / "peers")
    with pytest.raises(RuntimeError, match="OPML_BENCH_PEERS=1"):
        sb.llama_python(build=False)
    assert not (tmp_path / "peers").exists()


class FakeRunner:
    """A stand-in RunnerV2: int32 logits at 2^-16 that depend on the token and its position, through
    step() or prefill() (optionally wrong about positions, as a broken batch would be)."""

    def __init__(self, broken: bool = False):
        from types import SimpleNamespace

        self.c = SimpleNamespace(max_seq_len=200)
        self.broken, self.prefills = broken, []

    def reset(self) -> None:
        pass

    def step(self, token: int, pos: int) -> np.ndarray:
        z = np.zeros(V, dtype=np.int32)
        z[(token * 3 + pos) % V] = 5 << 16
        z[(token + 1) % V] = 3 << 16
        return z

    def prefill(self, ids: list[int], pos0: int = 0) -> tuple[np.ndarray, list]:
        self.prefills.append((pos0, len(ids)))
        return np.stack([self.step(t, (0 if self.broken else pos0) + i) for i, t in enumerate(ids)]), []

    def teacher_forced(self, ids: list[int]) -> np.ndarray:
        return np.stack([self.step(t, p).astype(np.int64) for p, t in enumerate(ids)]) / 65536.0

    def generate(self, ids: list[int], n_new: int, stop_ids) -> list[int]:
        z, out, pos = self.step(ids[-1], len(ids) - 1), [], len(ids)
        while len(out) < n_new:
            nxt = int(np.argmax(z))
            if nxt in stop_ids:
                break
            out.append(nxt)
            z, pos = self.step(nxt, pos), pos + 1
        return out


def test_batched_prefill_gives_the_runners_own_logits_and_answers():
    ids = [(7 * i) % V for i in range(70)]
    fake = FakeRunner()
    b = acc.checked_batched(fake, ids[:40], ids[40:], stops=[])
    assert np.array_equal(b.teacher_forced(ids), fake.teacher_forced(ids))
    assert fake.prefills[-3:] == [(0, 32), (32, 32), (64, 6)]  # batches of trace.PREFILL_BATCH at their positions
    stop = fake.generate(ids, 5, [])[3]
    assert b.generate(ids, 9, [stop]) == fake.generate(ids, 9, [stop]) and len(b.generate(ids, 9, [stop])) < 9
    with pytest.raises(RuntimeError, match="different logits"):
        acc.checked_batched(FakeRunner(broken=True), ids[:40], ids[40:], stops=[])
