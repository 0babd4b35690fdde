"""Gate `make test` on slither: every high or medium finding in src/ is triaged in docs/SLITHER.md.

    python scripts/slither_gate.py FINDINGS.json docs/SLITHER.md

FINDINGS.json is `slither --json` output. docs/SLITHER.md holds one table row per triaged finding,
`| detector | impact | finding | reason |`, where `finding` is a piece of slither's description
with line numbers left out (`#12-34` suffixes are dropped before matching), so that an edit
elsewhere in a file does not un-triage it, while a renamed function or variable does.

Exit 1 on: a failed slither run, a high or medium finding no row matches, a row that matches
nothing (the code changed; re-triage), or a row without a reason.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

GATED = ("High", "Medium")
IMPACTS = (*GATED, "Low", "Informational", "Optimization")
LINES = re.compile(r"#\d+(?:-\d+)?")
ROW = re.compile(r"^\|(?P<cells>.*)\|\s*$")


@dataclass(frozen=True)
class Finding:
    detector: str
    impact: str
    description: str  # line numbers removed, whitespace collapsed


@dataclass(frozen=True)
class Triage:
    detector: str
    impact: str
    finding: str
    reason: str


def normalise(description: str) -> str:
    return " ".join(LINES.sub("", description).split())


def findings(report: dict) -> list[Finding]:
    """The detector results of one `slither --json` report; a failed run is an error."""
    if not report.get("success"):
        raise ValueError(f"slither failed: {report.get('error')}")
    return [Finding(r["check"], r["impact"], normalise(r["description"]))
            for r in (report.get("results") or {}).get("detectors", [])]


def _cell(text: str) -> str:
    return text.strip().strip("`").strip()


def triage_rows(markdown: str) -> list[Triage]:
    """Rows of the triage table: the table whose header starts `| detector | impact | finding |`."""
    rows: list[Triage] = []
    in_table = False
    for line in markdown.splitlines():
        m = ROW.match(line.strip())
        if not m:
            in_table = False
            continue
        cells = [_cell(c) for c in m.group("cells").split("|")]
        if [c.lower() for c in cells[:3]] == ["detector", "impact", "finding"]:
            in_table = True
        elif in_table and not set("".join(cells)) <= set("-: "):
            if len(cells) != 4:
                raise ValueError(f"a triage row needs 4 cells (detector, impact, finding, reason): {line}")
            rows.append(Triage(*cells))
    return rows


@dataclass(frozen=True)
class Verdict:
    triaged: list[tuple[Finding, Triage]]
    untriaged: list[Finding]
    stale: list[Triage]
    unexplained: list[Triage]

    @property
    def ok(self) -> bool:
        return not (self.untriaged or self.stale or self.unexplained)


def judge(found: list[Finding], rows: list[Triage]) -> Verdict:
    """Match every gated finding to the first row of its detector and impact that it contains."""
    triaged, untriaged, used = [], [], set()
    for f in (f for f in found if f.impact in GATED):
        row = next((r for r in rows if (r.detector, r.impact) == (f.detector, f.impact)
                    and normalise(r.finding) in f.description), None)
        if row is None:
            untriaged.append(f)
        else:
            triaged.append((f, row))
            used.add(row)
    return Verdict(triaged, untriaged, [r for r in rows if r not in used],
                   [r for r in rows if not r.reason])


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: slither_gate.py FINDINGS.json TRIAGE.md", file=sys.stderr)
        return 2
    try:
        found = findings(json.loads(Path(argv[0]).read_text()))
        rows = triage_rows(Path(argv[1]).read_text())
    except (OSError, ValueError) as e:
        print(f"slither gate: {e}", file=sys.stderr)
        return 1
    v = judge(found, rows)
    for f, r in v.triaged:
        print(f"triaged   {f.impact:<6} {f.detector}: {r.finding}")
    for f in v.untriaged:
        print(f"UNTRIAGED {f.impact:<6} {f.detector}: {f.description}")
    for r in v.stale:
        print(f"STALE     {r.impact:<6} {r.detector}: {r.finding} matches no finding; update {argv[1]}")
    for r in v.unexplained:
        print(f"NO REASON {r.impact:<6} {r.detector}: {r.finding}")
    counts = Counter(f.impact for f in found)
    print("slither: " + ", ".join(f"{counts[i]} {i.lower()}" for i in IMPACTS if counts[i])
          + f"; {len(v.triaged)} high/medium triaged in {argv[1]}, {len(v.untriaged)} untriaged")
    return 0 if v.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
