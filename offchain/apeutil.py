"""Bridge forge build output into ape, so ape never needs a second Solidity compiler."""

import json
from pathlib import Path
from typing import Any

from offchain.evm import ARTIFACTS


def contract_container(name: str, source: str | None = None) -> Any:
    """An ape ContractContainer for `out/<source or name>.sol/<name>.json`."""
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
