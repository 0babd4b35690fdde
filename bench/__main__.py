"""Run every benchmark module, write bench/results.json and print a table.

A module `bench/<name>.py` exposes `run() -> dict[str, Metric]`, where a Metric is a dict
`{"value": number, "unit": str}` with optional "target", "note" (the conditions), "anchor" (an id
of bench.anchors.ANCHORS) and "data" (a series for a figure). A module that does not apply here
returns `{"skipped": "why"}`. `python -m bench NAME...` runs only those modules.

results.json holds `meta` (machine, time, commit) and `metrics`: one entry per named metric, with
its value, unit, conditions and the anchor it is compared with. scripts/perf_report.py turns it
into docs/PERFORMANCE.md.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench.anchors import ANCHORS, METRIC_ANCHORS, anchor_text

HERE = Path(__file__).resolve().parent
NOT_BENCHES = {"anchors"}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def machine() -> dict[str, Any]:
    """What the absolute figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = int(Path("/proc/meminfo").read_text().split()[1]) / 2**20
    except OSError:
        mem = 0.0
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        commit = ""
    return {"python": platform.python_version(), "machine": platform.machine(), "cpu": cpu,
            "cores": os.cpu_count(), "memory_GiB": round(mem, 1), "load_avg_start": os.getloadavg()[0],
            "time": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": commit,
            "flags": {k: os.environ.get(k, "") for k in ("OPML_BENCH_7B", "OPML_BENCH_PEERS")}}


def entries(module: str, result: dict[str, Any]) -> list[dict[str, Any]]:
    """The module's metrics as results.json entries."""
    out = []
    for metric, m in result.items():
        name = f"{module}.{metric}"
        if not isinstance(m, dict) or "value" not in m:
            out.append({"name": name, "value": None, "unit": "", "conditions": str(m), "anchor": ""})
            continue
        anchor_id = m.get("anchor") or METRIC_ANCHORS.get(name, "")
        e = {"name": name, "value": m["value"], "unit": m.get("unit", ""), "conditions": m.get("note", ""),
             "anchor": anchor_text(anchor_id) if anchor_id else m.get("target", ""), "anchor_id": anchor_id,
             "target": m.get("target", "")}
        if anchor_id and ANCHORS[anchor_id][2] is not None:
            e["anchor_value"] = ANCHORS[anchor_id][2]
        if "data" in m:
            e["data"] = m["data"]
        out.append(e)
    return out


def merge(argv: list[str], meta: dict[str, Any], metrics: list[dict[str, Any]],
          path: Path = HERE / "results.json") -> list[dict[str, Any]]:
    """A run of named modules replaces only their entries in an existing results.json (its meta
    kept, this run noted in meta["partial_runs"]); a full run replaces the file."""
    if not argv or not path.exists():
        return metrics
    try:
        old = json.loads(path.read_text())
        old_meta, old_metrics = old["meta"], old["metrics"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return metrics
    kept = [e for e in old_metrics if e["name"].split(".")[0] not in argv]
    old_meta.setdefault("partial_runs", []).append({"modules": argv, **{k: meta[k] for k in ("time", "commit")},
                                                     "load_avg_start": meta["load_avg_start"]})
    meta.clear()
    meta.update(old_meta)
    return kept + metrics


def main(argv: list[str]) -> int:
    names = argv or sorted(m.name for m in pkgutil.iter_modules([str(HERE)])
                           if not m.name.startswith("_") and m.name not in NOT_BENCHES)
    meta = machine()
    metrics: list[dict[str, Any]] = []
    failed = []
    t_all = time.perf_counter()
    for name in names:
        print(f"bench: running {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            result = importlib.import_module(f"bench.{name}").run()
        except Exception:  # a failing bench is reported, the others still run
            traceback.print_exc()
            failed.append(name)
            result = {"error": traceback.format_exc(limit=1).strip().splitlines()[-1]}
        dt = time.perf_counter() - t0
        metrics.extend(entries(name, result))
        metrics.append({"name": f"{name}.bench_seconds", "value": round(dt, 1), "unit": "s",
                        "conditions": "wall time of this benchmark module", "anchor": ""})
        print(f"bench: {name} took {dt:.1f}s", file=sys.stderr, flush=True)
    meta["total_seconds"] = round(time.perf_counter() - t_all, 1)
    metrics = merge(argv, meta, metrics)
    (HERE / "results.json").write_text(json.dumps({"meta": meta, "metrics": metrics}, indent=1, default=str) + "\n")

    rows = [("metric", "value", "unit", "anchor / target")]
    for e in metrics:
        value = _fmt(e["value"]) if e["value"] is not None else e["conditions"][:60]
        rows.append((e["name"], value, e["unit"], e["anchor"][:70]))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print(f"\n{meta['cpu']}, {meta['cores']} cores, {meta['memory_GiB']} GiB; total {meta['total_seconds']} s")
    print(f"wrote {HERE / 'results.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
