"""The agents' view of a chain: a small backend protocol, and contracts bound to it.

Agents decide from chain state alone (as op-challenger does), so all they need is: read (eth_call,
logs, the head's timestamp) and send a transaction from their account. Two backends implement it:
`RpcBackend` (JSON-RPC with an unlocked account: anvil, tests) here, and the ape backend
(`offchain.chain.ape`: ape's networks and accounts, which sign) for the CLI. ABI encoding
and custom-error decoding come from forge's artifacts (`offchain.chain.abi.Artifact`) in both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode

from offchain.chain.abi import Artifact, _canonical_type, _signature
from offchain.chain.rpc import ContractRevert, Rpc, RpcError, revert_data, wait_for_receipt
from offchain.chain.views import GameView, ResultView, TaskView
from offchain.merkle.hashing import keccak


class Backend(Protocol):
    """What an agent needs of a chain."""

    sender: str

    def request(self, method: str, params: list[Any]) -> Any:
        """A raw JSON-RPC request (reads)."""

    def transact(self, to: str | None, data: bytes, value: int) -> dict[str, Any]:
        """Send a transaction from `sender` (`to=None`: create a contract, `data` its initcode)
        and return its mined receipt as JSON-RPC's `eth_getTransactionReceipt` gives it."""


@dataclass
class RpcBackend:
    """JSON-RPC to a node that holds `sender` unlocked (anvil's test accounts)."""

    rpc: Rpc
    sender: str
    gas: int = 30_000_000

    def request(self, method: str, params: list[Any]) -> Any:
        return self.rpc.request(method, params)

    def transact(self, to: str | None, data: bytes, value: int) -> dict[str, Any]:
        tx = {"from": self.sender, "data": "0x" + data.hex(), "value": hex(value), "gas": hex(self.gas)}
        if to is not None:
            tx["to"] = to
        txh = self.rpc.request("eth_sendTransaction", [tx])
        return wait_receipt(self, txh)


def wait_receipt(backend: Backend, txh: str) -> dict[str, Any]:
    """The mined receipt of the agent's transaction `txh` (agents allow a slow node a minute)."""
    return wait_for_receipt(backend, txh, timeout=60.0)


