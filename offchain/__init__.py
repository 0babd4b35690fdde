"""OPML off-chain tooling: Merkle memory, the MIPS emulator, the integer LLaMA runner and agents."""

__version__ = "0.1.0"
