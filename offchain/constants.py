"""Constants shared with the Solidity contracts.

This module is the single source of truth on the Python side. `tests/test_constants_drift.py`
parses the `internal constant` declarations in `src/` and fails if any value here differs.
"""

from typing import Final

#: Bytes per Merkle leaf. Leaves are stored raw, never hashed.
LEAF_BYTES: Final = 32
#: log2 of the number of leaves in the 4 GiB memory tree (2^32 bytes / 32 bytes per leaf).
MEMORY_DEPTH: Final = 27
#: A memory proof is the leaf followed by MEMORY_DEPTH sibling hashes, bottom-up.
PROOF_BYTES: Final = (MEMORY_DEPTH + 1) * LEAF_BYTES
#: Height of one 256 MiB region sub-tree (2^23 leaves of 32 bytes).
REGION_HEIGHT: Final = 23
#: The memory tree's top levels: 2^REGION_LEVELS regions.
REGION_LEVELS: Final = MEMORY_DEPTH - REGION_HEIGHT
REGION_COUNT: Final = 1 << REGION_LEVELS
#: Bytes in one region.
REGION_BYTES: Final = LEAF_BYTES << REGION_HEIGHT
#: Depth of the phase-2 accumulator: up to 2^32 graph nodes in one task (DESIGN.md §5).
ACC_DEPTH: Final = 32

# -- Protocol v2 bounds (docs/SPEC.md §6.3, src/lib/GameBounds.sol); formulas in offchain/game/bounds.py.
#: L: worst-case seconds to get one move included.
INCLUSION_LATENCY: Final = 30
#: Seconds added to a mover's clock after each of its moves (Fischer increment): one L.
CLOCK_INCREMENT: Final = INCLUSION_LATENCY
#: The part of a challenge window that is not re-running the task.
WINDOW_BASE: Final = 600
#: The re-run rate a window must allow for, in MIPS steps per second.
RERUN_STEPS_PER_SECOND: Final = 16_777_216
#: Seconds after its commitment during which a result may be revealed (≤ WINDOW_BASE).
REVEAL_PERIOD: Final = 600
#: Floor of both bonds, in wei (0.01 ether).
MIN_BOND: Final = 10**16
#: challengerBond ≤ submitterBond ≤ BOND_RATIO · challengerBond.
BOND_RATIO: Final = 4
