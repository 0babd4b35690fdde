"""The SmolLM2 section of docs/ACCURACY.md: ours and the float model against llama.cpp, same file,
same run (issue 15, item 5). Called by scripts/accuracy_report.py.

llama.cpp (llama-cpp-python in bench/.peers, 2 threads) tokenizes the chat prompts of
bench/data/chat_prompts.json with the file's chat template, answers each greedily, and returns its
teacher-forced logits of prompt + answer (one batch) and of the held-out text bench/data/heldout.txt
in windows (bench/_peer_llama_acc.py; cached in .cache/llama_acc). Our integer runner and the float
model (the file's weights dequantized, float64 activations) then read the same ids, teacher-forced
from position 0, and every answer position is compared: same argmax, KL(llama.cpp ‖ model). Ours
runs its prefixes through RunnerV2.prefill in batches (Batched), checked equal to its one-token
path first.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bench import smollm2 as sb
from bench._metrics import Tally, nll, perplexity

MAX_NEW = 48  # greedy answer tokens at most (cut earlier at EOS / <|im_end|>)
WINDOW = 512  # held-out text windows, tokens
N_CTX = 1024
TARGETS = {"agreement": 0.95, "mean_kl": 0.005, "ppl_rel": 0.01}


class TeacherForced(Protocol):
    def teacher_forced(self, ids: list[int]) -> np.ndarray: ...


class Generator(Protocol):
    def generate(self, ids: list[int], n_new: int, stop_ids: list[int]) -> list[int]: ...


class Batched:
    """Our runner with every known prefix through RunnerV2.prefill in batches of trace.PREFILL_BATCH
    positions (each weight read once per batch; bit for bit T calls of RunnerV2.step, by its
    contract): RunnerV2.teacher_forced's logits and RunnerV2.generate's answers, several times
    faster. measure() checks both against the runner's own methods before using it."""

    def __init__(self, runner: Any):
        from offchain.llm.v2.fixed import ACT_FRAC
        from offchain.llm.v2.trace import PREFILL_BATCH

        self.r, self.unit, self.batch = runner, float(1 << ACT_FRAC), PREFILL_BATCH

    def _prefill(self, ids: list[int]) -> np.ndarray:
        self.r.reset()
        return np.concatenate([self.r.prefill(ids[s : s + self.batch], s)[0] for s in range(0, len(ids), self.batch)])

    def teacher_forced(self, ids: list[int]) -> np.ndarray:
        return self._prefill(ids).astype(np.int64) / self.unit

    def generate(self, ids: list[int], n_new: int, stop_ids: list[int]) -> list[int]:
        z = self._prefill(ids)[-1]
        out: list[int] = []
        pos = len(ids)
        while len(out) < n_new:
            nxt = int(np.argmax(z))
            if nxt in stop_ids:
                break
            out.append(nxt)
            if pos >= self.r.c.max_seq_len or len(out) == n_new:
                break
            z = self.r.step(nxt, pos)
            pos += 1
        return out


def checked_batched(runner: Any, prompt: list[int], answer: list[int], stops: list[int]) -> Batched:
    """Batched(runner), once it gives the runner's own logits and greedy tokens on one chat item."""
    b = Batched(runner)
    if not np.array_equal(b.teacher_forced(prompt + answer), runner.teacher_forced(prompt + answer)):
        raise RuntimeError("RunnerV2.prefill in batches and RunnerV2.teacher_forced give different logits")
    if b.generate(prompt, 8, stops) != runner.generate(prompt, 8, set(stops)):
        raise RuntimeError("RunnerV2.prefill in batches and RunnerV2.generate give different answers")
    return b


def jobs() -> dict[str, Any]:
    return {"threads": sb.THREADS, "n_ctx": N_CTX, "max_new": MAX_NEW, "window": WINDOW,
            "chat": json.loads((sb.DATA / "chat_prompts.json").read_text()),
            "texts": [(sb.DATA / "heldout.txt").read_text()]}


def _strip(ids: list[int], stops: list[int]) -> list[int]:
    return ids[:-1] if ids and ids[-1] in stops else ids