class Bound:
    """A deployed contract bound to a backend: `call`, `struct`, `send` (reverts are raised,
    decoded, before anything is sent), `events`. The one contract client of the agents, the CLI,
    the deployment, and (through `offchain.chain.anvil.Chain`) the tests and benches.

    `simulate_in`: the block a send is simulated in first. The agents use "pending", the block it
    will be mined in (a reveal must come a block after its commitment, SPEC §6.3, which a
    simulation in the latest block would refuse); the tests "latest", where they set up state."""

    def __init__(self, backend: Backend, artifact: Artifact, address: str, simulate_in: str = "pending") -> None:
        self.backend, self.artifact, self.address, self.simulate_in = backend, artifact, address, simulate_in
        self._events = {i["name"]: i for i in artifact.abi if i["type"] == "event"}

    @property
    def sender(self) -> str:
        return self.backend.sender

    def as_sender(self, sender: str) -> "Bound":
        """The same contract, with transactions sent from `sender` (an unlocked account of a
        JSON-RPC node: an ape account signs for one address only)."""
        if not isinstance(self.backend, RpcBackend):
            raise TypeError(f"cannot send as {sender} through {type(self.backend).__name__}")
        return type(self)(RpcBackend(self.backend.rpc, sender, self.backend.gas), self.artifact, self.address,
                          self.simulate_in)

    def estimate_gas(self, fn: str, *args: Any) -> int:
        data, _ = self._encode(fn, args)
        tx = {"from": self.backend.sender, "to": self.address, "data": "0x" + data.hex()}
        return int(self.backend.request("eth_estimateGas", [tx]), 16)

    def _encode(self, fn: str, args: tuple[Any, ...]) -> tuple[bytes, dict[str, Any]]:
        return self.artifact.encode_call(fn, args)

    def _eth_call(self, data: bytes, value: int = 0, block: str = "latest") -> bytes:
        tx = {"from": self.backend.sender, "to": self.address, "data": "0x" + data.hex(), "value": hex(value)}
        try:
            return bytes.fromhex(self.backend.request("eth_call", [tx, block])[2:])
        except RpcError as e:
            rd = revert_data(e)
            if rd is None:
                raise
            raise self.artifact.decode_revert(rd) from None

    def call(self, fn: str, *args: Any) -> Any:
        data, item = self._encode(fn, args)
        return self.artifact.decode_output(item, self._eth_call(data))

    def struct(self, fn: str, *args: Any) -> dict[str, Any]:
        """Call a view returning one struct: {field name as the ABI gives it: value}."""
        data, item = self._encode(fn, args)
        outs = item["outputs"]
        if len(outs) != 1 or outs[0]["type"] != "tuple":
            raise TypeError(f"{self.artifact.name}.{fn} does not return one struct")
        values = self.artifact.decode_output(item, self._eth_call(data))
        return dict(zip((c["name"] for c in outs[0]["components"]), values, strict=True))

    def send(self, fn: str, *args: Any, value: int = 0) -> dict[str, Any]:
        """Mine `fn(*args)`; a call that would revert raises ContractRevert and sends nothing."""
        data, _ = self._encode(fn, args)
        self._eth_call(data, value, self.simulate_in)
        receipt = self.backend.transact(self.address, data, value)
        if int(receipt["status"], 16) != 1:
            raise ContractRevert(b"", None, (f"{fn} was mined but reverted (the state changed in between)",))
        return receipt

    def calldata(self, fn: str, *args: Any) -> bytes:
        return self._encode(fn, args)[0]

    def topic(self, event: str) -> str:
        return "0x" + keccak(_signature(self._events[event]).encode()).hex()

    def decode_log(self, event: str, log: dict[str, Any]) -> dict[str, Any]:
        """An event log as a dict of its fields (indexed ones decoded from their topics)."""
        item = self._events[event]
        plain = [p for p in item["inputs"] if not p["indexed"]]
        values = abi_decode([_canonical_type(p) for p in plain], bytes.fromhex(log["data"][2:]))
        out: dict[str, Any] = dict(zip((p["name"] for p in plain), values))
        topics = log["topics"][1:]
        for p, t in zip((p for p in item["inputs"] if p["indexed"]), topics):
            out[p["name"]] = abi_decode([_canonical_type(p)], bytes.fromhex(t[2:]))[0]
        out["blockNumber"] = int(log["blockNumber"], 16)
        return out

    def topics(self, event: str, where: dict[str, Any]) -> list[str | list[str] | None]:
        """The eth_getLogs topics of `event` logs whose indexed fields equal `where` (by name; a
        list: any of its values; None: any value). A field that is not indexed cannot be
        filtered at the node, so naming one is an error."""
        indexed = [p for p in self._events[event]["inputs"] if p["indexed"]]
        unknown = set(where) - {p["name"] for p in indexed}
        if unknown:
            raise ValueError(f"{event} has no indexed field {', '.join(sorted(unknown))}")
        topics: list[str | list[str] | None] = [self.topic(event)]
        for p in indexed:
            v = where.get(p["name"])
            enc = [_canonical_type(p)]
            if isinstance(v, (list, tuple)):
                if not v:  # a node reads an empty list as "any value", the opposite of what was asked
                    raise ValueError(f"{event}: no value of {p['name']} to match")
                topics.append(["0x" + abi_encode(enc, [x]).hex() for x in v])
            else:
                topics.append(None if v is None else "0x" + abi_encode(enc, [v]).hex())
        while topics[-1] is None:
            topics.pop()
        return topics

    def events(self, event: str, from_block: int = 0, receipt: dict[str, Any] | None = None,
               **where: Any) -> list[dict[str, Any]]:
        """This contract's `event` logs, from one receipt or from the chain since `from_block`,
        whose indexed fields equal `where` (e.g. `taskId=7`): the node filters them by topic, so
        an agent's tick does not decode every log of the chain's history."""
        topics = self.topics(event, where)
        if receipt is not None:
            logs = [lg for lg in receipt["logs"] if lg["address"].lower() == self.address.lower()
                    and all(t is None or lt in ([t] if isinstance(t, str) else t) for t, lt in zip(topics, lg["topics"]))]
        else:
            logs = self.backend.request("eth_getLogs", [{"address": self.address, "topics": topics,
                                                         "fromBlock": hex(from_block), "toBlock": "latest"}])
        return [self.decode_log(event, lg) for lg in logs]


class TaskRegistry(Bound):
    """TaskRegistry, with its structs as typed views."""

    def task(self, task_id: int) -> TaskView:
        return TaskView.of(self.struct("task", task_id))

    def result(self, result_id: int) -> ResultView:
        return ResultView.of(self.struct("result", result_id))


class DisputeGame(Bound):
    """DisputeGame, with its game struct as a typed view."""

    def game(self, game_id: int) -> GameView:
        return GameView.of(self.struct("game", game_id))


def head_timestamp(backend: Backend) -> int:
    return int(backend.request("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)


def head_number(backend: Backend) -> int:
    return int(backend.request("eth_blockNumber", []), 16)


@dataclass(frozen=True)
class System:
    """The deployed contracts, bound to one agent's backend."""

    mips: Bound
    models: Bound
    link: Bound
    tasks: TaskRegistry
    games: DisputeGame

    @classmethod
    def at(cls, backend: Backend, addresses: dict[str, str]) -> "System":
        names = {"mips": "MIPS", "models": "ModelRegistry", "link": "NodeLink", "tasks": "TaskRegistry",
                 "games": "DisputeGame"}
        kinds: dict[str, type[Bound]] = {"tasks": TaskRegistry, "games": DisputeGame}
        return cls(**{k: kinds.get(k, Bound)(backend, Artifact.load(v), addresses[v]) for k, v in names.items()})
