"""Run every benchmark module, write bench/results.json and print a table.

A module `bench/<name>.py` exposes `run() -> dict[str, Metric | Any]`, where a Metric is a dict
`{"value": number, "unit": str, "target": str (optional), "note": str (optional)}`. Anything else
is recorded as-is. `python -m bench NAME...` runs only those modules.
"""

import importlib
import json
import pkgutil
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def main(argv: list[str]) -> int:
    names = argv or sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if not m.name.startswith("_"))
    results: dict[str, Any] = {
        "meta": {"python": platform.python_version(), "machine": platform.machine(), "time": time.time()}
    }
    failed = []
    for name in names:
        print(f"bench: running {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            results[name] = importlib.import_module(f"bench.{name}").run()
        except Exception:  # a failing bench is reported, the others still run
            traceback.print_exc()
            failed.append(name)
            results[name] = {"error": traceback.format_exc(limit=1).strip().splitlines()[-1]}
        print(f"bench: {name} took {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
    (HERE / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")

    rows = [("benchmark", "metric", "value", "unit", "target")]
    for name in names:
        for metric, m in results[name].items():
            if isinstance(m, dict) and "value" in m:
                rows.append((name, metric, _fmt(m["value"]), m.get("unit", ""), m.get("target", "")))
            else:
                rows.append((name, metric, _fmt(m), "", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print(f"\nwrote {HERE / 'results.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