def compare(peer: dict[str, Any], folder: Path, models: dict[str, TeacherForced],
            greedy: Generator | None = None) -> dict[str, Any]:
    """Every model of `models` against llama.cpp's logits in `peer` (the peer's summary; its .npy
    files in `folder`), and each later model against the first ("ours vs float" when models is
    {"float": ..., "ours": ...}). `greedy`, if given, answers each prompt too, to count the answers
    equal to llama.cpp's whole."""
    names = list(models)
    chat = {k: Tally() for k in names}
    text = {k: Tally() for k in names}
    cross = {k: Tally() for k in names[1:]}
    first = {k: 0 for k in names}
    nlls: dict[str, list[np.ndarray]] = {k: [] for k in ["llama.cpp", *names]}
    secs = {k: 0.0 for k in names}
    inc = Tally()
    stops = peer["stop_ids"]
    greedy_equal = greedy_prefix = 0
    for c in peer["chat"]:
        prompt, answer = c["prompt"], c["answer"]
        ref = np.load(folder / c["logits"])  # one row per answer token, the row that predicts it
        if ref.shape[0] != len(answer):
            raise ValueError(f"llama.cpp returned {ref.shape[0]} rows for {len(answer)} answer tokens")
        s = c["incremental_vs_batch"]
        inc.n, inc.agree, inc.kl_sum = inc.n + s["n"], inc.agree + s["agree"], inc.kl_sum + s["kl_sum"]
        seq = prompt + answer
        rows = {}
        for k in names:
            t0 = time.perf_counter()
            rows[k] = models[k].teacher_forced(seq[:-1])[len(prompt) - 1 :]
            secs[k] += time.perf_counter() - t0
            chat[k].add(ref, rows[k])
            first[k] += int(np.argmax(rows[k][0]) == answer[0])
        for k in names[1:]:
            cross[k].add(rows[names[0]], rows[k])
        if greedy is not None:
            t0 = time.perf_counter()
            mine = _strip(greedy.generate(prompt, len(answer), stops), stops)  # as long as theirs
            secs["greedy"] = secs.get("greedy", 0.0) + time.perf_counter() - t0
            theirs = _strip(answer, stops)
            greedy_equal += int(mine == theirs)
            greedy_prefix += next((i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b), min(len(mine),
                                                                                                   len(theirs)))
    n_text = 0
    for t in peer["texts"]:
        for w in t["windows"]:
            ids = w["ids"]
            ref = np.load(folder / w["logits"])
            n_text += len(ids) - 1
            nlls["llama.cpp"].append(nll(ref, ids[1:]))
            for k in names:
                t0 = time.perf_counter()
                z = models[k].teacher_forced(ids)[:-1]
                secs[k] += time.perf_counter() - t0
                text[k].add(ref, z)
                nlls[k].append(nll(z, ids[1:]))
    ppl = {k: perplexity(np.concatenate(v)) for k, v in nlls.items()}
    out: dict[str, Any] = {"names": names, "chat": chat, "text": text, "cross": cross, "first": first, "ppl": ppl,
                           "prompts": len(peer["chat"]), "positions": chat[names[0]].n, "text_positions": n_text,
                           "incremental_vs_batch": inc, "secs": secs}
    if greedy is not None:
        out["greedy_equal"], out["greedy_prefix_mean"] = greedy_equal, greedy_prefix / max(1, len(peer["chat"]))
    return out


def measure() -> dict[str, Any]:
    """Run llama.cpp (or read its cache), load ours and the float model, compare."""
    gguf = sb.model_path()
    t0 = time.perf_counter()
    py = sb.llama_python(build=True)  # `make accuracy` needs llama.cpp: build it if bench/.peers lacks it
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    peer, folder = sb.cached_peer(py, gguf, jobs())
    peer_s = time.perf_counter() - t0
    longest = max([len(c["prompt"]) + len(c["answer"]) for c in peer["chat"]] +
                  [len(w["ids"]) for t in peer["texts"] for w in t["windows"]])
    from offchain.llm.v2 import FloatReference

    models: dict[str, Any] = {"float": FloatReference(str(gguf), max_seq_len=longest)}
    greedy = None
    why_not_ours = ""
    try:
        from offchain.llm.v2 import RunnerV2, load_gguf

        c0 = peer["chat"][0]
        runner = RunnerV2(load_gguf(str(gguf), max_seq_len=longest))
        greedy = models["ours"] = checked_batched(runner, c0["prompt"], c0["answer"], peer["stop_ids"])
    except ImportError as e:
        why_not_ours = f"our integer runner is not available: {e}"
    load0 = os.getloadavg()[0]
    r = compare(peer, folder, models, greedy)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=sb.ROOT, capture_output=True,
                            text=True).stdout.strip()
    r["when"] = (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit or '?'}, "
                 f"load average {load0:.1f} → {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    r.update({"gguf": gguf.relative_to(sb.ROOT).as_posix(), "sha256": sb._file_sha256(gguf), "peer": peer,
              "peer_s": peer_s, "build_s": build_s, "why_not_ours": why_not_ours,
              "answer_tokens": [len(c["answer"]) for c in peer["chat"]]})
    return r


def _ok(good: bool) -> str:
    return "✓" if good else "✗"


