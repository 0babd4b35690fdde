"""The figures each benchmark is compared with: published claims, peers measured on this machine
kind, and the project's targets (issue 10). Copied here as data so that nothing the project runs
reads the briefing folder; `docs/PERFORMANCE.md` prints each beside its measurement.
"""

from __future__ import annotations

#: anchor id -> (what it is, the figure as text, the number itself or None, its unit)
ANCHORS: dict[str, tuple[str, str, float | None, str]] = {
    "opml_mnist_vm": ("OPML demo (published): MNIST MLP 784-500-10 inference in its VM", "within 2 s", 2.0, "s"),
    "opml_challenge": ("OPML demo (published): a whole challenge on a local chain", "within 2 minutes", 120.0, "s"),
    "cannon_step_gas": ("Cannon MIPS.sol v1.2.1 per step, today's fork (EIP-7623), measured on this machine kind",
                        "75.1k median (74.7k-102k)", 75_100.0, "gas"),
    "cannon_step_gas_cancun": ("Cannon MIPS.sol v1.2.1 whole step, Cancun rules, measured", "61.7k median", 61_700.0,
                               "gas"),
    "ezkl_prove": ("EZKL 23.0.5 on the same MNIST MLP, measured on this machine kind",
                   "prove 28.8 s median (setup 24 s, verify 0.2 s)", 28.8, "s"),
    "ezkl_overhead": ("EZKL proof time / plain MNIST inference (43 us), measured", "6.7e5x", 6.7e5, "x"),
    "trace_target": ("issue 10 target: the trace (all commitments) / plain inference", "<= 1.2x", 1.2, "x"),
    "decode_bound": ("memory-bandwidth bound: the time to merely read the same int8 weights, same run",
                     "issue 10 target <= 3x the bound (aim <= 2x); 9.4x before (3.89 s vs 0.415 s)", 3.0, "x"),
    "decode_before": ("before issue 10: 7B-shaped decode on the float-BLAS path, quiet run", "3.89 s/token", 3.89,
                      "s"),
    "llama_cpp": ("llama.cpp Q8_0 on the same 7B shape, same run (OPML_BENCH_PEERS=1)", "aim <= 1.5x its time",
                  1.5, "x"),
    "smollm2_llama_cpp": ("issue 15 target: SmolLM2-135M-Instruct Q4_1, ours / llama.cpp ms per generated token on "
                          "the same file, same run, 2 threads",
                          "<= 1.5x (the issue saw llama.cpp at 16-30 ms/token here)", 1.5, "x"),
    "llama_cpp_v2": (("issue 15 target: spec v2 on the same 7B-shaped GGUF as llama.cpp (Q8_0, Q4_0), same run "
                      "(OPML_BENCH_PEERS=1)"), "<= 1.3x its time per token", 1.3, "x"),
    "peak_memory_7b": ("issue 10 target: 7B-shaped peak memory", "<= 12 GiB", 12.0, "GiB"),
    "fastforward": ("issue 10 target: fast-forward", ">= 300 M steps/s (218-261 here, 548 elsewhere)", 300.0,
                    "M steps/s"),
    "mnist_vm_target": ("project target: MNIST in our VM", "<= 0.2 s", 0.2, "s"),
    "step_gas_target": ("project target: MIPS step gas on today's fork", "<= 45k; <= 60k as a first step", 45_000.0,
                        "gas"),
    "dispute_target": ("project target: whole two-phase LLaMA dispute", "<= 30 s, <= 5M gas (aim <= 3M)", 30.0, "s"),
}

#: metric name -> anchor id, for the benchmarks whose modules do not name their anchor themselves
METRIC_ANCHORS: dict[str, str] = {
    "kernels.mnist_single_phase_seconds": "opml_mnist_vm",
    "mipsemu.fastforward_1.5e8": "fastforward",
    "mips_gas.step_tx_eip7623_median": "cannon_step_gas",
    "mips_gas.compact_tx_eip7623_median": "cannon_step_gas",
    "mips_gas.step_real_tx_eip7623_median": "cannon_step_gas",
    "mips_gas.compact_real_tx_eip7623_median": "cannon_step_gas",
    "mips_gas.step_tx_cancun_median": "cannon_step_gas_cancun",
    "mips_gas.cannon_reference": "cannon_step_gas",
}


def anchor_text(anchor_id: str) -> str:
    what, figure, _value, _unit = ANCHORS[anchor_id]
    return f"{figure} ({what})"
