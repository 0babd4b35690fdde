"""Deployment: `ape run deploy`, the RPC path, the forge script and the ape backend (SPEC §6).

One anvil takes the ape deployment (ape-foundry connects to it through APE_FOUNDRY_HOST, so it
outlives each `ape run`); fresh anvils take the forge script and the RPC path. All three deploy
from anvil's first account at nonce 0, so the same bytecode lands at the same addresses and the
immutables (addresses themselves) coincide: code is compared byte for byte, nothing masked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import astuple
from pathlib import Path
from typing import Any

import pytest

from offchain.chain.client import RpcBackend, System
from offchain.chain.deployment import (
    CONTRACTS,
    SHIPPED_SPECS,
    DeploymentError,
    deploy,
    deploy_or_reuse,
    shipped_models,
    specs_file,
)
from offchain.evm import Anvil, Chain

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# anvil's well-known dev keys (accounts 0 and 2 of its default mnemonic)
ANVIL_KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ANVIL_KEY2 = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}:{BIN}:{env.get('PATH', '')}"
    env.setdefault("APE_DATA_FOLDER", str(ROOT / ".ape"))
    env.setdefault("FOUNDRY_SOLC", str(ROOT / "tools" / "solc"))
    return {**env, **extra}


def _run(cmd: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, env=_env(**extra), capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    with Anvil() as a:
        yield a


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("deployments")


def ape_deploy(node: Anvil, folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return _run([str(BIN / "ape"), "run", "deploy", "--deployments", str(folder), *args], APE_FOUNDRY_HOST=node.url, **env)


@pytest.fixture(scope="module")
def ape_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ape data folder holding one keyfile account, `alice`: anvil's dev account 2, encrypted."""
    from eth_account import Account

    data = tmp_path_factory.mktemp("ape")
    (data / "accounts").mkdir()
    (data / "accounts" / "alice.json").write_text(json.dumps(Account.encrypt(ANVIL_KEY2, "pw")))
    return data