def section(r: dict[str, Any]) -> list[str]:
    """docs/ACCURACY.md lines for a measure() result."""
    p, ppl = r["peer"], r["ppl"]
    labels = {"ours": "ours (integer, SPEC §3 v2)", "float": "float model (yardstick)"}
    n = r["prompts"]
    inc: Tally = r["incremental_vs_batch"]
    lines = [
        "## SmolLM2-135M-Instruct (Q4_1 GGUF) against llama.cpp: same file, same run",
        "",
        f"`{r['gguf']}` (sha256 `{r['sha256'][:16]}…`, from `make setup`). llama.cpp is llama-cpp-python "
        f"{p['version']} (built from its sdist into bench/.peers, CPU, {p['threads']} threads, its default f16 KV "
        "cache). It tokenizes each chat prompt with its own tokenizer and the file's chat template (default "
        f"system message), answers greedily (argmax, one token per decode call) up to {MAX_NEW} tokens, cut after "
        "EOS / `<|im_end|>`, and returns its logits of prompt + answer evaluated in one batch (`logits_all`). "
        "Ours and the float model (the file's weights dequantized, float64 activations, "
        "`offchain.llm.v2.FloatReference`) get the same ids and are teacher-forced from position 0; every answer "
        "token's position is compared (the row that predicts it).",
        "",
        f"{n} chat prompts (`bench/data/chat_prompts.json`), **{r['positions']:,} answer positions** "
        f"(answers {min(r['answer_tokens'])}–{max(r['answer_tokens'])} tokens). Perplexity: "
        f"`bench/data/heldout.txt`, a {p['texts'][0]['n_ids']:,}-token English text "
        f"written for this project (never published before, so in no training set), in windows of {WINDOW} tokens "
        f"from an empty cache, {r['text_positions']:,} predictions.",
        "",
        "| model vs llama.cpp | same next token | mean KL(llama.cpp ‖ model), nats | max KL | first answer token "
        "= llama.cpp's | held-out perplexity | vs llama.cpp's |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for k in r["names"][::-1]:
        t: Tally = r["chat"][k]
        rel = ppl[k] / ppl["llama.cpp"] - 1
        lines.append(f"| {labels.get(k, k)} | **{t.agreement:.2%}** | **{t.mean_kl:.4f}** | {t.kl_max:.3f} | "
                     f"{r['first'][k]} of {n} | {ppl[k]:.3f} | {rel:+.2%} |")
    lines += [
        f"| llama.cpp itself, one token per decode vs one batch | {inc.agreement:.2%} | {inc.mean_kl:.4f} | — | "
        f"{n} of {n} | {ppl['llama.cpp']:.3f} | — |",
        "",
    ]
    if "ours" in r["chat"]:
        o: Tally = r["chat"]["ours"]
        rel = abs(ppl["ours"] / ppl["llama.cpp"] - 1)
        lines += [
            "Targets (issue 15): "
            f"agreement ≥ 95% {_ok(o.agreement >= TARGETS['agreement'])}, "
            f"mean KL ≤ 0.005 nats {_ok(o.mean_kl <= TARGETS['mean_kl'])}, "
            f"perplexity within 1% {_ok(rel <= TARGETS['ppl_rel'])}, "
            f"first answer token equal on most prompts {_ok(r['first']['ours'] * 2 > n)}.",
            "",
        ]
        x: Tally = r["cross"]["ours"]
        lines += [f"Ours against the float model on the same positions: {x.agreement:.2%} same next token, mean "
                  f"KL(float ‖ ours) {x.mean_kl:.4f} nats."]
        if "greedy_equal" in r:
            lines += ["", "Whole greedy answers (ours: the prompt through RunnerV2.prefill, then RunnerV2.step, as "
                          f"trace_task runs it) equal to llama.cpp's: {r['greedy_equal']} of {n}; mean common prefix "
                          f"{r['greedy_prefix_mean']:.1f} tokens. "
                          "Greedy answers are chaotic: one different argmax changes everything after it."]
    else:
        lines += [f"**Ours is not measured in this run**: {r['why_not_ours']}."]
    lines += ["", "On the held-out text's positions too (same argmax, mean KL against llama.cpp): " + "; ".join(
        f"{labels.get(k, k)} {r['text'][k].agreement:.2%}, {r['text'][k].mean_kl:.4f}" for k in r["names"][::-1])
        + ".", "",
        "The issue's yardstick, measured earlier on 255 positions of 10 chat prompts: the float model vs llama.cpp "
        "95.3% same next token, mean KL 0.0043; llama.cpp incremental vs batch 97.3%.",
        "",
        f"Measured {r['when']}. Times: llama.cpp's part {r['peer_s']:.0f} s "
        f"({'its answers and logits read from .cache/llama_acc' if p.get('from_cache') else 'run now'}); "
        "teacher-forced passes " + ", ".join(f"{labels.get(k, k)} {r['secs'][k]:.0f} s" for k in r["names"])
        + (f"; our greedy answers {r['secs']['greedy']:.0f} s" if "greedy" in r["secs"] else "") + ".",
        f"llama.cpp's system info: `{p['system_info']}`.",
        "",
        "Greedy answers of llama.cpp to the first prompts (what the answers look like):",
        "",
    ]
    for c, msg in list(zip(p["chat"], jobs()["chat"]))[:3]:
        lines += [f"- *{msg}* → {json.dumps(c['text'], ensure_ascii=False)}"]
    lines.append("")
    return lines
