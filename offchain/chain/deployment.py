"""Deploy the OPML contracts from forge's build output, register the shipped models, and keep a
deployments file per network.

The one place that knows the deploy order (SPEC §6), for every path: tests and benches through
`deploy(chain)` (offchain/chain/anvil.py), `ape run deploy` through `deploy_system(backend)` with ape's
accounts (offchain/chain/ape.py), and script/Deploy.s.sol for Foundry users, which repeats
this order (reading the shipped models' specs from SHIPPED_SPECS) and is checked against it by
tests/test_deploy.py:

    MIPS, ModelRegistry, NodeLink, TaskRegistry(models, link, mips)

TaskRegistry's constructor deploys the DisputeGame bound to it, so `TaskRegistry.games()` is the
game's address. Nothing here is specific to anvil or localhost except the backend it is given.
"""

from __future__ import annotations

import json
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_abi import encode as abi_encode
from eth_utils import to_checksum_address

from offchain.chain.abi import REPO_ROOT, Artifact, _canonical_type
from offchain.chain.anvil import Chain
from offchain.chain.client import Backend, Bound, RpcBackend, System

if TYPE_CHECKING:
    from offchain.game.model import ModelSpec

#: Deploy order, with each constructor's arguments named by the contracts deployed before it.
ORDER: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("MIPS", ()),
    ("ModelRegistry", ()),
    ("NodeLink", ()),
    ("TaskRegistry", ("ModelRegistry", "NodeLink", "MIPS")),
)
#: Every contract of a deployment: the deployed ones, then the one TaskRegistry creates.
CONTRACTS: tuple[str, ...] = (*(name for name, _ in ORDER), "DisputeGame")
DEPLOYMENTS_DIR = REPO_ROOT / "deployments"


class DeploymentError(RuntimeError):
    """A deployment failed or a deployments file is unusable; the message is one line."""


@dataclass(frozen=True)
class Deployment:
    mips: Bound
    models: Bound
    link: Bound
    tasks: Bound
    games: Bound

    def as_sender(self, sender: str) -> "Deployment":
        """The same contracts, with transactions sent from `sender`."""
        return Deployment(*(c.as_sender(sender) for c in (self.mips, self.models, self.link, self.tasks, self.games)))

    def addresses(self) -> dict[str, str]:
        return {"MIPS": self.mips.address, "ModelRegistry": self.models.address, "NodeLink": self.link.address,
                "TaskRegistry": self.tasks.address, "DisputeGame": self.games.address}


def initcode(name: str, *args: Any) -> bytes:
    """Creation code of forge's artifact `name` with its constructor arguments appended."""
    art = Artifact.load(name)
    ctor = next((i for i in art.abi if i["type"] == "constructor"), None)
    encoded = abi_encode([_canonical_type(p) for p in ctor["inputs"]], list(args)) if ctor else b""
    return art.bytecode + encoded


def create(backend: Backend, code: bytes) -> dict[str, Any]:
    """Mine a creation transaction; its receipt, which names the new contract's address."""
    receipt = backend.transact(None, code, 0)
    if int(receipt["status"], 16) != 1 or not receipt.get("contractAddress"):
        raise DeploymentError(f"creation transaction {receipt.get('transactionHash')} reverted")
    return receipt


def deploy_system(backend: Backend) -> tuple[dict[str, str], int]:
    """Deploy every contract in ORDER from `backend.sender`: (name -> address, first block)."""
    addresses: dict[str, str] = {}
    first_block = -1
    for name, deps in ORDER:
        receipt = create(backend, initcode(name, *(addresses[d] for d in deps)))
        addresses[name] = to_checksum_address(receipt["contractAddress"])
        first_block = int(receipt["blockNumber"], 16) if first_block < 0 else first_block
    tasks = Bound(backend, Artifact.load("TaskRegistry"), addresses["TaskRegistry"])
    addresses["DisputeGame"] = to_checksum_address(tasks.call("games"))
    return addresses, first_block


def deploy(chain: Chain) -> Deployment:
    """Deploy the whole system on `chain` from its first account (tests, benches, demo)."""
    addresses, _ = deploy_system(RpcBackend(chain.rpc, chain.sender))
    return Deployment(*(chain.at(name, addresses[name]) for name in CONTRACTS))


@dataclass(frozen=True)
class ShippedModel:
    name: str
    spec: "ModelSpec"


def shipped_models() -> list[ShippedModel]:
    """The models this repo ships, as the registry records them (SPEC §6.2): the Shakespeare
    LLaMA (two-phase) and the MNIST MLP with its single-phase and its two-phase graph. The uri is
    the repo-relative model file, with `#single` / `#two-phase` naming the MNIST graph."""
    from offchain.game.model import model_spec
    from offchain.llm.format import read_model
    from offchain.node.graph import build_graph

    llama, mlp = read_model(REPO_ROOT / "models" / "shakespeare.opml"), read_model(REPO_ROOT / "models" / "mnist.opml")
    return [
        ShippedModel("shakespeare", model_spec(llama, build_graph(llama.config), "models/shakespeare.opml")),
        ShippedModel("mnist-single", model_spec(mlp, build_graph(mlp.config, single_phase=True), "models/mnist.opml#single")),
        ShippedModel("mnist-two-phase", model_spec(mlp, build_graph(mlp.config), "models/mnist.opml#two-phase")),
    ]


