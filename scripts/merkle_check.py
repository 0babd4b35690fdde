"""`ape run merkle_check`: deploy the Merkle memory harness through ape and check one proof."""

import click
from ape import accounts, networks

from offchain.chain.ape import contract_container
from offchain.merkle import SparseMemory


@click.command()
def cli() -> None:
    with networks.ethereum.local.use_provider("foundry"):
        owner = accounts.test_accounts[0]
        harness = owner.deploy(contract_container("MerkleMemoryHarness"))
        mem = SparseMemory()
        mem.write(0x2000_0000, b"OPML via ape")
        root, proof = mem.root(), mem.proof(0x2000_0000)
        word = harness.readWord(root, 0x2000_0000, proof)
        assert word == mem.read_word(0x2000_0000), (word, mem.read_word(0x2000_0000))
        click.echo(f"ape: harness at {harness.address}, word 0x{word:08x} proven against 0x{root.hex()}")