@pytest.fixture(scope="module")
def unknown_account_run(node: Anvil, ape_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """`ape run deploy --account nobody`, started first so that its ape start overlaps the others'."""
    out = tmp_path_factory.mktemp("nobody")
    cmd = [str(BIN / "ape"), "run", "deploy", "--deployments", str(out), "--account", "nobody"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(APE_FOUNDRY_HOST=node.url, APE_DATA_FOLDER=str(ape_data)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    yield proc, out
    if proc.poll() is None:  # its test was not run
        proc.kill()
        proc.communicate()


@pytest.fixture(scope="module")
def first_run(node: Anvil, folder: Path, unknown_account_run) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:  # type: ignore[no-untyped-def]
    res = ape_deploy(node, folder)
    assert res.returncode == 0, res.stdout + res.stderr
    return res, json.loads((folder / "ethereum-local.json").read_text())


def test_ape_deploy_writes_every_address_and_registers_the_shipped_models(node: Anvil, first_run) -> None:  # type: ignore[no-untyped-def]
    _, data = first_run
    backend = RpcBackend(node.rpc, node.rpc.request("eth_accounts")[0])
    assert data["chainId"] == 31337 and data["deployer"].lower() == backend.sender and data["block"] >= 1
    assert list(data["contracts"]) == list(CONTRACTS)
    for address in data["contracts"].values():
        assert len(node.rpc.request("eth_getCode", [address, "latest"])) > 2
    mips, block = data["contracts"]["MIPS"], data["block"]  # the block of the first creation
    assert node.rpc.request("eth_getCode", [mips, hex(block - 1)]) == "0x" != node.rpc.request("eth_getCode", [mips, hex(block)])
    system = System.at(backend, data["contracts"])
    assert system.tasks.call("games").lower() == data["contracts"]["DisputeGame"].lower()
    expected = shipped_models()
    assert [m["name"] for m in data["models"]] == ["shakespeare", "mnist-single", "mnist-two-phase"]
    for entry, m in zip(data["models"], expected):
        assert entry["id"] == "0x" + m.spec.model_id.hex() and entry["spec"] == m.spec.to_json()
        assert tuple(system.models.call("model", m.spec.model_id)) == astuple(m.spec)
    assert [m.spec.uri for m in expected] == ["models/shakespeare.opml", "models/mnist.opml#single",
                                               "models/mnist.opml#two-phase"]


def test_ape_deploy_rerun_reuses_the_live_deployment_and_registers_nothing(node: Anvil, folder: Path, first_run) -> None:  # type: ignore[no-untyped-def]
    _, before = first_run
    head = node.rpc.request("eth_blockNumber")
    res = ape_deploy(node, folder)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "reusing the deployment" in res.stdout and res.stdout.count("already registered") == 3
    assert json.loads((folder / "ethereum-local.json").read_text()) == before
    assert node.rpc.request("eth_blockNumber") == head  # not one transaction sent


def test_rpc_path_deploys_the_same_addresses_and_code_as_ape(node: Anvil, first_run) -> None:  # type: ignore[no-untyped-def]
    _, data = first_run
    with Anvil() as fresh:
        addresses = deploy(Chain(fresh)).addresses()
        assert addresses == data["contracts"]
        for name in CONTRACTS:
            assert fresh.rpc.request("eth_getCode", [addresses[name], "latest"]) == \
                node.rpc.request("eth_getCode", [addresses[name], "latest"]), name


def test_forge_script_deploys_the_same_bytecode_at_the_same_addresses_and_registers_the_same_models(node: Anvil, first_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, data = first_run
    with Anvil() as fresh:
        res = _run([str(ROOT / "node_modules" / ".bin" / "forge"), "script", "script/Deploy.s.sol", "--rpc-url",
                    fresh.url, "--broadcast", "--private-key", ANVIL_KEY0], FOUNDRY_BROADCAST=str(tmp_path))
        assert res.returncode == 0, res.stdout + res.stderr
        shown = " ".join(res.stdout.split()).lower()
        for name, address in data["contracts"].items():
            assert f"{name} {address}".lower() in shown, name
            code = fresh.rpc.request("eth_getCode", [address, "latest"])
            assert len(code) > 2 and code == node.rpc.request("eth_getCode", [address, "latest"]), name
        registry = System.at(RpcBackend(fresh.rpc, fresh.rpc.request("eth_accounts")[0]), data["contracts"]).models
        for m in shipped_models():
            assert f"model {m.name} 0x{m.spec.model_id.hex()}" in shown
            assert tuple(registry.call("model", m.spec.model_id)) == astuple(m.spec)


def test_the_committed_specs_file_forge_registers_is_the_shipped_models() -> None:
    assert SHIPPED_SPECS.read_text() == specs_file(shipped_models()), "run `python -m offchain.chain.deployment --write-specs`"


def test_fresh_redeploys_and_a_file_for_another_chain_is_not_reused(tmp_path: Path) -> None:
    """deploy_or_reuse over the RPC backend, the same function `ape run deploy` runs."""
    path, said = tmp_path / "ethereum-local.json", []
    with Anvil() as a:
        backend = RpcBackend(a.rpc, a.rpc.request("eth_accounts")[0])
        first = deploy_or_reuse(backend, path, fresh=False, command="x", say=said.append)
        again = deploy_or_reuse(backend, path, fresh=True, command="x", say=said.append)
        assert set(first["contracts"].values()).isdisjoint(again["contracts"].values())
        assert sum("registered" in line and "already" not in line for line in said) == 6  # a new registry, twice
        path.write_text(json.dumps({**again, "chainId": 1}))
        said.clear()
        third = deploy_or_reuse(backend, path, fresh=False, command="x", say=said.append)
        assert any("not reusing" in line and "it is for chain 1, this is chain 31337" in line for line in said)
        assert third["contracts"] != again["contracts"] and json.loads(path.read_text()) == third


def test_a_malformed_deployments_file_is_a_one_line_error_naming_the_command(tmp_path: Path) -> None:
    path = tmp_path / "ethereum-local.json"
    path.write_text('{"contracts": {"MIPS": "0x01"}}')
    with Anvil() as a, pytest.raises(DeploymentError) as e:
        deploy_or_reuse(RpcBackend(a.rpc, a.rpc.request("eth_accounts")[0]), path, fresh=False,
                        command="ape run deploy --network n", say=lambda _: None)
    assert "\n" not in str(e.value) and "lacks ModelRegistry" in str(e.value) and "`ape run deploy --network n --fresh`" in str(e.value)


# Run in a subprocess: importing ape costs seconds and its logging setup should not leak into
# the other tests. It posts a task through ApeBackend and prints what the test checks.
APE_CLIENT = r"""
import json, sys
from pathlib import Path
from offchain.chain.ape import ChainSetupError, connect
from offchain.chain.client import head_timestamp
from offchain.evm import ContractRevert

folder, empty = Path(sys.argv[1]), Path(sys.argv[2])
out = {}
with connect(None, None, deployments=folder) as (backend, system, data):
    model = bytes.fromhex(data["models"][0]["id"][2:])
    prompt = b"".join(t.to_bytes(4, "big") for t in b"ROMEO:")
    args = (model, prompt, 4, head_timestamp(backend) + 3600, 3600, 3600, 10**16, 10**16)
    try:
        system.tasks.send("createTask", model, prompt, 4, 0, 3600, 3600, 10**16, 10**16, value=10**16)
    except ContractRevert as e:
        out["revert"] = [e.name, list(e.args)]
    out["receipt"] = system.tasks.send("createTask", *args, value=10**16)
    out["mined_revert"] = backend.transact(system.models.address, b"\xde\xad\xbe\xef", 0)["status"]
    out["sender"], out["prompt"] = backend.sender, prompt.hex()
with connect(None, "alice", deployments=folder) as (backend, system, data):
    out["alice"] = [backend.sender, system.tasks.send("createTask", model, prompt, 1,
                    head_timestamp(backend) + 3600, 3600, 3600, 10**16, 10**16)["from"]]
cases = [("missing", dict(deployments=empty)), ("account", dict(account="nobody", deployments=folder)),
         ("network", dict(network="ethereum:nonet")), ("rpc", dict(network="http://127.0.0.1:1"))]
for name, kwargs in cases:
    try:
        with connect(**kwargs):
            out[name] = "connected"
    except ChainSetupError as e:
        out[name] = str(e)
print("RESULT " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def ape_client(node: Anvil, folder: Path, first_run, ape_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    empty = tmp_path_factory.mktemp("empty")
    res = _run([sys.executable, "-c", APE_CLIENT, str(folder), str(empty)], APE_FOUNDRY_HOST=node.url,
               APE_DATA_FOLDER=str(ape_data), APE_ACCOUNTS_alice_PASSPHRASE="pw")
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert res.returncode == 0 and line, res.stdout + res.stderr
    return dict(json.loads(line[len("RESULT "):]))


def _shape(value: Any) -> Any:
    """The JSON-RPC shape of a value: dict keys and hex-string-ness, recursively."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value[:1]]
    return "hex" if isinstance(value, str) and value.startswith("0x") else type(value).__name__


def test_ape_backend_receipt_has_the_rpc_backends_shape_and_decodes_task_created(node: Anvil, first_run, ape_client) -> None:  # type: ignore[no-untyped-def]
    _, data = first_run
    receipt = ape_client["receipt"]
    rpc = RpcBackend(node.rpc, node.rpc.request("eth_accounts")[1])
    system = System.at(rpc, data["contracts"])
    model = bytes.fromhex(data["models"][0]["id"][2:])
    deadline = int(node.rpc.request("eth_getBlockByNumber", ["latest", False])["timestamp"], 16) + 3600
    reference = system.tasks.send("createTask", model, b"\0\0\0\x41", 1, deadline, 3600, 3600, 10**16, 10**16, value=1)
    for key in ("status", "logs", "gasUsed", "blockNumber", "transactionHash", "contractAddress"):
        assert key in receipt
    assert _shape(receipt) == _shape(reference)
    assert receipt["status"] == "0x1"
    (event,) = system.tasks.events("TaskCreated", receipt=receipt)
    assert event["requester"].lower() == ape_client["sender"].lower() and event["model"] == model
    assert event["input"] == bytes.fromhex(ape_client["prompt"]) and event["newTokens"] == 4
    assert event["reward"] == 10**16 and event["blockNumber"] == int(receipt["blockNumber"], 16)


def test_ape_backend_keeps_revert_data_so_custom_errors_decode_by_name(ape_client) -> None:  # type: ignore[no-untyped-def]
    assert ape_client["revert"] == ["InvalidParams", [1]]  # deadline 0: in the past


def test_ape_backend_returns_a_mined_revert_as_a_status_0_receipt_like_rpc_backend(ape_client) -> None:  # type: ignore[no-untyped-def]
    assert ape_client["mined_revert"] == "0x0"  # no such function: the registry reverts


def test_an_ape_keyfile_account_signs_through_connect(node: Anvil, ape_client) -> None:  # type: ignore[no-untyped-def]
    sender, mined_from = ape_client["alice"]
    assert sender.lower() == mined_from.lower() == node.rpc.request("eth_accounts")[2]


def test_connect_errors_are_one_line_and_name_the_fix(ape_client) -> None:  # type: ignore[no-untyped-def]
    errors = {k: ape_client[k] for k in ("missing", "account", "network", "rpc")}
    assert all("\n" not in e and e != "connected" for e in errors.values()), errors
    assert "no deployment at" in errors["missing"] and "ape run deploy --network ethereum:local:foundry`" in errors["missing"]
    assert "no ape account with alias 'nobody' (known: alice)" in errors["account"]
    assert "ethereum:nonet" in errors["network"] and "No network in 'ethereum' named 'nonet'" in errors["network"]
    assert "http://127.0.0.1:1" in errors["rpc"] and "No (supported) node found" in errors["rpc"]


def test_ape_deploy_with_an_unknown_account_fails_with_one_line_and_deploys_nothing(unknown_account_run) -> None:  # type: ignore[no-untyped-def]
    proc, out = unknown_account_run
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode != 0
    errors = [ln for ln in stderr.splitlines() if ln.startswith("Error")]
    assert len(errors) == 1 and "no ape account with alias 'nobody' (known: alice)" in errors[0], stderr
    assert "deploying on" not in stdout and not list(out.iterdir())


def test_the_python_bounds_mirror_the_registrys_floors(node: Anvil, first_run) -> None:  # type: ignore[no-untyped-def]
    """offchain/game/bounds.py computes what TaskRegistry enforces (SPEC §6.3), edges included."""
    from offchain.game.bounds import min_clock, min_window

    _, data = first_run
    tasks = System.at(RpcBackend(node.rpc, node.rpc.request("eth_accounts")[0]), data["contracts"]).tasks
    for n, k in ((1, 1), (2, 1), (9, 20), (648, 18), (1 << 20, 24), ((1 << 32) - 1, 48), (1 << 32, 48)):
        assert tasks.call("minClock", n, k) == min_clock(n, k), (n, k)
        assert tasks.call("minWindow", n, k) == min_window(n, k), (n, k)
