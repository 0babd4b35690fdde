"""The memory constants shared with the contracts; their home is `offchain.protocol`, re-exported
here for the modules that import them from this older name."""

from offchain.protocol import (
    ACC_DEPTH,
    BOND_RATIO,
    CLOCK_INCREMENT,
    INCLUSION_LATENCY,
    LEAF_BYTES,
    MEMORY_DEPTH,
    MIN_BOND,
    PROOF_BYTES,
    REGION_BYTES,
    REGION_COUNT,
    REGION_HEIGHT,
    REGION_LEVELS,
    RERUN_STEPS_PER_SECOND,
    REVEAL_PERIOD,
    WINDOW_BASE,
)

__all__ = ["ACC_DEPTH", "BOND_RATIO", "CLOCK_INCREMENT", "INCLUSION_LATENCY", "LEAF_BYTES", "MEMORY_DEPTH",
           "MIN_BOND", "PROOF_BYTES", "REGION_BYTES", "REGION_COUNT", "REGION_HEIGHT", "REGION_LEVELS",
           "RERUN_STEPS_PER_SECOND", "REVEAL_PERIOD", "WINDOW_BASE"]
