"""The `opml` entry point exists, explains itself, and reports tensor roots."""

import subprocess
import sys
from pathlib import Path

from offchain.cli import main
from offchain.merkle import fold_region, tensor_root


def test_help_explains_the_tool(capsys):
    try:
        main(["--help"])
    except SystemExit as e:
        assert e.code == 0
    out = capsys.readouterr().out
    assert "optimistic" in out and "tensor-root" in out


def test_tensor_root_prints_the_root_height_and_region_root(tmp_path: Path, capsys):
    f = tmp_path / "t.bin"
    f.write_bytes(bytes(range(100)))
    assert main(["tensor-root", str(f)]) == 0
    out = capsys.readouterr().out
    root, height = tensor_root(bytes(range(100)))
    assert f"0x{root.hex()}" in out and f"0x{fold_region(root, height).hex()}" in out


def test_a_missing_file_is_a_one_line_error(tmp_path: Path, capsys):
    assert main(["tensor-root", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("opml: error:") and err.count("\n") == 1


def test_the_console_script_is_installed():
    exe = Path(sys.executable).parent / "opml"
    res = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.startswith("opml ")
