"""The names the differential tests and the benches import: anvil, the contract client, ABI and
RPC errors, all from `offchain/chain/`.

Why not ape there: the differential tests make thousands of `eth_call`s, and ape's per-call
overhead (and its ~5 s pytest plugin start) would dominate; they speak JSON-RPC to the same anvil
binary ape-foundry uses, through the same contract client as the agents (`Contract` is
`offchain.chain.client.Bound`).
"""

from offchain.chain.abi import ARTIFACTS, REPO_ROOT, Artifact, _canonical_type, _signature, calldata_tokens
from offchain.chain.anvil import Anvil, Chain, anvil_binary
from offchain.chain.client import Bound as Contract
from offchain.chain.rpc import ContractRevert, Rpc, RpcConnectionError, RpcError, revert_data, wait_for_receipt

__all__ = ["ARTIFACTS", "REPO_ROOT", "Anvil", "Artifact", "Chain", "Contract", "ContractRevert", "Rpc",
           "RpcConnectionError", "RpcError", "_canonical_type", "_signature", "anvil_binary", "calldata_tokens",
           "revert_data", "wait_for_receipt"]
