"""bench results entries and docs/PERFORMANCE.md: every figure beside its anchor, missing ones said."""

import importlib.util
import json
from pathlib import Path

import pytest

from bench.__main__ import entries
from bench.anchors import ANCHORS, METRIC_ANCHORS

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("perf_report", ROOT / "scripts" / "perf_report.py")
assert spec and spec.loader
perf_report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(perf_report)


def test_each_metric_becomes_one_named_entry_with_its_anchor():
    got = entries("llm", {"trace_overhead": {"value": 1.1, "unit": "x plain", "anchor": "trace_target", "note": "c"},
                          "plain": {"value": 3, "unit": "tok/s", "target": "fast"}, "skipped": "why"})
    assert [e["name"] for e in got] == ["llm.trace_overhead", "llm.plain", "llm.skipped"]
    assert got[0]["anchor_value"] == 1.2 and "<= 1.2x" in got[0]["anchor"] and got[0]["conditions"] == "c"
    assert got[1]["anchor"] == "fast" and "anchor_value" not in got[1]
    assert got[2]["value"] is None and got[2]["conditions"] == "why"


def test_every_mapped_anchor_exists():
    assert set(METRIC_ANCHORS.values()) <= set(ANCHORS)
    assert {a for _, _, a, _ in perf_report.HEADLINES} <= set(ANCHORS)


def _results() -> dict:
    metrics = entries("llm", {"trace_overhead": {"value": 1.5, "unit": "x plain", "anchor": "trace_target"}})
    metrics += entries("decode_scaling", {"series": {"value": 2, "unit": "shapes", "data": [
        {"weight_bytes": 2e7, "s_per_token": 0.01, "bound_s": 0.004},
        {"weight_bytes": 4e8, "s_per_token": 0.1, "bound_s": 0.05}]}})
    metrics += entries("llm_7b", {"skipped": "set OPML_BENCH_7B=1"})
    metrics += entries("peers", {"llama_cpp_skipped": "llama.cpp: no wheel"})
    meta = {"cpu": "test cpu", "cores": 2, "memory_GiB": 1, "python": "3", "time": "now", "commit": "abc",
            "flags": {}, "load_avg_start": 0.0, "total_seconds": 1}
    return {"meta": meta, "metrics": metrics}


def test_the_report_puts_each_figure_beside_its_anchor_and_says_what_is_missing(tmp_path):
    text = perf_report.render(_results(), tmp_path)
    row = next(line for line in text.splitlines() if line.startswith("| honest-path overhead: trace / plain, shipped"))
    assert "| 1.5 | x plain | <= 1.2x" in row and row.rstrip().endswith("| 1.25 |")
    row7b = next(line for line in text.splitlines() if line.startswith("| 7B-shaped decode / memory-bandwidth"))
    assert "missing: set OPML_BENCH_7B=1" in row7b
    row_llama = next(line for line in text.splitlines() if "llama.cpp Q8_0, same run |" in line)
    assert "missing: llama.cpp: no wheel" in row_llama
    assert (tmp_path / "decode.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![Decode time against model size](perf/decode.png)" in text
    assert "Dispute gas and wall time against graph size\n\nMissing:" in text


def test_a_results_file_that_is_not_one_gets_a_one_line_error(tmp_path, capsys: pytest.CaptureFixture[str]):
    bad = tmp_path / "r.json"
    bad.write_text(json.dumps({"metrics": []}))
    assert perf_report.main([str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a bench results file" in err
    assert perf_report.main([str(tmp_path / "none.json")]) == 1
    assert "run `make bench` first" in capsys.readouterr().err


def test_a_partial_bench_run_replaces_only_its_modules_entries(tmp_path):
    from bench.__main__ import merge

    path = tmp_path / "results.json"
    old = {"meta": {"time": "t0", "commit": "c0"}, "metrics": [{"name": "a.x", "value": 1}, {"name": "b.y", "value": 2}]}
    path.write_text(json.dumps(old))
    meta = {"time": "t1", "commit": "c1", "load_avg_start": 0.5}
    got = merge(["b"], meta, [{"name": "b.y", "value": 3}], path)
    assert got == [{"name": "a.x", "value": 1}, {"name": "b.y", "value": 3}]
    assert meta["time"] == "t0" and meta["partial_runs"] == [{"modules": ["b"], "time": "t1", "commit": "c1",
                                                              "load_avg_start": 0.5}]
    assert merge([], {}, [{"name": "z", "value": 0}], path) == [{"name": "z", "value": 0}]  # a full run


def test_the_llama_cpp_peer_stands_beside_its_anchor_and_on_the_decode_figure(tmp_path):
    res = _results()
    res["metrics"] = [e for e in res["metrics"] if not e["name"].startswith("peers.")]
    res["metrics"] += entries("peers", {
        "llama_cpp_s_per_token": {"value": 0.6, "unit": "s"}, "ours_s_per_token": {"value": 0.75, "unit": "s"},
        "llama_cpp_ratio": {"value": 1.25, "unit": "x", "anchor": "llama_cpp"},
        "ours_weight_bytes": {"value": 6.6e9, "unit": "bytes"}})
    text = perf_report.render(res, tmp_path)
    row = next(line for line in text.splitlines() if "llama.cpp Q8_0, same run |" in line)
    assert "| 1.25 | x |" in row and "missing" not in row
    assert (tmp_path / "decode.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_spec_v2_peer_rows_stand_beside_the_issue_15_target_and_say_why_one_is_missing(tmp_path):
    res = _results()
    res["metrics"] = [e for e in res["metrics"] if not e["name"].startswith("peers.")]
    res["metrics"] += entries("peers", {
        "v2_q8_0_ratio": {"value": 1.17, "unit": "x", "anchor": "llama_cpp_v2"},
        "v2_q8_0_ours_s_per_token": {"value": 0.7, "unit": "s"},
        "v2_q8_0_llama_cpp_s_per_token": {"value": 0.6, "unit": "s"},
        "v2_q8_0_gguf_bytes": {"value": 7.16e9, "unit": "bytes"},
        "v2_q8_0_ours_peak_rss": {"value": 6.8, "unit": "GiB", "anchor": "peak_memory_7b"},
        "v2_q4_0_skipped": "spec v2 on the Q4_0 GGUF: our spec v2 decode failed: boom"})
    text = perf_report.render(res, tmp_path)
    lines = text.splitlines()
    q8 = next(line for line in lines if line.startswith("| 7B-shaped GGUF, Q8_0: spec v2 / llama.cpp per token"))
    assert "| 1.17 | x | <= 1.3x its time per token" in q8 and q8.rstrip().endswith("| 0.9 |")
    q4 = next(line for line in lines if line.startswith("| 7B-shaped GGUF, Q4_0: spec v2 / llama.cpp per token"))
    assert "missing: spec v2 on the Q4_0 GGUF: our spec v2 decode failed: boom" in q4
    mem = next(line for line in lines if line.startswith("| 7B-shaped GGUF, Q8_0: spec v2 peak memory"))
    assert "| 6.8 | GiB | <= 12 GiB" in mem
    assert (tmp_path / "decode.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