#: The shipped models' specs, ABI-encoded, for script/Deploy.s.sol (forge cannot derive them).
SHIPPED_SPECS = DEPLOYMENTS_DIR / "shipped-models.json"


def specs_file(models: list[ShippedModel]) -> str:
    """SHIPPED_SPECS's content: each spec as `abi.encode(spec)`, which Solidity decodes."""
    return json.dumps({
        "note": "written by `python -m offchain.chain.deployment --write-specs`; read by script/Deploy.s.sol",
        "names": [m.name for m in models],
        "ids": ["0x" + m.spec.model_id.hex() for m in models],
        "specs": ["0x" + m.spec.abi().hex() for m in models],
    }, indent=2) + "\n"


def register_models(system: System, models: list[ShippedModel]) -> list[tuple[ShippedModel, bool]]:
    """Register each model not yet in the registry: (model, True if registered now)."""
    done = []
    for m in models:
        fresh = not system.models.call("exists", m.spec.model_id)
        if fresh:
            system.models.send("register", astuple(m.spec))
        done.append((m, fresh))
    return done


def deployment_path(ecosystem: str, network: str, folder: Path | None = None) -> Path:
    return (folder or DEPLOYMENTS_DIR) / f"{ecosystem}-{network}.json"


def record(chain_id: int, block: int, deployer: str, addresses: dict[str, str], models: list[ShippedModel]) -> dict[str, Any]:
    """The deployments file's content."""
    return {
        "chainId": chain_id,
        "block": block,
        "deployer": deployer,
        "contracts": {name: addresses[name] for name in CONTRACTS},
        "models": [{"name": m.name, "id": "0x" + m.spec.model_id.hex(), "spec": m.spec.to_json()} for m in models],
    }


def load_deployment(path: Path, command: str) -> dict[str, Any]:
    """A deployments file; a one-line error naming `command` (the deploy to run) if it is missing."""
    if not path.exists():
        raise DeploymentError(f"no deployment at {path}: run `{command}` first")
    try:
        data = json.loads(path.read_text())
        missing = [n for n in CONTRACTS if n not in data["contracts"]]
    except (ValueError, KeyError, TypeError) as e:
        raise DeploymentError(f"{path} is not a deployments file ({one_line(e)}): replace it with `{command} --fresh`") from None
    if missing:
        raise DeploymentError(f"{path} lacks {', '.join(missing)}: replace it with `{command} --fresh`")
    return dict(data)


def one_line(e: BaseException) -> str:
    """An exception's message on one line (ape's and requests' messages span several)."""
    return " ".join(str(e).split()) or type(e).__name__


def write_deployment(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)  # a reader never sees half a file


def live_on(backend: Backend, data: dict[str, Any]) -> str | None:
    """None if every contract of `data` has code on the backend's chain, else why not."""
    chain_id = int(backend.request("eth_chainId", []), 16)
    if data.get("chainId") != chain_id:
        return f"it is for chain {data.get('chainId')}, this is chain {chain_id}"
    for name, address in data["contracts"].items():
        if backend.request("eth_getCode", [address, "latest"]) in ("0x", "0x0", None):
            return f"{name} has no code at {address}"
    return None


def deploy_or_reuse(backend: Backend, path: Path, *, fresh: bool, command: str,
                    say: Any = print) -> dict[str, Any]:
    """Reuse the deployment in `path` if its contracts still have code on this chain (unless
    `fresh`), else deploy; then register the shipped models not yet registered and write `path`."""

    reused = None
    if path.exists() and not fresh:
        old = load_deployment(path, command)
        why = live_on(backend, old)
        if why is None:
            reused = old
            say(f"reusing the deployment in {path} (chain {old['chainId']}, block {old['block']})")
        else:
            say(f"not reusing {path}: {why}; deploying afresh")
    if reused is None:
        addresses, block = deploy_system(backend)
        deployer = backend.sender
        for name in CONTRACTS:
            say(f"{name:<14} {addresses[name]}")
    else:
        addresses, block, deployer = reused["contracts"], reused["block"], reused["deployer"]
    models = shipped_models()
    for m, new in register_models(System.at(backend, addresses), models):
        say(f"model {m.name:<16} 0x{m.spec.model_id.hex()} {'registered' if new else 'already registered'}")
    data = record(int(backend.request("eth_chainId", []), 16), block, deployer, addresses, models)
    write_deployment(path, data)
    say(f"wrote {path}")
    return data


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m offchain.chain.deployment",
                                description=f"Write or check {SHIPPED_SPECS.relative_to(REPO_ROOT)}.")
    p.add_argument("--write-specs", action="store_true", help="rewrite the file from the model files")
    args = p.parse_args(argv)
    text = specs_file(shipped_models())
    if args.write_specs:
        SHIPPED_SPECS.write_text(text)
        print(f"wrote {SHIPPED_SPECS}")
        return 0
    same = SHIPPED_SPECS.exists() and SHIPPED_SPECS.read_text() == text
    print(f"{SHIPPED_SPECS}: {'up to date' if same else 'stale: run `python -m offchain.chain.deployment --write-specs`'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
