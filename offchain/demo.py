"""`make demo`: the best end-to-end slice that exists today, on a local anvil chain.

Today that is the phase link in miniature. An input tensor (the OPML demo's MNIST image of a 7) is
placed in VM memory region 2; its tensor root is folded into a region root and combined into a
memory root, exactly as the dispute contract will derive a node's start state. Then the compiled
MerkleMemory library, deployed on anvil, checks a word of the image against that root, applies a
write and must produce the same new root as Python; a tampered proof must be refused by name.
"""

import sys
import time
from pathlib import Path

from offchain.constants import REGION_COUNT, REGION_HEIGHT
from offchain.evm import Anvil, Chain, ContractRevert
from offchain.merkle import ZERO_HASHES, SparseMemory, combine_regions, fold_region, tensor_root

IMAGE = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "opml-mnist" / "input_7"
INPUT_REGION = 2


def _say(msg: str) -> None:
    print(f"[demo] {msg}", flush=True)


def main() -> int:
    t0 = time.perf_counter()
    image = IMAGE.read_bytes() if IMAGE.exists() else bytes((i * 37) & 0xFF for i in range(784))
    _say(f"input tensor: {IMAGE if IMAGE.exists() else 'synthetic 28x28 pattern'} ({len(image)} bytes)")
    root, height = tensor_root(image)
    _say(f"tensor root 0x{root.hex()} (height {height}: {1 << height} leaves)")

    regions = [ZERO_HASHES[REGION_HEIGHT]] * REGION_COUNT
    regions[INPUT_REGION] = fold_region(root, height)
    mem_root = combine_regions(regions)
    base = INPUT_REGION << 28
    mem = SparseMemory()
    mem.write(base, image)
    assert mem.root() == mem_root, "sparse memory and region folding disagree"
    _say(f"memory root 0x{mem_root.hex()} (region {INPUT_REGION} folded from the tensor root; equals the sparse VM memory)")

    _say("starting anvil and deploying MerkleMemoryHarness (forge build output) ...")
    with Anvil() as node:
        harness = Chain(node).deploy("MerkleMemoryHarness")
        _say(f"harness at {harness.address}")
        # The first word with ink in it: a part of the stroke of the 7.
        addr = base + next(i for i in range(0, len(image) - 3, 4) if any(image[i : i + 4]))
        proof = mem.proof(addr)
        word = harness.call("readWord", mem_root, addr, proof)
        _say(f"on chain: word at {addr:#010x} = 0x{word:08x} (pixels {list(word.to_bytes(4, 'big'))}), proven")
        assert word == mem.read_word(addr)

        new_root = harness.call("writeWord", mem_root, addr, proof, 0xFFFFFFFF)
        mem.write_word(addr, 0xFFFFFFFF)
        assert new_root == mem.root(), "on-chain write and Python write disagree"
        _say(f"on chain: write 0xffffffff -> new root 0x{new_root.hex()} == Python's")

        bad = bytearray(proof)
        bad[100] ^= 1
        try:
            harness.call("readWord", mem_root, addr, bytes(bad))
        except ContractRevert as e:
            _say(f"on chain: tampered proof refused with {e.name}{e.args}")
        else:
            _say("ERROR: a tampered proof was accepted")
            return 1
        gas = harness.estimate_gas("readWord", mem_root, addr, proof)
        _say(f"gas of a proof-checking call (whole tx, today's rules): {gas:,}")
    _say(f"done in {time.perf_counter() - t0:.1f}s. The dispute game and MIPS VM build on this (see README).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
