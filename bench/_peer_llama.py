"""Run by bench/peers.py with the peers' own Python (bench/.peers): llama.cpp on a 7B-shaped GGUF.

Two commands, each printing one JSON line, so that writing the file and each side's decode are
separate processes (each decode's peak RSS is its own):
- `write FOLDER SHAPE_JSON QUANT`: a LLaMA GGUF of the shape (bench.llm_7b.SHAPE) with `gguf`,
  every matrix (token embedding and output included, untied) in QUANT (Q8_0 or Q4_0) and the norms
  in F32. The blocks (an fp16 scale, then 32 int8 or 32 packed nibbles) are laid directly from
  random bytes, tensor by tensor, so no float copy of a weight is ever made and only one tensor is
  in memory at a time; the values do not change the timing, the scales are finite and set so that
  each row's dot product with a unit-variance input has std ~1. The tokenizer is `none` with
  `<arch>.vocab_size` dummy tokens: only token ids are decoded.
- `decode PATH SHAPE_JSON`: loads it with llama.cpp (llama-cpp-python's low-level API, CPU, mmap,
  default buffer types) and decodes one token at a time: one warm-up token, then the median of 4
  single-token decodes on 2 threads, then 4 more on one thread.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

QK8_0 = 32  # weights per block (Q8_0 and Q4_0 alike)
BLOCK = 2 + QK8_0  # bytes per Q8_0 block: fp16 scale, 32 int8
#: quant -> (bytes per block: the fp16 scale then the payload, std of a random block value). A
#: random int8 has std ~73; a random Q4_0 value (nibble - 8, uniform over -8..7) has std ~4.6.
QUANTS: dict[str, tuple[int, float]] = {"Q8_0": (BLOCK, 73.0), "Q4_0": (2 + QK8_0 // 2, 4.61)}


def quant_blocks(quant: str, rows: int, cols: int, pool: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A (rows, cols) matrix as `quant` block bytes, shape (rows, cols // 32 * block bytes): random
    payloads (int8 quants or packed nibbles) cut from `pool`, every block's scale
    1 / (std sqrt(cols)), so each row's dot product with a unit-variance input has std ~1 (for the
    7B shape: ~2e-4 in Q8_0, ~2e-3..3.4e-3 in Q4_0; finite, normal fp16)."""
    bb, spread = QUANTS[quant]
    assert cols % QK8_0 == 0
    n_blocks = rows * cols // QK8_0
    out = np.empty((n_blocks, bb), dtype=np.uint8)
    out[:, :2] = np.frombuffer(np.float16(1.0 / (spread * np.sqrt(cols))).tobytes(), dtype=np.uint8)
    payload = bb - 2
    pool_blocks = pool[: pool.size // payload * payload].reshape(-1, payload)
    step = pool_blocks.shape[0] // 2
    for o in range(0, n_blocks, step):
        m = min(step, n_blocks - o)
        start = int(rng.integers(0, pool_blocks.shape[0] - m + 1))
        out[o : o + m, 2:] = pool_blocks[start : start + m]
    return out.reshape(rows, cols // QK8_0 * bb)


def peak_rss_gib() -> float:
    """This process's own peak resident set (VmHWM: reset at exec), in GiB. ru_maxrss would do on its
    own but for one Linux detail: a child keeps the parent's peak from the moment it was forked."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def q8_0_blocks(rows: int, cols: int, pool: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """quant_blocks in Q8_0: shape (rows, cols // 32 * 34), every scale 1 / (73 sqrt(cols))."""
    return quant_blocks("Q8_0", rows, cols, pool, rng)


def write_gguf(path: Path, s: dict[str, int], seed: int = 0, quant: str = "Q8_0") -> int:
    """Write the LLaMA GGUF of shape `s`, every matrix in `quant` (Q8_0 or Q4_0); return its size in bytes."""
    import gguf

    if quant not in QUANTS:
        raise ValueError(f"quant {quant!r} is not one of {', '.join(QUANTS)}")
    qtype = gguf.GGMLQuantizationType[quant]
    bb = QUANTS[quant][0]
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
    w.add_name(f"opml-bench-7b-shaped-{quant.lower()}")
    w.add_file_type(gguf.LlamaFileType["MOSTLY_" + quant])
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
    for name, shape, quantized in specs:
        if quantized:
            rows, cols = shape
            w.add_tensor_info(name, (rows, cols // QK8_0 * bb), np.dtype(np.uint8), rows * cols // QK8_0 * bb,
                              raw_dtype=qtype)
        else:
            w.add_tensor_info(name, shape, np.dtype(np.float32), int(np.prod(shape)) * 4)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    rng = np.random.default_rng(seed)
    pool = np.frombuffer(rng.bytes(64 << 20), dtype=np.uint8)
    for _name, shape, quantized in specs:
        a = quant_blocks(quant, shape[0], shape[1], pool, rng) if quantized else np.ones(shape, np.float32)
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

    cpu: list[float] = []

    def one(tok: int) -> float:
        arr = (ll.llama_token * 1)(tok)
        t1, c1 = time.perf_counter(), time.process_time()
        rc = ll.llama_decode(ctx, ll.llama_batch_get_one(arr, 1))
        ll.llama_synchronize(ctx)
        dt = time.perf_counter() - t1
        cpu.append(time.process_time() - c1)  # all of the process's threads: the work, apart from waiting
        if rc != 0:
            raise RuntimeError(f"llama_decode returned {rc}")
        return dt

    warm = one(1)  # first touch of the mapped weights
    times = [one(pos * 7) for pos in range(1, steps + 1)]
    cpu_s = float(np.median(cpu[1:]))
    # The same decode on one thread, after: on a busy machine a thread that is not scheduled stalls
    # every barrier of the other, so this is how much of the figure above is contention.
    ll.llama_set_n_threads(ctx, 1, 1)
    times_1 = [one(pos * 7) for pos in range(steps + 1, 2 * steps + 1)]
    cpu_1 = float(np.median(cpu[steps + 1 :]))  # one thread: its CPU time is the work itself, whatever the load
    logits = np.ctypeslib.as_array(ll.llama_get_logits(ctx), shape=(s["vocab_size"],))
    finite = bool(np.isfinite(logits).all())
    n_params = int(ll.llama_model_n_params(model))
    size = int(ll.llama_model_size(model))
    sysinfo = ll.llama_print_system_info().decode(errors="replace")
    ll.llama_free(ctx)
    ll.llama_model_free(model)
    return {"version": ll.__version__, "s_per_token": float(np.median(times)), "times": times, "warmup_s": warm,
            "cpu_s_per_token": cpu_s, "s_per_token_1thread": float(np.median(times_1)),
            "cpu_s_per_token_1thread": cpu_1,
            "load_s": load_s, "threads": threads, "logits_finite": finite, "n_params": n_params,
            "model_bytes": size, "system_info": sysinfo.strip()}


def write(folder: Path, shape: dict[str, int], quant: str) -> dict[str, Any]:
    """Write the 7B-shaped GGUF in `quant` into `folder`; its path, size and write time."""
    import gguf

    path = folder / f"llama-7b-shaped-{quant.lower()}.gguf"
    t0 = time.perf_counter()
    nbytes = write_gguf(path, shape, quant=quant)
    return {"path": str(path), "quant": quant, "gguf_bytes": nbytes, "gguf_write_s": time.perf_counter() - t0,
            "gguf_version": getattr(gguf, "__version__", None) or _dist_version("gguf")}


def decode_file(path: Path, shape: dict[str, int]) -> dict[str, Any]:
    """llama.cpp's decode figures on the file, with this process's peak RSS (it holds nothing else)."""
    r = decode(path, shape)
    r["peak_rss_GiB"] = peak_rss_gib()
    r["ru_maxrss_GiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return r


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def main(argv: list[str]) -> dict[str, Any]:
    if len(argv) == 4 and argv[0] == "write":
        return write(Path(argv[1]), json.loads(argv[2]), argv[3])
    if len(argv) == 3 and argv[0] == "decode":
        return decode_file(Path(argv[1]), json.loads(argv[2]))
    raise SystemExit("usage: _peer_llama.py write FOLDER SHAPE_JSON Q8_0|Q4_0 | decode PATH SHAPE_JSON")


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
