"""A small, direct EVM client: start anvil, deploy forge artifacts, call them, decode custom errors.

Why not ape here: the differential tests make thousands of `eth_call`s, and ape's per-call overhead
(and its ~5 s pytest plugin start) would dominate. This module speaks JSON-RPC to the same anvil
binary ape-foundry uses; ape stays the interface for the user-facing scripts and agents.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode

from offchain.merkle.hashing import keccak

REPO_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO_ROOT / "out"


def calldata_tokens(data: bytes) -> int:
    """EIP-7623 tokens of calldata: 1 per zero byte, 4 per non-zero byte. Standard calldata gas
    is 4 per token; the floor a transaction pays at least is 21000 + 10 per token."""
    zeros = data.count(0)
    return zeros + 4 * (len(data) - zeros)


class RpcConnectionError(ConnectionError):
    """The node did not answer (not running, dropped connection, timeout)."""


class RpcError(RuntimeError):
    """The node answered with a JSON-RPC error that is not a contract revert."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"RPC error {code}: {message}")
        self.code, self.message, self.data = code, message, data


class ContractRevert(RuntimeError):
    """A call reverted. `name` is the custom error's name when the ABI knows it, `args` its
    decoded arguments (without a name: the reason, in words)."""

    def __init__(self, data: bytes, name: str | None, args: tuple[Any, ...]) -> None:
        if name:
            shown = f"{name}({', '.join(map(str, args))})"
        else:
            shown = "; ".join(map(str, args)) or f"0x{data.hex()}"
        self.message = f"reverted: {shown}"
        super().__init__(self.message)
        self.data, self.name, self.args = data, name, args

    def __str__(self) -> str:
        # `args` holds the error's arguments, not the message BaseException would print from it.
        return self.message


def _canonical_type(param: dict[str, Any]) -> str:
    t = param["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(_canonical_type(c) for c in param["components"]) + ")" + t[len("tuple") :]
    return t


def _signature(item: dict[str, Any]) -> str:
    return f"{item['name']}(" + ",".join(_canonical_type(p) for p in item["inputs"]) + ")"


