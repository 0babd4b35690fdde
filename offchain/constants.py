"""The memory constants shared with the contracts; their home is `offchain.protocol`, re-exported
here for the modules that import them from this older name."""

from offchain.protocol import (
    ACC_DEPTH,
    LEAF_BYTES,
    MEMORY_DEPTH,
    PROOF_BYTES,
    REGION_BYTES,
    REGION_COUNT,
    REGION_HEIGHT,
    REGION_LEVELS,
)

__all__ = ["ACC_DEPTH", "LEAF_BYTES", "MEMORY_DEPTH", "PROOF_BYTES", "REGION_BYTES", "REGION_COUNT", "REGION_HEIGHT",
           "REGION_LEVELS"]
