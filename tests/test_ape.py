"""ape (with ape-foundry) can deploy forge's build output and call it: the path the agents use."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ape_deploys_the_forge_artifact_and_checks_a_proof():
    env = dict(os.environ)
    env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}:{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env.setdefault("APE_DATA_FOLDER", str(ROOT / ".ape"))
    ape = Path(sys.executable).parent / "ape"
    res = subprocess.run([str(ape), "run", "merkle_check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "word 0x4f504d4c proven against" in res.stdout
