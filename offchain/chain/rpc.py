"""JSON-RPC to a node, and the errors every chain call turns into one line."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


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
