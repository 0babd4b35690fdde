"""The repo stands alone: no command or test reads a file outside it.

A user's clone has no `../shared` beside it (developers and CI machines do), so a reference to
it passes here and fails for them. `.ci/run` proves the same dynamically, by running `make test`
from a copy of the committed tree in an empty folder; these static checks name the offending line.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

from offchain.llm.kernels.mnist import DATA, IMAGE, STATE_DICT

ROOT = Path(__file__).resolve().parents[1]
THIS = Path(__file__).resolve()

# Built or installed, never committed: what .gitignore names without a wildcard (a folder with or
# without its trailing slash, which also covers a worktree's symlink to it), plus git's own.
IGNORED_DIRS = {".git"} | {
    line.strip().strip("/") for line in (ROOT / ".gitignore").read_text().splitlines()
    if line.strip() and not line.strip().startswith("#") and "*" not in line
}
# Markdown and whole-line comments may *mention* the developers' briefs beside the repo
# (requirements.txt points at TOOLCHAIN.md); neither is run, so neither reads them.
DOC_SUFFIXES = {".md"}
COMMENT_LINE = re.compile(r"^\s*(#|//|/?\*)")

# `../shared`, `shared/data`, or a path built from a "shared" component (`ROOT.parent / "shared"`).
SHARED_REFERENCE = re.compile(r"\.\./shared\b|\bshared/data\b|[\"']shared[\"']")
# A path anchored at the file itself: `Path(__file__).resolve().parents[k]` or `.parent.parent…`.
FILE_ANCHOR = re.compile(r"Path\(__file__\)\.resolve\(\)(?:\.parents\[(\d+)\]|((?:\.parent)+))")
# By convention ROOT is the repo root; its parent is outside.
ROOT_PARENT = re.compile(r"\bROOT\.parent\b")


def source_files() -> Iterator[tuple[Path, str]]:
    """Every text file a command or test could run or read, i.e. the committed non-doc files."""
    stack = [ROOT]
    while stack:
        d = stack.pop()
        for p in d.iterdir():
            if p.is_dir():
                if p.name not in IGNORED_DIRS and p.relative_to(ROOT).as_posix() not in IGNORED_DIRS:  # bench/.peers
                    stack.append(p)
            elif p.suffix not in DOC_SUFFIXES and p != THIS:
                try:
                    yield p, p.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    continue  # binary: a model, an ELF, a checkpoint


def offending_lines(pattern: re.Pattern[str]) -> list[str]:
    return [f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
            for p, text in source_files()
            for n, line in enumerate(text.splitlines(), 1)
            if pattern.search(line) and not COMMENT_LINE.match(line)]


def test_no_source_file_names_the_shared_folder_beside_the_repo() -> None:
    assert offending_lines(SHARED_REFERENCE) == []


def test_no_source_file_climbs_above_the_repo_root_from_ROOT() -> None:
    assert offending_lines(ROOT_PARENT) == []


def test_every_path_anchored_at_a_file_stays_inside_the_repo() -> None:
    outside = []
    for p, text in source_files():
        for m in FILE_ANCHOR.finditer(text):
            levels = int(m.group(1)) + 1 if m.group(1) is not None else m.group(2).count(".parent")
            anchor = p.resolve().parents[levels - 1] if levels <= len(p.resolve().parents) else Path("/")
            if not anchor.is_relative_to(ROOT):
                outside.append(f"{p.relative_to(ROOT)}: {m.group(0)} is {anchor}")
    assert outside == []


def test_the_file_anchor_check_catches_a_path_one_level_above_the_repo() -> None:
    # The check above must be able to fail: tests/llm/x.py at parents[3] is ROOT's parent.
    m = FILE_ANCHOR.search('MNIST = Path(__file__).resolve().parents[3] / "x"')
    assert m and int(m.group(1)) == 3
    assert not (ROOT / "tests" / "llm" / "x.py").parents[3].is_relative_to(ROOT)
    assert SHARED_REFERENCE.search('ROOT.parent / "shared" / "data"')
    assert SHARED_REFERENCE.search("cp ../shared/data/opml-mnist/input_7 .")
    assert not COMMENT_LINE.match("cp ../shared/data/opml-mnist/input_7 .  # a trailing comment")


def test_the_mnist_data_ships_inside_the_repo_as_its_readme_records() -> None:
    assert DATA.is_relative_to(ROOT)
    readme = (DATA / "README.md").read_text()
    for f, size in ((IMAGE, 784), (STATE_DICT, 1_591_571)):
        data = f.read_bytes()
        assert len(data) == size
        assert f"`{hashlib.sha256(data).hexdigest()}`" in readme, f.name
