"""Merkle memory: Python root update cost and on-chain gas of proof checks and writes."""

import random
import time
from typing import Any

from offchain.evm import Anvil, Chain, calldata_tokens
from offchain.merkle import SparseMemory


def _root_after_writes(n: int, rng: random.Random) -> float:
    mem = SparseMemory()
    mem.write(0, rng.randbytes(1 << 16))  # a program-sized base image
    mem.root()
    for _ in range(n):
        mem.write_word(rng.randrange(0, 1 << 32) & ~3, rng.getrandbits(32))
    t0 = time.perf_counter()
    mem.root()
    return time.perf_counter() - t0


def run() -> dict[str, Any]:
    rng = random.Random(1)
    out: dict[str, Any] = {}
    for n in (1, 100, 10_000, 100_000):
        out[f"root_after_{n}_random_writes"] = {"value": _root_after_writes(n, rng) * 1e3, "unit": "ms"}
    mem = SparseMemory()
    mem.write(0x2000_0000, rng.randbytes(16 << 20))
    t0 = time.perf_counter()
    mem.root()
    out["full_root_16MiB"] = {"value": time.perf_counter() - t0, "unit": "s", "note": "2^19 leaves, cold"}

    # Execution gas is read on a Cancun node (no EIP-7623 floor), the whole-tx cost on today's rules.
    for fork, label in (("cancun", "cancun"), (None, "latest")):
        with Anvil(args=("--hardfork", fork) if fork else ()) as node:
            harness = Chain(node).deploy("MerkleMemoryHarness")
            mem = SparseMemory()
            mem.write(0, rng.randbytes(4096))
            addr = 0x40
            root, proof = mem.root(), mem.proof(addr)
            for fn, args in (("readWord", (root, addr, proof)), ("writeWord", (root, addr, proof, 0xDEADBEEF))):
                total = harness.estimate_gas(fn, *args)
                out[f"gas_{fn}_tx_{label}"] = {"value": total, "unit": "gas", "note": "whole tx via harness"}
                if fork == "cancun":
                    tokens = calldata_tokens(harness._calldata(fn, args)[0])
                    std, floor = 4 * tokens, 21000 + 10 * tokens
                    out[f"gas_{fn}_execution"] = {
                        "value": total - 21000 - std,
                        "unit": "gas",
                        "note": f"incl. ABI decoding; calldata floor would be {floor}",
                    }
    return out
