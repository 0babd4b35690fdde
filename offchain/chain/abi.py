"""forge's build output (`out/`) as ABI: calldata, return data, custom errors, event signatures."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode

from offchain.chain.rpc import ContractRevert
from offchain.merkle.hashing import keccak

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "out"


def calldata_tokens(data: bytes) -> int:
    """EIP-7623 tokens of calldata: 1 per zero byte, 4 per non-zero byte. Standard calldata gas
    is 4 per token; the floor a transaction pays at least is 21000 + 10 per token."""
    zeros = data.count(0)
    return zeros + 4 * (len(data) - zeros)


def _canonical_type(param: dict[str, Any]) -> str:
    t = param["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(_canonical_type(c) for c in param["components"]) + ")" + t[len("tuple") :]
    return t


def _signature(item: dict[str, Any]) -> str:
    return f"{item['name']}(" + ",".join(_canonical_type(p) for p in item["inputs"]) + ")"


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