@dataclass
class Rpc:
    """Minimal JSON-RPC over HTTP with one-line errors."""

    url: str
    timeout: float = 30.0
    _id: int = 0

    def request(self, method: str, params: list[Any] | None = None) -> Any:
        self._id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params or []}).encode()
        req = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                reply = json.loads(resp.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError, socket.timeout) as e:
            reason = getattr(e, "reason", e)
            raise RpcConnectionError(f"no answer from {self.url} for {method}: {reason}") from None
        if "error" in reply:
            err = reply["error"]
            raise RpcError(err.get("code", 0), err.get("message", ""), err.get("data"))
        return reply["result"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def anvil_binary() -> str:
    local = REPO_ROOT / "node_modules" / ".bin" / "anvil"
    found = str(local) if local.exists() else shutil.which("anvil")
    if not found:
        raise FileNotFoundError("anvil not found: run `make setup` (it installs Foundry from npm)")
    return found


class Anvil:
    """A throw-away local anvil node. Use as a context manager."""

    def __init__(self, port: int | None = None, args: tuple[str, ...] = ()) -> None:
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        self.rpc = Rpc(self.url)

    def start(self, timeout: float = 20.0) -> "Anvil":
        cmd = [anvil_binary(), "--port", str(self.port), "--silent", "--gas-limit", "1000000000",
               "--code-size-limit", "1000000", *self.args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.rpc.request("eth_chainId")
                return self
            except RpcConnectionError:
                if self.proc.poll() is not None:
                    err = (self.proc.stderr.read() if self.proc.stderr else b"").decode(errors="replace").strip()
                    raise RpcConnectionError(f"anvil exited with {self.proc.returncode}: {err}") from None
                if time.monotonic() > deadline:
                    self.stop()
                    raise RpcConnectionError(f"anvil did not answer on {self.url} within {timeout:.0f}s") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    def __enter__(self) -> "Anvil":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[bytes, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, name: str, source: str | None = None) -> "Artifact":
        """Load `out/<source or name>.sol/<name>.json` as built by `forge build`."""
        path = ARTIFACTS / f"{source or name}.sol" / f"{name}.json"
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: run `make build` (forge build) first")
        raw = json.loads(path.read_text())
        art = cls(name, raw["abi"], bytes.fromhex(raw["bytecode"]["object"].removeprefix("0x")))
        for item in art.abi:
            if item["type"] == "function":
                art.functions[item["name"]] = item
            elif item["type"] == "error":
                art.errors[keccak(_signature(item).encode())[:4]] = item
        return art

    def encode_call(self, fn: str, args: tuple[Any, ...]) -> tuple[bytes, dict[str, Any]]:
        """The calldata of `fn(*args)` and the function's ABI item."""
        item = self.functions.get(fn)
        if item is None:
            raise AttributeError(f"{self.name} has no function {fn}")
        types = [_canonical_type(p) for p in item["inputs"]]
        return keccak(_signature(item).encode())[:4] + abi_encode(types, list(args)), item

    @staticmethod
    def decode_output(item: dict[str, Any], out: bytes) -> Any:
        """A call's return data: the single output, or a tuple of several."""
        decoded = abi_decode([_canonical_type(p) for p in item["outputs"]], out)
        return decoded[0] if len(decoded) == 1 else decoded

    def decode_revert(self, data: bytes) -> ContractRevert:
        item = self.errors.get(data[:4])
        if item is None:
            return ContractRevert(data, None, ())
        types = [_canonical_type(p) for p in item["inputs"]]
        return ContractRevert(data, item["name"], tuple(abi_decode(types, data[4:])))


def revert_data(err: RpcError) -> bytes | None:
    """The revert payload of a failed eth_call, or None if the error is not a revert."""
    data = err.data
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    if err.code == 3 or "revert" in err.message:
        return b""
    return None


def wait_for_receipt(node: Any, txh: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll `node` (anything with `request(method, params)`: an Rpc, an agent's backend) until
    transaction `txh` has a receipt; anvil automines, but the receipt can lag the send a moment."""
    deadline = time.monotonic() + timeout
    while (receipt := node.request("eth_getTransactionReceipt", [txh])) is None:
        if time.monotonic() > deadline:
            raise RpcConnectionError(f"transaction {txh} not mined within {timeout:.0f}s")
        time.sleep(0.01)
    return receipt


class Contract:
    """A deployed contract: `call` for eth_call, `send` for a mined transaction."""

    def __init__(self, rpc: Rpc, address: str, artifact: Artifact, sender: str) -> None:
        self.rpc, self.address, self.artifact, self.sender = rpc, address, artifact, sender

    def _calldata(self, fn: str, args: tuple[Any, ...]) -> tuple[bytes, dict[str, Any]]:
        return self.artifact.encode_call(fn, args)

    def _tx(self, data: bytes, gas: int | None = None) -> dict[str, Any]:
        tx: dict[str, Any] = {"from": self.sender, "to": self.address, "data": "0x" + data.hex()}
        if gas is not None:
            tx["gas"] = hex(gas)
        return tx

    def call(self, fn: str, *args: Any) -> Any:
        """eth_call `fn`; returns the single output, a tuple of several, or raises ContractRevert."""
        data, item = self._calldata(fn, args)
        try:
            out = bytes.fromhex(self.rpc.request("eth_call", [self._tx(data), "latest"])[2:])
        except RpcError as e:
            rd = revert_data(e)
            if rd is None:
                raise
            raise self.artifact.decode_revert(rd) from None
        return self.artifact.decode_output(item, out)

    def estimate_gas(self, fn: str, *args: Any) -> int:
        data, _ = self._calldata(fn, args)
        return int(self.rpc.request("eth_estimateGas", [self._tx(data)]), 16)

    def calldata(self, fn: str, *args: Any) -> bytes:
        """The ABI-encoded call of `fn` (for gas accounting: calldata tokens)."""
        return self._calldata(fn, args)[0]

    def as_sender(self, sender: str) -> "Contract":
        """The same contract, with transactions sent from `sender` (an unlocked anvil account)."""
        return Contract(self.rpc, self.address, self.artifact, sender)

    def send(self, fn: str, *args: Any, value: int = 0, gas: int = 30_000_000) -> dict[str, Any]:
        """Mine a transaction calling `fn`; returns its receipt, or raises ContractRevert (decoded
        from an eth_call of the same transaction) without mining anything if it would revert."""
        data, _ = self._calldata(fn, args)
        tx = self._tx(data, gas)
        tx["value"] = hex(value)
        try:
            self.rpc.request("eth_call", [tx, "latest"])
        except RpcError as e:
            rd = revert_data(e)
            if rd is None:
                raise
            raise self.artifact.decode_revert(rd) from None
        receipt = wait_for_receipt(self.rpc, self.rpc.request("eth_sendTransaction", [tx]))
        if int(receipt["status"], 16) != 1:
            raise ContractRevert(b"", None, ("mined but reverted: the state changed between call and send",))
        return receipt

    def logs(self, receipt: dict[str, Any], event: str) -> list[tuple[Any, ...]]:
        """Decoded non-indexed data of this contract's `event` logs in a receipt (indexed topics
        are prepended as raw 32-byte values)."""
        item = next(i for i in self.artifact.abi if i["type"] == "event" and i["name"] == event)
        topic = "0x" + keccak(_signature(item).encode()).hex()
        plain = [_canonical_type(p) for p in item["inputs"] if not p["indexed"]]
        out = []
        for log in receipt["logs"]:
            if log["address"].lower() == self.address.lower() and log["topics"][0] == topic:
                idx = tuple(bytes.fromhex(t[2:]) for t in log["topics"][1:])
                out.append(idx + tuple(abi_decode(plain, bytes.fromhex(log["data"][2:]))))
        return out


class Chain:
    """An anvil node plus its first unlocked account, for deploying and calling artifacts."""

    def __init__(self, anvil: Anvil) -> None:
        self.anvil = anvil
        self.rpc = anvil.rpc
        self.sender = self.rpc.request("eth_accounts")[0]

    def accounts(self) -> list[str]:
        """The node's unlocked accounts."""
        return list(self.rpc.request("eth_accounts"))

    def increase_time(self, seconds: int) -> None:
        """Advance the chain's clock and mine a block (anvil)."""
        self.rpc.request("evm_increaseTime", [seconds])
        self.rpc.request("evm_mine")

    def at(self, name: str, address: str, source: str | None = None) -> Contract:
        """An already deployed contract of artifact `name`."""
        return Contract(self.rpc, address, Artifact.load(name, source), self.sender)

    def wait_for_receipt(self, txh: str, timeout: float = 30.0) -> dict[str, Any]:
        """Poll for a mined receipt; anvil automines, but the receipt can lag the send by a moment."""
        return wait_for_receipt(self.rpc, txh, timeout)

    def deploy(self, name: str, *args: Any, source: str | None = None) -> Contract:
        """Deploy forge's artifact `name` with constructor arguments `args`."""
        art = Artifact.load(name, source)
        ctor = next((i for i in art.abi if i["type"] == "constructor"), None)
        encoded = abi_encode([_canonical_type(p) for p in ctor["inputs"]], list(args)) if ctor else b""
        tx = {"from": self.sender, "data": "0x" + (art.bytecode + encoded).hex(), "gas": hex(30_000_000)}
        receipt = self.wait_for_receipt(self.rpc.request("eth_sendTransaction", [tx]))
        if int(receipt["status"], 16) != 1:
            raise RuntimeError(f"deploying {name} failed: {receipt}")
        return Contract(self.rpc, receipt["contractAddress"], art, self.sender)

