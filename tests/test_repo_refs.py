"""The repo names no document it does not hold: a reader of a clone must be able to open every
file a comment or a doc points to. The founders' brief lives outside the repo, so no file may
send a reader to it by name (issue 18, "Gates")."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("offchain", "tests", "scripts", "bench", "docs", "src", "test", "script", ".ci")
TOP = ("README.md", "Makefile", "pyproject.toml", "requirements.txt", "foundry.toml", "ape-config.yaml")
SUFFIXES = {".py", ".md", ".sol", ".c", ".h", ".sh", ".toml", ".txt", ".yaml", ""}
BRIEF = "DESIGN" + ".md"  # spelled apart, so that this file does not name it


def _files() -> list[Path]:
    found = [ROOT / f for f in TOP if (ROOT / f).exists()]
    for folder in FOLDERS:
        found += [p for p in (ROOT / folder).rglob("*")
                  if p.is_file() and p.suffix in SUFFIXES and "__pycache__" not in p.parts and ".peers" not in p.parts]
    return found


def test_no_file_names_the_brief_that_is_not_in_the_repo() -> None:
    assert not (ROOT / BRIEF).exists()  # if it ever is added, this test is moot: drop it
    named = [str(p.relative_to(ROOT)) for p in _files() if BRIEF in p.read_text(errors="replace")]
    assert named == []


def test_the_walk_reads_the_code_and_the_docs() -> None:
    names = {str(p.relative_to(ROOT)) for p in _files()}
    assert {"offchain/protocol.py", "docs/SPEC.md", "src/NodeLink.sol", "README.md", ".ci/run"} <= names
