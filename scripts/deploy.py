"""`ape run deploy [--network CHOICE] [--account ALIAS] [--fresh]`: deploy OPML and register the
shipped models.

Deploys MIPS, ModelRegistry, NodeLink and TaskRegistry (which creates the DisputeGame) from
forge's build output (`make build`), registers the Shakespeare LLaMA and both MNIST graphs, and
writes `deployments/<ecosystem>-<network>.json`. A deployment already in that file whose contracts
still have code on the chain is reused (only missing models are registered) unless `--fresh`.
The order and the file live in offchain/chain/deployment.py; this script only picks ape's network and
account.
"""

from pathlib import Path
from typing import Any

import click
from ape.cli import network_option

from offchain.chain.ape import ApeBackend, ChainSetupError, connected, deploy_command, network_name, pick_account
from offchain.chain.deployment import DeploymentError, deploy_or_reuse, deployment_path
from offchain.evm import ContractRevert, RpcConnectionError, RpcError


# ape's `network_option` parses --network into a provider; connecting is left to `connected()`, as
# for the CLI, so an unreachable RPC is a one-line error rather than ape's traceback.
@click.command(short_help="Deploy OPML's contracts and register the shipped models")
@network_option()
@click.option("--account", "alias", default=None, metavar="ALIAS",
              help="ape account alias (local networks default to test account 0; TEST::N picks test account N)")
@click.option("--fresh", is_flag=True, help="deploy anew even if the deployments file's contracts are live")
@click.option("--deployments", "folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="folder of the deployments files (default: the repo's deployments/)")
# Our own -v replaces the LEVEL option `ape run` adds to a script without one: ape's per-transaction
# `INFO: Confirmed …` lines stay quiet unless asked for (`-v`, or `-v LEVEL` as in ape).
@click.option("-v", "--verbosity", is_flag=False, flag_value="INFO", default="WARNING",
              type=click.Choice(["ERROR", "WARNING", "SUCCESS", "INFO", "DEBUG"], case_sensitive=False),
              help="ape's log level (default WARNING; -v alone: INFO, which shows every confirmed transaction)")
def cli(provider: Any, alias: str | None, fresh: bool, folder: Path | None, verbosity: str) -> None:
    from ape.logging import logger

    logger.set_level(verbosity.upper())
    try:
        with connected(provider) as provider:
            ecosystem, name = network_name(provider)
            backend = ApeBackend(pick_account(alias, provider.network.is_local), provider)
            click.echo(f"deploying on {ecosystem}:{name} (chain {provider.chain_id}) from {backend.sender}")
            deploy_or_reuse(backend, deployment_path(ecosystem, name, folder), fresh=fresh,
                            command=deploy_command(provider), say=click.echo)
    except (ChainSetupError, DeploymentError, FileNotFoundError, RpcError, RpcConnectionError, ContractRevert) as e:
        raise click.ClickException(str(e)) from None
