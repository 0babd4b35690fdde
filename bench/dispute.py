"""The dispute, measured (issue 10, item 4): the hook for the game and agents, not filled yet.

`scaling_table` is to return one row per (n nodes, m steps per node) played to the end on anvil
by the real agents: rounds, transactions, gas and wall time, plus the Merkle work of both phases
(O(m + n) two-phase against O(m·n) single-phase). `run` turns the rows into metrics, each with
a "data" series so that scripts/perf_report.py can draw gas and wall time against graph size
beside the "within 2 minutes" anchor; with OPML_BENCH_7B=1 a whole 7B-shaped dispute would add
its stage times (trace, phase 2, transition, phase 1, step), peak memory and gas.
"""

from __future__ import annotations

from typing import Any

SIZES = [(72, 1 << 10), (72, 1 << 16), (9648, 1 << 16)]  # (n, m): the shipped model's graph and task


def scaling_table(sizes: list[tuple[int, int]]) -> list[dict[str, Any]] | None:
    """Rows {n, m, rounds, txs, gas, wall_s, merkle_hashes} for each size; None until the
    dispute game and its agents are wired into this bench."""
    return None


def run() -> dict[str, Any]:
    rows = scaling_table(SIZES)
    if rows is None:
        return {"skipped": "not measured yet: bench/dispute.scaling_table awaits the dispute game and agents"}
    out: dict[str, Any] = {}
    for r in rows:
        key = f"n{r['n']}_m{r['m']}"
        out[f"{key}_rounds"] = {"value": r["rounds"], "unit": "rounds"}
        out[f"{key}_gas"] = {"value": r["gas"], "unit": "gas", "anchor": "dispute_target"}
        out[f"{key}_wall"] = {"value": r["wall_s"], "unit": "s", "anchor": "opml_challenge"}
    out["gas_vs_nodes"] = {"value": len(rows), "unit": "sizes", "data": rows}
    return out
