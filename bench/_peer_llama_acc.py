"""Run with the peers' own Python (bench/.peers): llama.cpp on a real GGUF, for `make accuracy`
and bench/smollm2.

argv: the GGUF, a jobs JSON file, an output folder. Prints one JSON line (the summary); the
logits go to .npy files in the output folder, named in the summary.

Token ids come from llama.cpp's own tokenizer and the file's own chat template (the
`tokenizer.chat_template` metadata rendered the way llama-cpp-python's create_chat_completion
renders it: Jinja2ChatFormatter, add_generation_prompt, the template's default system message
unless the job names one, special tokens parsed, no BOS added since the template adds its own
markers), so our side, which receives ids only, sees exactly what llama.cpp sees.

Jobs (every key optional):
- "chat": user messages. For each: the prompt ids; llama.cpp's greedy answer, generated the way
  llama.cpp generates (the prompt in one batch, then one token per decode call, argmax of the last
  logits), cut after the first stop token (EOS or <|im_end|>, kept in the answer) or at "max_new"
  tokens; then the teacher-forced logits of prompt + answer evaluated in one batch (logits_all),
  rows len(prompt)-1 .. len(prompt)+len(answer)-2, i.e. one row per answer token, the row that
  predicts it. Saved float32 as chat_<i>.npy. Also llama.cpp against itself on those rows: the
  batch logits vs the incremental ones the answer was picked from (agreement and KL sum).
- "texts": raw texts for perplexity, tokenized without special tokens or BOS, cut into windows of
  "window" tokens, each window evaluated from an empty cache in one batch; its logits rows
  0 .. n-2 (each predicting the next id) saved float32 as text_<k>_<w>.npy.
- "timing": {"message": a user message, "decode_tokens": N, "repeats": R}: on a second context
  with logits for the last token only (llama.cpp's usual path), prefill of the chat prompt
  (one warm-up, then the median of R runs from an empty cache) and decode (one warm-up token,
  then the median of N single-token decodes, greedy), each call followed by llama_synchronize;
  then N more decodes and R more prefills on one thread.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from _metrics import Tally  # bench/_metrics.py: this script's folder is first on sys.path


def _load(path: str, n_ctx: int, threads: int, logits_all: bool) -> Any:
    from llama_cpp import Llama

    return Llama(model_path=path, n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx, n_threads=threads,
                 n_threads_batch=threads, n_gpu_layers=0, logits_all=logits_all, verbose=False)


def _formatter(llm: Any) -> Any:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        raise RuntimeError("the GGUF has no tokenizer.chat_template")
    eos, bos = llm.token_eos(), llm.token_bos()
    return Jinja2ChatFormatter(template=template, eos_token=llm._model.token_get_text(eos) if eos >= 0 else "",
                               bos_token=llm._model.token_get_text(bos) if bos >= 0 else "")


def chat_ids(llm: Any, fmt: Any, message: str, system: str | None) -> list[int]:
    msgs = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": message}]
    res = fmt(messages=msgs)
    return list(llm.tokenize(res.prompt.encode("utf-8"), add_bos=not res.added_special, special=True))


def stop_ids(llm: Any) -> list[int]:
    """EOS and <|im_end|> (the ChatML end of turn), when the vocabulary has it as one token."""
    out = {int(llm.token_eos())}
    im_end = llm.tokenize(b"<|im_end|>", add_bos=False, special=True)
    if len(im_end) == 1:
        out.add(int(im_end[0]))
    return sorted(out)


def greedy(llm: Any, prompt: list[int], max_new: int, stops: list[int]) -> tuple[list[int], np.ndarray]:
    """The greedy answer and the logits each of its tokens was picked from (incremental decoding)."""
    llm.reset()
    llm.eval(prompt)
    out: list[int] = []
    rows = []
    while True:
        rows.append(np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32))
        tok = int(np.argmax(rows[-1]))
        out.append(tok)
        if tok in stops or len(out) >= max_new:
            return out, np.stack(rows)
        llm.eval([tok])


def batch_logits(llm: Any, ids: list[int]) -> np.ndarray:
    """Logits after every position of `ids`, evaluated in one batch from an empty cache."""
    llm.reset()
    llm.eval(ids)
    return np.array(llm.scores[: len(ids)], dtype=np.float32)


def timing(path: str, threads: int, fmt_src: Any, job: dict[str, Any]) -> dict[str, Any]:
    import llama_cpp as ll

    ids = chat_ids(fmt_src[0], fmt_src[1], job["message"], job.get("system"))
    n_new, repeats = int(job.get("decode_tokens", 16)), int(job.get("repeats", 5))
    llm = _load(path, 512, threads, logits_all=False)

    def timed(tokens: list[int]) -> float:
        t0 = time.perf_counter()
        llm.eval(tokens)
        ll.llama_synchronize(llm.ctx)
        return time.perf_counter() - t0

    prefill = []
    for _ in range(repeats + 1):
        llm.reset()
        prefill.append(timed(ids))
    vocab = llm.n_vocab()

    def decode(n: int) -> list[float]:
        out = []
        for _ in range(n):
            last = np.ctypeslib.as_array(ll.llama_get_logits_ith(llm.ctx, -1), shape=(vocab,))
            out.append(timed([int(np.argmax(last))]))
        return out

    dec = decode(n_new + 1)
    # The same on one thread, right after: on a busy machine a thread that is not scheduled stalls
    # every barrier of the other, so the gap between the two shows how much of the figure is contention.
    ll.llama_set_n_threads(llm.ctx, 1, 1)
    dec1 = decode(n_new)
    prefill1 = []
    for _ in range(repeats):
        llm.reset()
        prefill1.append(timed(ids))
    return {"prompt_ids": ids, "prompt_tokens": len(ids), "prefill_s": statistics.median(prefill[1:]),
            "prefill_times": prefill[1:], "prefill_warmup_s": prefill[0],
            "decode_s_per_token": statistics.median(dec[1:]), "decode_times": dec[1:], "decode_warmup_s": dec[0],
            "decode_s_per_token_1thread": statistics.median(dec1), "decode_times_1thread": dec1,
            "prefill_s_1thread": statistics.median(prefill1), "prefill_times_1thread": prefill1}


def main(path: str, jobs: dict[str, Any], out: Path) -> dict[str, Any]:
    import llama_cpp as ll

    threads = int(jobs.get("threads", 2))
    llm = _load(path, int(jobs.get("n_ctx", 1024)), threads, logits_all=True)
    fmt = _formatter(llm)
    stops = stop_ids(llm)
    res: dict[str, Any] = {"version": ll.__version__, "threads": threads, "stop_ids": stops,
                           "system_info": ll.llama_print_system_info().decode(errors="replace").strip(),
                           "chat": [], "texts": []}
    t0 = time.perf_counter()
    for i, msg in enumerate(jobs.get("chat", [])):
        prompt = chat_ids(llm, fmt, msg, jobs.get("system"))
        answer, incremental = greedy(llm, prompt, int(jobs.get("max_new", 48)), stops)
        logits = batch_logits(llm, prompt + answer)[len(prompt) - 1 : len(prompt) + len(answer) - 1]
        np.save(out / f"chat_{i}.npy", logits)
        # llama.cpp against itself: the same positions decoded one token at a time vs in one batch
        self_check = Tally()
        self_check.add(logits, incremental)
        res["chat"].append({"prompt": prompt, "answer": answer, "logits": f"chat_{i}.npy",
                            "text": llm.detokenize(answer).decode("utf-8", errors="replace"),
                            "incremental_vs_batch": {"n": self_check.n, "agree": self_check.agree,
                                                     "kl_sum": self_check.kl_sum}})
    res["chat_s"] = time.perf_counter() - t0
    window = int(jobs.get("window", 512))
    for k, text in enumerate(jobs.get("texts", [])):
        ids = list(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))
        wins = []
        for w, o in enumerate(range(0, len(ids), window)):
            seg = ids[o : o + window]
            if len(seg) < 2:
                continue
            np.save(out / f"text_{k}_{w}.npy", batch_logits(llm, seg)[:-1])
            wins.append({"ids": seg, "logits": f"text_{k}_{w}.npy"})
        res["texts"].append({"n_ids": len(ids), "windows": wins})
    if "timing" in jobs:
        res["timing"] = timing(path, threads, (llm, fmt), jobs["timing"])
    return res


if __name__ == "__main__":
    out_dir = Path(sys.argv[3])
    out_dir.mkdir(parents=True, exist_ok=True)
    print(json.dumps(main(sys.argv[1], json.loads(Path(sys.argv[2]).read_text()), out_dir)))
