"""The roles through ape, as a user runs them: `ape run deploy`, then `opml request`, `serve`,
`watch` and `status` with ape's network and test accounts (ape-foundry attached to one anvil
through APE_FOUNDRY_HOST, so the deployment outlives each command)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from offchain.evm import Anvil

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_request_serve_watch_and_status_through_ape(tmp_path: Path) -> None:
    with Anvil() as node:
        env = {**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}:{BIN}:{os.environ.get('PATH', '')}",
               "APE_FOUNDRY_HOST": node.url}
        env.setdefault("APE_DATA_FOLDER", str(ROOT / ".ape"))

        def run(*cmd: str) -> subprocess.CompletedProcess[str]:
            res = subprocess.run(list(cmd), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
            assert res.returncode == 0, res.stdout + res.stderr
            return res

        dep = ["--deployments", str(tmp_path)]
        run(str(BIN / "ape"), "run", "deploy", *dep)
        opml = [str(BIN / "opml")]
        out = run(*opml, "request", "--prompt", "RO", "--tokens", "2", "--account", "TEST::1", *dep).stdout
        assert "task 1: shakespeare, 2 new token(s)" in out
        served = run(*opml, "serve", "--account", "TEST::2", "--once", "--state", str(tmp_path / "s"), *dep).stdout
        assert "task 1: committing to an honest result" in served and "result 1: revealing its commitment" in served
        watched = run(*opml, "watch", "--account", "TEST::3", "--once", "--state", str(tmp_path / "w"), *dep).stdout
        assert "challenging" not in watched
        status = run(*opml, "status", "--task", "1", *dep).stdout
        assert "result 1 by" in status and "pending" in status and "0 live game(s)" in status
