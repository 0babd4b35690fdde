"""The committed kernel ELFs are what the sources build to, byte for byte, and programs.json
records their entry points and region-0 roots."""

import shutil
import subprocess

import pytest

from offchain.llm.kernels import BUILD_DIR, KERNELS, PROGRAMS_JSON, SRC_DIR
from offchain.llm.kernels.__main__ import render, table
from offchain.node.start import Program


@pytest.mark.skipif(shutil.which("mips-linux-gnu-gcc") is None, reason="no MIPS cross-compiler (make setup)")
def test_rebuild_is_byte_identical(tmp_path):
    subprocess.run([str(SRC_DIR / "build.sh"), str(tmp_path)], check=True, capture_output=True)
    built = sorted(p.name for p in tmp_path.glob("*.elf"))
    assert built == sorted(f"{k}.elf" for k in KERNELS)
    for name in built:
        assert (tmp_path / name).read_bytes() == (BUILD_DIR / name).read_bytes(), f"{name} differs from the build"


def test_programs_json_matches_the_committed_elfs():
    assert PROGRAMS_JSON.read_text() == render(table())


def test_every_kernel_fits_region_0_below_0x08000000():
    for name in KERNELS:
        p = Program.load(str(BUILD_DIR / f"{name}.elf"))
        assert 0x00400000 <= p.entry < 0x08000000


def test_opml_kernels_prints_every_kernel(capsys):
    from offchain.cli import main

    assert main(["kernels", "--check"]) == 0
    out = capsys.readouterr().out
    for name, row in table().items():
        assert f"{name:12} entry {row['entry']}  region0_root {row['region0_root']}" in out
