"""The agents' chain through ape: ape's networks (any network ape knows, the embedded anvil by
default) and ape's accounts (test accounts locally, an alias elsewhere), which sign.

`ApeBackend` implements `offchain.chain.client.Backend`, so the agents and `System` do not know
which backend they run on. Reads go to the connected provider's JSON-RPC transport untouched:
ape's own `make_request` turns an error into a message-only ProviderError, which would lose the
revert data `Bound` decodes into named custom errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offchain.chain.abi import ARTIFACTS
from offchain.chain.client import System, wait_receipt
from offchain.chain.deployment import DeploymentError, deployment_path, live_on, load_deployment, one_line
from offchain.chain.rpc import ContractRevert, RpcConnectionError, RpcError


class ChainSetupError(RuntimeError):
    """The network, the RPC, the account or the deployment is unusable; the message is one line."""


@dataclass
class ApeBackend:
    """The Backend protocol over ape's connected provider, signing with an ape account."""

    account: Any  # ape.api.AccountAPI
    provider: Any  # ape.api.ProviderAPI, connected

    @property
    def sender(self) -> str:
        return str(self.account.address)

    def request(self, method: str, params: list[Any]) -> Any:
        try:
            reply = self.provider.web3.provider.make_request(method, params)
        except (OSError, ConnectionError) as e:  # requests' ConnectionError is an OSError
            raise RpcConnectionError(f"no answer from {self.provider.network_choice} for {method}: {one_line(e)}") from None
        if "error" in reply:
            err = reply["error"]
            if isinstance(err, dict):
                raise RpcError(err.get("code", 0), err.get("message", ""), err.get("data"))
            raise RpcError(0, str(err))
        return reply["result"]

    def transact(self, to: str | None, data: bytes, value: int) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"data": data, "value": value, "sender": self.account.address}
        if to is not None:
            kwargs["receiver"] = to
        txn = self.provider.network.ecosystem.create_transaction(**kwargs)
        # A mined revert comes back as a receipt with status 0, as from RpcBackend; Bound.send
        # has already eth_call'ed the transaction and raised the decoded custom error.
        txn.raise_on_revert = False
        # ape's errors, mapped to the ones RpcBackend raises for the same cause, in one line.
        from ape.exceptions import ApeException, ContractLogicError, ProviderNotConnectedError

        try:
            receipt = self.account.call(txn)
        except ContractLogicError as e:  # the gas estimate reverted (state changed since Bound's eth_call)
            raise ContractRevert(b"", None, (one_line(e),)) from None
        except (OSError, ProviderNotConnectedError) as e:
            raise RpcConnectionError(f"no answer from {self.provider.network_choice}: {one_line(e)}") from None
        except ApeException as e:  # e.g. an unfunded account, a refused signature
            raise RpcError(0, one_line(e)) from None
        return wait_receipt(self, _hex(receipt.txn_hash))


def contract_container(name: str, source: str | None = None) -> Any:
    """An ape ContractContainer for forge's `out/<source or name>.sol/<name>.json`, so ape never
    needs a second Solidity compiler."""
    from ape.contracts import ContractContainer
    from ethpm_types import ContractType

    path = ARTIFACTS / f"{source or name}.sol" / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `make build` (forge build) first")
    raw = json.loads(Path(path).read_text())
    ct = ContractType(
        contractName=name,
        abi=raw["abi"],
        deploymentBytecode={"bytecode": raw["bytecode"]["object"]},
        runtimeBytecode={"bytecode": raw["deployedBytecode"]["object"]},
    )
    return ContractContainer(ct)


def _hex(h: Any) -> str:
    return h if isinstance(h, str) else "0x" + bytes(h).hex()


def quiet_ape(quiet: bool = True) -> None:
    """Silence ape's INFO log (one `Confirmed 0x… (total fees paid = …)` line per transaction,
    dozens in a game, burying the agents' own lines) unless asked for: warnings and errors stay."""
    from ape.logging import logger

    logger.set_level("WARNING" if quiet else "INFO")


