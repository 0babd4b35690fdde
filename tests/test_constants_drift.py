"""Solidity and Python must agree on every shared constant.

Python's `offchain.constants` is the source of truth. Every `internal constant` in `src/` whose
name also exists there must have the same value, and the core memory constants must exist on both
sides, so a rename cannot silently drop a check.
"""

import re
from pathlib import Path

from offchain import constants

SRC = Path(__file__).resolve().parent.parent / "src"
_DECL = re.compile(r"\b(?:uint\d*|int\d*|bytes\d+|address)\s+(?:internal|public|private)\s+constant\s+(\w+)\s*=\s*([^;]+);")
REQUIRED = {"LEAF_BYTES", "MEMORY_DEPTH", "PROOF_BYTES", "REGION_HEIGHT", "REGION_LEVELS", "REGION_COUNT"}


def _solidity_constants() -> dict[str, list[tuple[str, int]]]:
    found: dict[str, list[tuple[str, int]]] = {}
    for path in SRC.rglob("*.sol"):
        for name, expr in _DECL.findall(path.read_text()):
            expr = expr.strip().replace("_", "")
            if re.fullmatch(r"0x[0-9a-fA-F]+|\d+", expr):
                found.setdefault(name, []).append((path.name, int(expr, 0)))
    return found


def test_every_shared_constant_has_the_same_value_in_solidity_and_python():
    sol = _solidity_constants()
    shared = {n for n in sol if hasattr(constants, n)}
    assert REQUIRED <= shared, f"missing on one side: {sorted(REQUIRED - shared)}"
    for name in shared:
        for file, value in sol[name]:
            assert value == getattr(constants, name), f"{file}: {name} = {value}, Python says {getattr(constants, name)}"
