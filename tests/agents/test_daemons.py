"""The daemons as a user runs them (`opml serve`, `opml watch` processes): a dropped RPC
connection and a restart mid-phase-1 lose nothing, and bad input gets a one-line error."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from offchain.agents.requester import Terms, encode_input, outcome, post_task
from offchain.chain.client import head_number
from offchain.chain.views import GameView, ResultStatus, Stage
from tests.agents.proxy import Proxy

ROOT = Path(__file__).resolve().parents[2]
OPML = [sys.executable, "-m", "offchain.cli"]


def _opml(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*OPML, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def _daemon(world, role: str, url: str, account: int, start: int, *extra: str) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    cmd = [*OPML, role, "--rpc", url, "--deployment", str(world.deployment_file), "--from", world.accounts[account],
           "--state", str(world.state / role), "--poll", "0.2", "--from-block", str(start), "--no-withdraw", *extra]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _wait(pred, timeout: float = 240.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the agents")
        time.sleep(0.2)


def _game(world, start: int) -> GameView | None:  # type: ignore[no-untyped-def]
    games = world.system(world.accounts[0]).games
    ev = games.events("GameOpened", start)
    return games.game(ev[-1]["gameId"]) if ev else None


def test_a_dropped_rpc_and_a_restart_mid_phase_one_lose_nothing(world) -> None:  # type: ignore[no-untyped-def]
    entry = world.catalog.named("shakespeare")
    sysr = world.system(world.accounts[1])
    start = head_number(sysr.tasks.backend) + 1
    task_id = post_task(sysr, entry, encode_input(entry, "RO"), 3, Terms())
    proxy = Proxy(world.node.port)
    liar = _daemon(world, "serve", world.node.url, 6, start, "--dishonest", "wrong-node:150")
    watcher = _daemon(world, "watch", proxy.url, 7, start)
    procs = [liar, watcher]
    try:
        # Cut the watcher's connection during phase 2, and restore it.
        _wait(lambda: (g := _game(world, start)) is not None and g.round >= 4)
        proxy.cut()
        time.sleep(1.5)
        proxy.restore()
        # Kill the watcher mid-phase 1 and start a new one on the same state folder.
        _wait(lambda: (g := _game(world, start)) is not None and g.level == 1 and g.round >= 30)
        watcher.kill()
        watcher.wait()
        out_first = watcher.stdout.read() if watcher.stdout else ""
        watcher = _daemon(world, "watch", proxy.url, 7, start)
        procs.append(watcher)
        _wait(lambda: (g := _game(world, start)) is not None and g.stage.over)
        g = _game(world, start)
        assert g is not None and g.stage == Stage.CHALLENGER_WON and g.node == 150
        _, results = outcome(world.system(world.accounts[0]), task_id)
        assert results[-1][1].status == ResultStatus.REJECTED
        assert "rpc unreachable" in out_first, out_first[-2000:]
    finally:
        for p in procs:
            p.kill()
            p.wait()
        proxy.close()


def test_status_shows_the_game_move_by_move(world) -> None:  # type: ignore[no-untyped-def]
    """After the game above: the overview, the task's results and games, and the game's timeline."""
    dep = ["--rpc", world.node.url, "--deployment", str(world.deployment_file)]
    games = world.system(world.accounts[0]).games
    gid = games.events("GameOpened")[-1]["gameId"]
    g = games.game(gid)
    timeline = _opml("status", "--game", str(gid), *dep)
    assert timeline.returncode == 0, timeline.stderr
    lines = timeline.stdout.splitlines()
    assert "challenger won" in lines[-1] and "(step)" in lines[-1]
    assert sum("disagrees" in ln or "agrees" in ln for ln in lines) == g.round - len([ln for ln in lines if "claims" in ln]) - 1
    assert any(f"node {g.node} linked" in ln for ln in lines)
    task = _opml("status", "--task", str(g.task_id), *dep)
    assert task.returncode == 0 and "rejected" in task.stdout and f"game {gid}" in task.stdout
    overview = _opml("status", *dep).stdout
    assert f"{int(games.call('gameCount'))} game(s)" in overview.splitlines()[0]


@pytest.mark.parametrize("args,message", [
    (["request", "--prompt", "x", "--tokens", "2", "--model", "nope"], "unknown model"),
    (["request", "--prompt", "x" * 300, "--tokens", "2", "--rpc", "http://127.0.0.1:9", "--deployment", "X"],
     "exceeds"),
    (["status", "--rpc", "http://127.0.0.1:9", "--deployment", "{dep}"], "no answer from"),
    (["serve", "--dishonest", "lie-everywhere", "--rpc", "http://127.0.0.1:9", "--deployment", "{dep}"], "unknown strategy"),
    (["witness", "--prompt", "RO", "--tokens", "2", "--node", "99999"], "outside this task"),
])
def test_bad_input_gets_a_one_line_error_and_a_nonzero_exit(world, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    res = _opml(*[a.replace("{dep}", str(world.deployment_file)) for a in args])
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], res.stderr


def test_an_unfunded_account_gets_a_one_line_error(world) -> None:  # type: ignore[no-untyped-def]
    poor = "0x000000000000000000000000000000000000dEaD"
    world.node.rpc.request("anvil_impersonateAccount", [poor])
    res = _opml("request", "--prompt", "RO", "--tokens", "2", "--rpc", world.node.url, "--deployment",
                str(world.deployment_file), "--from", poor)
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "fund" in lines[0].lower(), res.stderr


def test_request_quorum_is_soft_final_once_every_member_agrees_and_status_says_so(world) -> None:  # type: ignore[no-untyped-def]
    """SPEC §6.11 through the CLI: `opml request --quorum 2`, two honest `opml serve --once`, then
    `opml status` reports the soft finality; a bad quorum is a one-line error."""
    from offchain.agents.requester import soft_final

    dep = ["--rpc", world.node.url, "--deployment", str(world.deployment_file)]
    start = head_number(world.system(world.accounts[0]).tasks.backend) + 1
    bad = _opml("request", "--prompt", "RO", "--tokens", "2", "--quorum", "1", *dep, "--from", world.accounts[1])
    assert bad.returncode != 0 and bad.stderr.strip().splitlines() == ["opml: error: a quorum is 2 to 16 submitters, not 1"]
    req = _opml("request", "--prompt", "RO", "--tokens", "2", "--quorum", "2", *dep, "--from", world.accounts[1])
    assert req.returncode == 0, req.stderr
    task_id = int(req.stdout.split()[1].rstrip(":"))
    assert "quorum of 2" in req.stdout
    for account in (8, 9):
        served = _opml("serve", "--once", *dep, "--from", world.accounts[account], "--state", str(world.state / f"q{account}"),
                       "--from-block", str(start), "--no-withdraw")
        assert served.returncode == 0 and "revealing its commitment" in served.stdout, served.stdout + served.stderr
    soft = soft_final(world.system(world.accounts[0]), task_id)
    assert soft is not None and soft["taskId"] == task_id
    status = _opml("status", "--task", str(task_id), *dep)
    assert "quorum of 2: soft-final" in status.stdout, status.stdout
