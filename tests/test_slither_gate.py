"""scripts/slither_gate.py: a high or medium slither finding passes only with a reasoned triage row."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("slither_gate", ROOT / "scripts" / "slither_gate.py")
assert _spec and _spec.loader
gate = importlib.util.module_from_spec(_spec)
sys.modules["slither_gate"] = gate  # dataclasses look their module up here
_spec.loader.exec_module(gate)

TABLE = """# x

| detector | impact | finding | reason |
| --- | --- | --- | --- |
| incorrect-exp | High | `Lib.walk(bytes32)` | xor is meant |
"""


def report(*results: tuple[str, str, str], success: bool = True) -> dict:
    return {"success": success, "error": None if success else "boom",
            "results": {"detectors": [{"check": c, "impact": i, "description": d} for c, i, d in results]}}


def walk(line: int, end: int) -> tuple[str, str, str]:
    return ("incorrect-exp", "High", f"Lib.walk(bytes32) (src/Lib.sol#{line}-{end}) has bitwise-xor\n\t - x (src/Lib.sol#{line})")


@given(line=st.integers(1, 10**6), length=st.integers(0, 500))
def test_a_triaged_finding_stays_triaged_wherever_its_lines_move(line: int, length: int) -> None:
    v = gate.judge(gate.findings(report(walk(line, line + length))), gate.triage_rows(TABLE))
    assert v.ok and len(v.triaged) == 1


def test_an_untriaged_medium_finding_fails() -> None:
    found = gate.findings(report(walk(3, 9), ("uninitialized-local", "Medium", "Lib.f().x (src/Lib.sol#4)")))
    v = gate.judge(found, gate.triage_rows(TABLE))
    assert not v.ok and [f.detector for f in v.untriaged] == ["uninitialized-local"]


def test_a_row_only_triages_its_own_detector_and_impact() -> None:
    same_text = ("write-after-write", "High", walk(3, 9)[2])
    v = gate.judge(gate.findings(report(same_text)), gate.triage_rows(TABLE))
    assert not v.ok and len(v.untriaged) == 1 and len(v.stale) == 1


def test_low_and_informational_findings_are_not_gated() -> None:
    found = gate.findings(report(walk(3, 9), ("too-many-digits", "Informational", "a"), ("shadowing", "Low", "b")))
    assert gate.judge(found, gate.triage_rows(TABLE)).ok


def test_a_row_matching_nothing_is_stale_and_fails() -> None:
    v = gate.judge(gate.findings(report()), gate.triage_rows(TABLE))
    assert not v.ok and [r.finding for r in v.stale] == ["Lib.walk(bytes32)"]


def test_a_row_without_a_reason_fails() -> None:
    rows = gate.triage_rows(TABLE.replace("xor is meant", " "))
    assert not gate.judge(gate.findings(report(walk(1, 2))), rows).ok


def test_a_failed_slither_run_is_an_error_not_a_pass() -> None:
    with pytest.raises(ValueError, match="slither failed: boom"):
        gate.findings(report(success=False))


def test_the_command_exits_non_zero_on_an_untriaged_finding(tmp_path: Path) -> None:
    (tmp_path / "f.json").write_text(json.dumps(report(walk(1, 2), ("arbitrary-send-eth", "High", "P.drain(address)"))))
    (tmp_path / "t.md").write_text(TABLE)
    assert gate.main([str(tmp_path / "f.json"), str(tmp_path / "t.md")]) == 1
    (tmp_path / "f.json").write_text(json.dumps(report(walk(1, 2))))
    assert gate.main([str(tmp_path / "f.json"), str(tmp_path / "t.md")]) == 0


def test_every_committed_triage_row_is_high_or_medium_and_has_a_reason() -> None:
    rows = gate.triage_rows((ROOT / "docs" / "SLITHER.md").read_text())
    assert rows and all(r.impact in gate.GATED and r.reason and r.finding for r in rows)
