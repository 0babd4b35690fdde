"""docs/PERFORMANCE.md (and its figures in docs/perf/) from bench/results.json.

`make bench` writes the results; `make perf-report` runs this. Each measured figure is printed
beside its anchor (bench/anchors.py: published claims, peers measured on this machine kind, the
issue-10 targets). Nothing here measures anything: a figure missing from results.json (a bench
not run, or behind OPML_BENCH_7B / OPML_BENCH_PEERS) is printed as missing, with the reason.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.anchors import ANCHORS  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"
DOC = ROOT / "docs" / "PERFORMANCE.md"
FIGURES = ROOT / "docs" / "perf"

#: (the claim, the metric measuring it, the anchor it stands beside, "lower" or "higher" is better)
HEADLINES: list[tuple[str, str, str, str]] = [
    ("MNIST in the VM (single phase)", "kernels.mnist_single_phase_seconds", "opml_mnist_vm", "lower"),
    ("MNIST in the VM, project target", "kernels.mnist_single_phase_seconds", "mnist_vm_target", "lower"),
    ("a whole challenge on a local chain: single-phase MNIST", "dispute.mnist.wall", "opml_challenge", "lower"),
    ("a whole challenge on a local chain: two-phase LLaMA", "dispute.llama.wall", "opml_challenge", "lower"),
    ("whole two-phase LLaMA dispute, project target", "dispute.llama.wall", "dispute_target", "lower"),
    ("gas per MIPS step, today's fork (step, median class)", "mips_gas.step_tx_eip7623_median", "cannon_step_gas",
     "lower"),
    ("gas per MIPS step, today's fork (stepCompact, median class)", "mips_gas.compact_tx_eip7623_median",
     "cannon_step_gas", "lower"),
    ("gas per MIPS step, real program mix (stepCompact, median)", "mips_gas.compact_real_tx_eip7623_median",
     "cannon_step_gas", "lower"),
    ("honest-path overhead: trace / plain, shipped model (wall)", "llm.trace_overhead", "trace_target", "lower"),
    ("honest-path overhead: trace / plain, model thread CPU", "llm.trace_overhead_main_thread", "trace_target",
     "lower"),
    ("honest-path overhead: trace / plain, 7B shape", "llm_7b.trace_overhead", "trace_target", "lower"),
    ("verification against zkML: EZKL prove on the same MNIST MLP", "peers.ezkl_prove_s", "ezkl_prove", "lower"),
    ("7B-shaped decode / memory-bandwidth bound", "llm_7b.ratio_to_bound", "decode_bound", "lower"),
    ("7B-shaped decode, s/token", "llm_7b.decode_s_per_token", "decode_before", "lower"),
    ("7B-shaped decode / llama.cpp Q8_0, same run", "peers.llama_cpp_ratio", "llama_cpp", "lower"),
    ("SmolLM2-135M Q4_1 decode / llama.cpp on the same file, same run", "smollm2.decode_ratio",
     "smollm2_llama_cpp", "lower"),
    ("honest-path overhead: trace / plain, SmolLM2-135M", "smollm2.trace_overhead", "trace_target", "lower"),
    ("7B-shaped GGUF, Q8_0: spec v2 / llama.cpp per token, same file, same run", "peers.v2_q8_0_ratio",
     "llama_cpp_v2", "lower"),
    ("7B-shaped GGUF, Q4_0: spec v2 / llama.cpp per token, same file, same run", "peers.v2_q4_0_ratio",
     "llama_cpp_v2", "lower"),
    ("7B-shaped GGUF, Q8_0: spec v2 / llama.cpp CPU time per token, one thread each", "peers.v2_q8_0_cpu_ratio_1thread",
     "llama_cpp_v2", "lower"),
    ("7B-shaped GGUF, Q4_0: spec v2 / llama.cpp CPU time per token, one thread each", "peers.v2_q4_0_cpu_ratio_1thread",
     "llama_cpp_v2", "lower"),
    ("7B-shaped peak memory", "llm_7b.peak_rss", "peak_memory_7b", "lower"),
    ("7B-shaped GGUF, Q8_0: spec v2 peak memory", "peers.v2_q8_0_ours_peak_rss", "peak_memory_7b", "lower"),
    ("7B-shaped GGUF, Q4_0: spec v2 peak memory", "peers.v2_q4_0_ours_peak_rss", "peak_memory_7b", "lower"),
    ("fast-forward speed", "mipsemu.fastforward_1.5e8", "fastforward", "higher"),
]


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if abs(v) >= 1e4:
            return f"{v:,.0f}"
        return f"{v:.3g}" if abs(v) < 100 else f"{v:,.1f}"
    return str(v)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def headline_rows(by_name: dict[str, dict[str, Any]], skipped: dict[str, str]) -> list[str]:
    rows = ["| claim | ours | unit | anchor | ours / anchor |", "| --- | --- | --- | --- | --- |"]
    for claim, metric, anchor_id, _better in HEADLINES:
        what, figure, value, _unit = ANCHORS[anchor_id]
        e = by_name.get(metric)
        if e is None or e.get("value") is None:
            module, local = metric.split(".", 1)
            why = skipped.get(module, "not measured in this run")
            for name, entry in by_name.items():  # a peer's own reason, e.g. peers.ezkl_skipped
                prefix = name[len(module) + 1 : -len("_skipped")]
                if name.startswith(module + ".") and name.endswith("_skipped") and local.startswith(prefix):
                    why = entry["conditions"]
            rows.append(f"| {_cell(claim)} | missing: {_cell(why)} | | {_cell(figure)} ({_cell(what)}) | |")
            continue
        ratio = f"{e['value'] / value:.3g}" if value and isinstance(e["value"], (int, float)) else ""
        rows.append(f"| {_cell(claim)} | {_fmt(e['value'])} | {_cell(e.get('unit', ''))} | {_cell(figure)} "
                    f"({_cell(what)}) | {ratio} |")
    return rows


def _axes() -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6.4, 4.2))


def _save(fig: Any, ax: Any, path: Path, title: str, xlabel: str, ylabel: str, log: bool = True) -> None:
    import matplotlib.pyplot as plt

    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def decode_figure(by_name: dict[str, dict[str, Any]], path: Path) -> bool:
    pts = list((by_name.get("decode_scaling.series") or {}).get("data") or [])
    shipped = by_name.get("llm.shipped_tokens_per_s")
    if "llm_7b.weight_bytes" in by_name and by_name.get("llm_7b.decode_s_per_token", {}).get("value"):
        pts.append({"weight_bytes": by_name["llm_7b.weight_bytes"]["value"],
                    "s_per_token": by_name["llm_7b.decode_s_per_token"]["value"],
                    "bound_s": by_name["llm_7b.bandwidth_bound_s"]["value"]})
    if not pts:
        return False
    pts.sort(key=lambda p: p["weight_bytes"])
    fig, ax = _axes()
    gb = [p["weight_bytes"] / 1e9 for p in pts]
    ax.plot(gb, [p["s_per_token"] for p in pts], "o-", label="OPML native runner (int8, exact)")
    ax.plot(gb, [p["bound_s"] for p in pts], "k--", label="memory-bandwidth bound (read the weights once)")
    ax.plot(gb, [3 * p["bound_s"] for p in pts], ":", color="grey", label="3x the bound (issue 10 target)")
    llama = by_name.get("peers.llama_cpp_s_per_token")
    if llama and llama.get("value"):  # at the 7B shape: the int8 bytes ours reads beside it in the peers run
        x = (by_name.get("peers.ours_weight_bytes") or {}).get("value") or pts[-1]["weight_bytes"]
        ax.plot([x / 1e9], [llama["value"]], "s", color="C3", label="llama.cpp Q8_0, 7B shape (same run)")
    for quant, marker in (("q8_0", "D"), ("q4_0", "v")):  # spec v2 and llama.cpp on one GGUF, at its size
        ours_v2 = by_name.get(f"peers.v2_{quant}_ours_s_per_token")
        theirs = by_name.get(f"peers.v2_{quant}_llama_cpp_s_per_token")
        size = (by_name.get(f"peers.v2_{quant}_gguf_bytes") or {}).get("value")
        if ours_v2 and theirs and size and ours_v2.get("value") and theirs.get("value"):
            ax.plot([size / 1e9], [ours_v2["value"]], marker, color="C2", label=f"spec v2, {quant.upper()} GGUF")
            ax.plot([size / 1e9], [theirs["value"]], marker, mfc="none", color="C3",
                    label=f"llama.cpp, same {quant.upper()} GGUF")
    if shipped and shipped.get("value"):
        ax.annotate(f"shipped model: {shipped['value']:.0f} tok/s", xy=(0.02, 0.95), xycoords="axes fraction",
                    fontsize=8, va="top")
    _save(fig, ax, path, "Decode time against model size",
          "weight bytes read per token (GB; int8, or the GGUF's blocks)",
          "seconds per decoded token")
    return True


def vm_figure(by_name: dict[str, dict[str, Any]], path: Path) -> bool:
    data = (by_name.get("mipsemu.speed_vs_length") or {}).get("data")
    if not data:
        return False
    fig, ax = _axes()
    for engine, style in (("stepper", "o-"), ("fast-forward", "s-")):
        pts = sorted((d["steps"], d["M_steps_per_s"]) for d in data if d["engine"] == engine)
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=engine)
    ax.axhline(ANCHORS["fastforward"][2], color="k", ls="--", label="300 M steps/s (issue 10 target)")
    _save(fig, ax, path, "MIPS VM speed against program length", "program length (VM steps run, load included)",
          "M steps per second")
    return True


def dispute_figure(by_name: dict[str, dict[str, Any]], path: Path) -> bool:
    rows = (by_name.get("dispute.gas_vs_nodes") or {}).get("data")
    if not rows:
        return False
    rows = sorted(rows, key=lambda r: r["n"] * r["m"])
    fig, ax = _axes()
    x = [r["n"] * r["m"] for r in rows]
    ax.plot(x, [r["gas"] / 1e6 for r in rows], "o-", label="gas (M)")
    ax2 = ax.twinx()
    ax2.plot(x, [r["wall_s"] for r in rows], "s--", color="C1", label="wall time (s)")
    ax2.axhline(ANCHORS["opml_challenge"][2], color="grey", ls=":", label="OPML: within 2 minutes")
    ax2.set_ylabel("seconds")
    ax2.legend(fontsize=8, loc="lower right")
    ax.set_xscale("log")
    _save(fig, ax, path, "Dispute gas and wall time against graph size", "graph size: nodes x steps per node",
          "gas (millions)", log=False)
    return True


def render(results: dict[str, Any], figures: Path) -> str:
    meta, metrics = results["meta"], results["metrics"]
    by_name = {e["name"]: e for e in metrics}
    skipped = {e["name"].split(".")[0]: e["conditions"] for e in metrics if e["name"].endswith(".skipped")}
    for e in metrics:
        if e["name"].endswith(".error"):
            skipped[e["name"].split(".")[0]] = "failed: " + e["conditions"]
    figures.mkdir(parents=True, exist_ok=True)
    flags = ", ".join(f"{k}={v or 'unset'}" for k, v in meta.get("flags", {}).items())
    out = [
        "# Performance",
        "",
        "Generated by `scripts/perf_report.py` (`make perf-report`) from `bench/results.json` (`make bench`); "
        "do not edit by hand.",
        "",
        f"Measured on {meta.get('cpu', '?')}, {meta.get('cores', '?')} cores, {meta.get('memory_GiB', '?')} GiB, "
        f"Python {meta.get('python', '?')}, at {meta.get('time', '?')} (commit {meta.get('commit', '?')}; "
        f"{flags}). Load average when the run started: {float(meta.get('load_avg_start', 0)):.1f} (the machine is shared: "
        "timings that compare are ratios within this one run; absolute seconds are for this machine).",
        f"The whole bench took {meta.get('total_seconds', '?')} s.",
        *[f"Merged from a later run of {', '.join(p['modules'])} alone, at {p['time']} (commit {p['commit']}, "
          f"load average {float(p['load_avg_start']):.1f}): its figures compare with the rest across runs, not "
          "within one." for p in meta.get("partial_runs", [])],
        "",
        "## Against the anchors",
        "",
        *headline_rows(by_name, skipped),
        "",
    ]
    out += [
        "How to read the trace rows: `llm.trace_overhead` is wall time, which on a shared 2-core machine "
        "depends on whether the hashing thread finds a free core; `llm.trace_overhead_main_thread` is the "
        "CPU time of the thread that runs the model, i.e. the wall ratio when the hashing thread has a core "
        "of its own; `llm.trace_overhead_cpu` is all CPU work; `llm.trace_overhead_python_hashing` is the "
        "same trace without the native helper (the path before issue 10). The decode bound is the time to "
        "merely read the model's int8 matrices (natively, one thread per core), measured right after each "
        "decode step; the ratio is the median over the steps of step / read, so a busy moment slows both "
        "sides alike. `llm_7b.decode_numpy_fallback_s_per_token` is the float-BLAS path on the same weights "
        "in the same run (the path before issue 10).",
        "",
    ]
    drawn = []
    for name, title, draw, note in (
        ("decode.png", "Decode time against model size", decode_figure,
         "Synthetic int8 LLaMAs (bench/decode_scaling.py; the largest point is the 7B shape when "
         "OPML_BENCH_7B=1). The bound is the time to merely read the same weights, measured between the steps."),
        ("vm_steps.png", "VM steps per second against program length", vm_figure,
         "bench/mipsemu.py: the exact Python stepper and the unicorn fast-forward, load included, so short "
         "programs show the setup cost."),
        ("dispute.png", "Dispute gas and wall time against graph size", dispute_figure,
         "bench/dispute.py."),
    ):
        if draw(by_name, figures / name):
            drawn.append(f"### {title}\n\n{note}\n\n![{title}](perf/{name})\n")
        else:
            module = note.split("bench/")[-1].split(".py")[0] if "bench/" in note else ""
            why = skipped.get(module, "no data in this run")
            drawn.append(f"### {title}\n\nMissing: {why}.\n")
    out += ["## Figures", "", *drawn]
    out += ["## Every metric", "", "| metric | value | unit | conditions | anchor |", "| --- | --- | --- | --- | --- |"]
    for e in metrics:
        value = _fmt(e.get("value")) if e.get("value") is not None else ""
        out.append(f"| `{e['name']}` | {value} | {_cell(e.get('unit', ''))} | {_cell(e.get('conditions', ''))} | "
                   f"{_cell(e.get('anchor', ''))} |")
    out += ["", "## Anchors", "", "| id | what | figure |", "| --- | --- | --- |"]
    for anchor_id, (what, figure, _v, _u) in ANCHORS.items():
        out.append(f"| `{anchor_id}` | {_cell(what)} | {_cell(figure)} |")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    src = Path(argv[0]) if argv else RESULTS
    if not src.exists():
        print(f"perf-report: {src} does not exist; run `make bench` first", file=sys.stderr)
        return 1
    try:
        results = json.loads(src.read_text())
        text = render(results, FIGURES)
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        print(f"perf-report: {src} is not a bench results file ({type(e).__name__}: {e})", file=sys.stderr)
        return 1
    DOC.write_text(text)
    print(f"wrote {DOC.relative_to(ROOT)} and {FIGURES.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
