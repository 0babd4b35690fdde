"""A deployed system on one anvil with the shipped models registered, and agents to play on it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import astuple, dataclass
from pathlib import Path

import pytest

from offchain.agents.catalog import Catalog
from offchain.agents.store import Store
from offchain.chain.client import RpcBackend, System
from offchain.chain.deployment import Deployment, deploy
from offchain.evm import Anvil, Chain


@dataclass
class World:
    node: Anvil
    chain: Chain
    deployment: Deployment
    catalog: Catalog
    accounts: list[str]
    state: Path
    deployment_file: Path

    def system(self, account: str) -> System:
        return System.at(RpcBackend(self.node.rpc, account), self.deployment.addresses())

    def store(self, name: str) -> Store:
        return Store(self.state / f"{name}.sqlite")

    def credits(self, account: str) -> int:
        return int(self.deployment.tasks.call("credits", account))


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    state = tmp_path_factory.mktemp("agents")
    with Anvil(args=("--accounts", "12")) as node:
        chain = Chain(node)
        d = deploy(chain)
        catalog = Catalog()
        for e in catalog.entries:
            d.models.send("register", astuple(e.spec))
        dep = state / "deployment.json"
        dep.write_text(json.dumps({"contracts": d.addresses()}))
        yield World(node, chain, d, catalog, chain.accounts(), state, dep)