def pick_account(alias: str | None, is_local: bool) -> Any:
    """Test account 0 on a local network unless told (`TEST::N` names test account N, whose key is
    public: for dev nodes only); elsewhere the ape account `alias`, unlocked (ape prompts for its passphrase, or reads
    APE_ACCOUNTS_<alias>_PASSPHRASE) and set to sign without asking, as a daemon must."""
    from ape import accounts

    if alias is None:
        if not is_local:
            raise ChainSetupError("this network has no test accounts: pass --account ALIAS (see `ape accounts list`)")
        return accounts.test_accounts[0]
    if m := re.fullmatch(r"TEST::(\d+)", alias):  # asked for by name: also on a node ape calls custom
        return accounts.test_accounts[int(m.group(1))]
    try:
        account = accounts.load(alias)
    except KeyError:
        known = ", ".join(accounts.aliases) or "none"
        raise ChainSetupError(f"no ape account with alias {alias!r} (known: {known}); add one with `ape accounts import {alias}`") from None
    if hasattr(account, "set_autosign"):
        try:
            account.set_autosign(True)
        except Exception as e:  # ape's AccountsError after three wrong passphrases, or no terminal
            raise ChainSetupError(f"could not unlock ape account {alias!r}: {one_line(e)}") from None
    return account


def network_name(provider: Any) -> tuple[str, str]:
    """(ecosystem, network) of a connected provider: the deployments file's name."""
    return provider.network.ecosystem.name, provider.network.name


def deploy_command(provider: Any) -> str:
    """The command that writes this provider's deployments file (a custom node's choice is its URL)."""
    return f"ape run deploy --network {provider.network_choice}"


@contextmanager
def connected(network: Any = None) -> Iterator[Any]:
    """Enter ape's network context for `network` and yield its connected provider. `network` is an
    ape network choice (`ethereum:sepolia:node`, a URL; None: the default, the embedded anvil) or
    the unconnected provider ape's `network_option` parsed it into."""
    from ape import networks
    from ape.api.providers import ProviderAPI
    from ape.exceptions import ApeException

    try:
        if isinstance(network, ProviderAPI):
            choice, ctx = network.network_choice, network.network.use_provider(network)
        else:
            choice = network or networks.default_ecosystem.default_network.choice
            ctx = networks.parse_network_choice(choice)
        provider = ctx.__enter__()
    except (ApeException, OSError, ValueError) as e:
        raise ChainSetupError(f"cannot connect to network {choice!r}: {one_line(e)}") from None
    try:
        if not provider.is_connected:
            raise ChainSetupError(f"cannot connect to network {choice!r}: the RPC does not answer")
        yield provider
    finally:
        ctx.__exit__(None, None, None)


@contextmanager
def connect(network: Any = None, account: str | None = None,
            deployments: Path | None = None) -> Iterator[tuple[ApeBackend, System, dict[str, Any]]]:
    """What the CLI runs inside: (backend, the deployed System bound to it, the deployments file).
    `network` as for `connected`; `account` as for `pick_account`; `deployments` the folder of the
    deployments files (default: the repo's deployments/)."""
    with connected(network) as provider:
        backend = ApeBackend(pick_account(account, provider.network.is_local), provider)
        ecosystem, name = network_name(provider)
        path, command = deployment_path(ecosystem, name, deployments), deploy_command(provider)
        try:
            data = load_deployment(path, command)
        except DeploymentError as e:
            raise ChainSetupError(str(e)) from None
        if why := live_on(backend, data):
            hint = ("; the embedded anvil starts empty every run, so keep one running and point ape at it "
                    "with APE_FOUNDRY_HOST=URL") if provider.network.is_local else ""
            raise ChainSetupError(f"the deployment in {path} is not on this chain ({why}): run `{command}`{hint}")
        yield backend, System.at(backend, data["contracts"]), data
