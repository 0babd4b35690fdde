"""tools/solc must look like native solc to forge: --version, --standard-json, include paths."""

import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLC = ROOT / "tools" / "solc"


def _run(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SOLC), *args], input=stdin, capture_output=True, text=True, timeout=120)


def test_version_is_in_native_format():
    out = _run(["--version"]).stdout
    assert "Version: 0.8.30+commit.73712a01.Linux.g++" in out


def test_standard_json_resolves_imports_from_include_paths_and_ignores_allow_paths(tmp_path: Path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "Answer.sol").write_text("pragma solidity 0.8.30; library Answer { function get() internal pure returns (uint256) { return 42; } }")
    src = 'pragma solidity 0.8.30; import "Answer.sol"; contract C { function f() external pure returns (uint256) { return Answer.get(); } }'
    inp = {
        "language": "Solidity",
        "sources": {"C.sol": {"content": src}},
        "settings": {"outputSelection": {"*": {"*": ["evm.bytecode.object"]}}},
    }
    res = _run(["--base-path", str(tmp_path), "--include-path", str(lib), "--allow-paths", "/", "--standard-json"], json.dumps(inp))
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert not [e for e in out.get("errors", []) if e["severity"] == "error"], out["errors"]
    assert out["contracts"]["C.sol"]["C"]["evm"]["bytecode"]["object"]


def test_a_missing_import_is_a_compile_error_not_a_crash(tmp_path: Path):
    inp = {"language": "Solidity", "sources": {"C.sol": {"content": 'pragma solidity 0.8.30; import "Nope.sol";'}}}
    res = _run(["--base-path", str(tmp_path), "--standard-json"], json.dumps(inp))
    assert res.returncode == 0
    errors = json.loads(res.stdout)["errors"]
    assert any("Nope.sol" in e["message"] for e in errors)


def test_unknown_flags_are_refused_with_usage():
    res = _run(["--optimize-yul-nonsense"])
    assert res.returncode == 2 and "unsupported argument" in res.stderr
