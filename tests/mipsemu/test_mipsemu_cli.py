"""`python -m offchain.mipsemu` as README.md shows it (its witness: docs/SPEC.md §2.7)."""

import json
import subprocess
import sys
from pathlib import Path

from offchain.merkle import verify_leaf
from offchain.mipsemu import VM, hash_packed

ELF_DIR = Path(__file__).parent / "programs" / "elf"
ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "offchain.mipsemu", *args], input=stdin, capture_output=True, cwd=ROOT, timeout=120)


def test_help_explains_both_commands():
    out = cli("--help").stdout.decode()
    assert "run ELF" in out and "witness ELF --step K" in out and "post_hash" in out and "--stdin" in out


def test_run_prints_output_exits_with_the_code_and_counts_steps():
    p = cli("run", str(ELF_DIR / "fnptr_O2.elf"), "--steps")
    ref = VM.from_elf(str(ELF_DIR / "fnptr_O2.elf"))
    ref.run(1 << 40)
    assert p.stdout.startswith(b"add=993 ") and p.returncode == ref.exit_code
    assert p.stderr.decode().strip() == f"steps: {ref.step_count}"


def test_run_with_stdin(tmp_path: Path):
    f = tmp_path / "in.txt"
    f.write_bytes(b"abc")
    p = cli("run", str(ELF_DIR / "echo_O2.elf"), "--stdin", str(f))
    assert (p.stdout, p.stderr, p.returncode) == (b"ABC", b"done\n", 3)


def test_bad_elf_is_one_line_and_exit_2(tmp_path: Path):
    bad = tmp_path / "bad.elf"
    bad.write_bytes(b"\x7fELF" + bytes(60))
    p = cli("run", str(bad))
    assert p.returncode == 2 and p.stderr.decode().count("\n") == 1 and "not a 32-bit ELF" in p.stderr.decode()


def test_witness_json_is_the_state_of_step_k_with_verifying_proofs():
    path = str(ELF_DIR / "math64_O0.elf")
    k = 30_001
    d = json.loads(cli("witness", path, "--step", str(k)).stdout)
    assert set(d) == {"state", "proof", "post_hash"} and all(v.startswith("0x") for v in d.values())
    state, proof, post = (bytes.fromhex(d[key][2:]) for key in ("state", "proof", "post_hash"))
    ref = VM.from_elf(path)
    ref.run(k)
    assert state == ref.pack() and int.from_bytes(state[90:98], "big") == k
    assert len(proof) in (896, 1792) and (state, proof) == ref.witness()
    verify_leaf(state[:32], ref.pc, proof[:896])
    ref.step()
    assert post == ref.state_hash() == hash_packed(ref.pack())


def test_witness_after_exit_is_the_fixed_point():
    d = json.loads(cli("witness", str(ELF_DIR / "packed_O2.elf"), "--step", "99999999").stdout)
    state = bytes.fromhex(d["state"][2:])
    assert state[89] == 1 and bytes.fromhex(d["post_hash"][2:]) == hash_packed(state)
