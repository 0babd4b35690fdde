"""Run by bench/peers.py with the peers' own Python (bench/.peers): llama.cpp on a 7B-shaped GGUF.

argv: a folder to write the GGUF into, then the shape as JSON (bench.llm_7b.SHAPE). Writes a
LLaMA GGUF of that shape with `gguf`, every matrix (token embedding and output included) in Q8_0
and the norms in F32. The Q8_0 blocks (an fp16 scale, then 32 int8) are laid directly from random
bytes, tensor by tensor, so no float copy of a weight is ever made and only one tensor is in memory
at a time; the values do not change the timing. The tokenizer is `none` with `<arch>.vocab_size`
dummy tokens: only token ids are decoded. Then loads it with llama.cpp (llama-cpp-python's
low-level API, CPU, mmap) and decodes one token at a time: one warm-up token, then the median of
4 single-token decodes on 2 threads, then 4 more on one thread. Prints one JSON line.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

QK8_0 = 32  # weights per Q8_0 block
BLOCK = 2 + QK8_0  # bytes per block: fp16 scale, 32 int8


def q8_0_blocks(rows: int, cols: int, pool: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A (rows, cols) matrix as Q8_0 bytes, shape (rows, cols // 32 * 34): random int8 quants cut
    from `pool`, every block's scale 1 / (73 sqrt(cols)) (a random int8 has std ~73, so each row's
    dot product with a unit-variance input has std ~1)."""
    assert cols % QK8_0 == 0
    n_blocks = rows * cols // QK8_0
    out = np.empty((n_blocks, BLOCK), dtype=np.uint8)
    out[:, :2] = np.frombuffer(np.float16(1.0 / (73.0 * np.sqrt(cols))).tobytes(), dtype=np.uint8)
    pool_blocks = pool.reshape(-1, QK8_0)
    step = pool_blocks.shape[0] // 2
    for o in range(0, n_blocks, step):
        m = min(step, n_blocks - o)
        start = int(rng.integers(0, pool_blocks.shape[0] - m + 1))
        out[o : o + m, 2:] = pool_blocks[start : start + m]
    return out.reshape(rows, cols // QK8_0 * BLOCK)


def write_gguf(path: Path, s: dict[str, int], seed: int = 0) -> int:
    """Write the 7B-shaped Q8_0 LLaMA GGUF; return its size in bytes."""
    import gguf

    Q8 = gguf.GGMLQuantizationType.Q8_0
    d, hid, v, n_heads = s["dim"], s["hidden_dim"], s["vocab_size"], s["n_heads"]
    # (name, numpy shape (rows, cols), quantized?) in file order
    specs: list[tuple[str, tuple[int, ...], bool]] = [("token_embd.weight", (v, d), True)]
    for i in range(s["n_layers"]):
        p = f"blk.{i}"
        specs += [(f"{p}.attn_norm.weight", (d,), False), (f"{p}.attn_q.weight", (d, d), True),
                  (f"{p}.attn_k.weight", (d, d), True), (f"{p}.attn_v.weight", (d, d), True),
                  (f"{p}.attn_output.weight", (d, d), True), (f"{p}.ffn_norm.weight", (d,), False),
                  (f"{p}.ffn_gate.weight", (hid, d), True), (f"{p}.ffn_up.weight", (hid, d), True),
                  (f"{p}.ffn_down.weight", (d, hid), True)]
    specs += [("output_norm.weight", (d,), False), ("output.weight", (v, d), True)]

    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("opml-bench-7b-shaped-q8_0")
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    w.add_context_length(s["max_seq_len"])
    w.add_embedding_length(d)
    w.add_block_count(s["n_layers"])
    w.add_feed_forward_length(hid)
    w.add_head_count(n_heads)
    w.add_head_count_kv(n_heads)
    w.add_rope_dimension_count(d // n_heads)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(v)
    w.add_tokenizer_model("none")
    for name, shape, quant in specs:
        if quant:
            rows, cols = shape
            w.add_tensor_info(name, (rows, cols // QK8_0 * BLOCK), np.dtype(np.uint8), rows * cols // QK8_0 * BLOCK,
                              raw_dtype=Q8)
        else:
            w.add_tensor_info(name, shape, np.dtype(np.float32), int(np.prod(shape)) * 4)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    rng = np.random.default_rng(seed)
    pool = np.frombuffer(rng.bytes(64 << 20), dtype=np.uint8)
    for _name, shape, quant in specs:
        a = q8_0_blocks(shape[0], shape[1], pool, rng) if quant else np.ones(shape, np.float32)
        w.write_tensor_data(a)
        del a
    w.close()
    return path.stat().st_size


def decode(path: Path, s: dict[str, int], threads: int = 2, steps: int = 4) -> dict[str, Any]:
    import llama_cpp as ll

    ll.llama_backend_init()
    mp = ll.llama_model_default_params()
    mp.n_gpu_layers = 0
    mp.use_mmap = True
    t0 = time.perf_counter()
    model = ll.llama_model_load_from_file(str(path).encode(), mp)
    if not model:
        raise RuntimeError("llama_model_load_from_file returned NULL")
    cp = ll.llama_context_default_params()
    cp.n_ctx = s["max_seq_len"]
    cp.n_batch = cp.n_ubatch = s["max_seq_len"]
    cp.n_seq_max = 1
    cp.n_threads = cp.n_threads_batch = threads
    ctx = ll.llama_init_from_model(model, cp)
    if not ctx:
        raise RuntimeError("llama_init_from_model returned NULL")
    load_s = time.perf_counter() - t0

    def one(tok: int) -> float:
        arr = (ll.llama_token * 1)(tok)
        t1 = time.perf_counter()
        rc = ll.llama_decode(ctx, ll.llama_batch_get_one(arr, 1))
        ll.llama_synchronize(ctx)
        dt = time.perf_counter() - t1
        if rc != 0:
            raise RuntimeError(f"llama_decode returned {rc}")
        return dt

    warm = one(1)  # first touch of the mapped weights
    times = [one(pos * 7) for pos in range(1, steps + 1)]
    # The same decode on one thread, after: on a busy machine a thread that is not scheduled stalls
    # every barrier of the other, so this is how much of the figure above is contention.
    ll.llama_set_n_threads(ctx, 1, 1)
    times_1 = [one(pos * 7) for pos in range(steps + 1, 2 * steps + 1)]
    logits = np.ctypeslib.as_array(ll.llama_get_logits(ctx), shape=(s["vocab_size"],))
    finite = bool(np.isfinite(logits).all())
    n_params = int(ll.llama_model_n_params(model))
    size = int(ll.llama_model_size(model))
    sysinfo = ll.llama_print_system_info().decode(errors="replace")
    ll.llama_free(ctx)
    ll.llama_model_free(model)
    return {"version": ll.__version__, "s_per_token": float(np.median(times)), "times": times, "warmup_s": warm,
            "s_per_token_1thread": float(np.median(times_1)),
            "load_s": load_s, "threads": threads, "logits_finite": finite, "n_params": n_params,
            "model_bytes": size, "system_info": sysinfo.strip()}


def main(folder: Path, shape: dict[str, int]) -> dict[str, Any]:
    path = folder / "llama-7b-shaped-q8_0.gguf"
    t0 = time.perf_counter()
    nbytes = write_gguf(path, shape)
    write_s = time.perf_counter() - t0
    try:
        r = decode(path, shape)
    finally:
        path.unlink(missing_ok=True)
    import gguf

    r.update({"gguf_version": getattr(gguf, "__version__", None) or _dist_version("gguf"), "gguf_write_s": write_s,
              "gguf_bytes": nbytes, "peak_rss_GiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20})
    return r


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), json.loads(sys.argv[2]))))
