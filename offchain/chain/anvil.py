"""A throw-away anvil node, and a `Chain` on it (its first account) for tests, benches and demos:
deploy forge's artifacts and get them back as the same contract client the agents use."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from typing import Any

from eth_abi import encode as abi_encode

from offchain.chain.abi import REPO_ROOT, Artifact, _canonical_type
from offchain.chain.client import Bound, RpcBackend
from offchain.chain.rpc import Rpc, RpcConnectionError, wait_for_receipt


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

    def bind(self, artifact: Artifact, address: str) -> Bound:
        # Sends are simulated in the latest block, where the tests set up the state they check.
        return Bound(RpcBackend(self.rpc, self.sender), artifact, address, simulate_in="latest")

    def at(self, name: str, address: str, source: str | None = None) -> Bound:
        """An already deployed contract of artifact `name`."""
        return self.bind(Artifact.load(name, source), address)

    def wait_for_receipt(self, txh: str, timeout: float = 30.0) -> dict[str, Any]:
        """Poll for a mined receipt; anvil automines, but the receipt can lag the send by a moment."""
        return wait_for_receipt(self.rpc, txh, timeout)

    def deploy(self, name: str, *args: Any, source: str | None = None) -> Bound:
        """Deploy forge's artifact `name` with constructor arguments `args`."""
        art = Artifact.load(name, source)
        ctor = next((i for i in art.abi if i["type"] == "constructor"), None)
        encoded = abi_encode([_canonical_type(p) for p in ctor["inputs"]], list(args)) if ctor else b""
        tx = {"from": self.sender, "data": "0x" + (art.bytecode + encoded).hex(), "gas": hex(30_000_000)}
        receipt = self.wait_for_receipt(self.rpc.request("eth_sendTransaction", [tx]))
        if int(receipt["status"], 16) != 1:
            raise RuntimeError(f"deploying {name} failed: {receipt}")
        return self.bind(art, receipt["contractAddress"])
