"""Every value and enum the Python side shares with the contracts in src/: the leaf of `offchain`.

It imports nothing from `offchain`, and every other module takes these values from here (the old
homes re-export them). tests/test_constants_drift.py checks each one against src/: a constant by
its Solidity name, an enum by its members' order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final

# -- Merkle memory (SPEC §1; src/lib/MerkleMemory.sol) ---------------------------------------------
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
#: Depth of the phase-2 accumulator: up to 2^32 graph nodes in one task (SPEC §5).
ACC_DEPTH: Final = 32

# -- Protocol v2 bounds (SPEC §6.3, src/lib/GameBounds.sol); formulas in offchain/game/bounds.py --
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

# -- the VM state (SPEC §2.1-2.2, 2.6; src/lib/MIPSState.sol, MIPSSyscalls.sol) --------------------
STATE_BYTES: Final = 226
#: Byte offsets of the packed state's fields.
OFF_MEM_ROOT: Final = 0
OFF_PREIMAGE_KEY: Final = 32
OFF_PREIMAGE_OFFSET: Final = 64
OFF_PC: Final = 68
OFF_NEXT_PC: Final = 72
OFF_LO: Final = 76
OFF_HI: Final = 80
OFF_HEAP: Final = 84
OFF_EXIT_CODE: Final = 88
OFF_EXITED: Final = 89
OFF_STEP: Final = 90
OFF_REGS: Final = 98
#: The state hash's first byte (SPEC §2.1).
STATUS_EXIT_ZERO: Final = 0
STATUS_EXIT_ONE: Final = 1
STATUS_EXIT_OTHER: Final = 2
STATUS_RUNNING: Final = 3
HEAP_START: Final = 0x90000000
STACK_TOP: Final = 0x0FFFFFF0
BRK_START: Final = 0xF0000000
#: VM fault codes (SPEC §2.5; src/lib/MIPSInstructions.sol): the exit code of a faulted state.
FAULT_NONE: Final = 0
FAULT_INVALID_INSTRUCTION: Final = 0xF0
FAULT_TRAP: Final = 0xF1
FAULT_UNKNOWN_SYSCALL: Final = 0xF2
FAULT_BRANCH_IN_DELAY_SLOT: Final = 0xF3
FAULT_MISALIGNED: Final = 0xF4
FAULT_DIVIDE_BY_ZERO: Final = 0xF5

# -- the node ABI (SPEC §4; src/NodeLink.sol) -------------------------------------------------------
ABI_VERSION: Final = 1
PROGRAM_REGION: Final = 0
HEADER_REGION: Final = 1
FIRST_INPUT_REGION: Final = 2
MAX_INPUTS: Final = 6
OUTPUT_REGION: Final = 8
HEADER_BASE: Final = HEADER_REGION * REGION_BYTES
OUTPUT_BASE: Final = OUTPUT_REGION * REGION_BYTES
#: Words 0..15 of the header are generic; op parameters start at word 16.
HEADER_FIXED_WORDS: Final = 16
MAX_PARAMS: Final = 48
#: Kernel exit codes (SPEC §4.3). 0 is success; faults of the VM itself use 0xF0..0xF5.
EXIT_OK: Final = 0
EXIT_BAD_HEADER: Final = 1
EXIT_BAD_INPUT_LENGTH: Final = 2
EXIT_BAD_OUTPUT_LENGTH: Final = 3
EXIT_BAD_PARAM: Final = 4
def input_base(i: int) -> int:
    if not 0 <= i < MAX_INPUTS:
        raise ValueError(f"input index {i} is outside 0..{MAX_INPUTS - 1}")
    return (FIRST_INPUT_REGION + i) * REGION_BYTES


@dataclass(frozen=True)
class Header:
    """The node header: what the kernel needs besides its input and output bytes."""

    op: int
    position: int
    input_lengths: tuple[int, ...]
    output_length: int
    params: tuple[int, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if len(self.input_lengths) > MAX_INPUTS:
            raise ValueError(f"a node has at most {MAX_INPUTS} inputs, got {len(self.input_lengths)}")
        if len(self.params) > MAX_PARAMS:
            raise ValueError(f"a node has at most {MAX_PARAMS} parameter words, got {len(self.params)}")
        for v in (self.op, self.position, self.output_length, *self.input_lengths, *self.params):
            if not 0 <= v < 1 << 32:
                raise ValueError(f"header value {v} is not a u32")
        if any(n > REGION_BYTES for n in (*self.input_lengths, self.output_length)):
            raise ValueError("a node tensor is larger than one region")

    def words(self) -> list[int]:
        lengths = list(self.input_lengths) + [0] * (MAX_INPUTS - len(self.input_lengths))
        fixed = [ABI_VERSION, self.op, self.position, len(self.input_lengths), *lengths, self.output_length]
        fixed += [0] * (HEADER_FIXED_WORDS - len(fixed))
        return fixed + list(self.params)

    def encode(self) -> bytes:
        """Canonical header bytes: u32 words, big-endian."""
        return b"".join(w.to_bytes(4, "big") for w in self.words())


#: Words of a descriptor before its parameters (SPEC §5.1): program, op, positional, out_base,
#: out_per_pos, output region, 6 references of 4 words, the parameter count.
DESC_FIXED_WORDS: Final = 6 + 4 * MAX_INPUTS + 1
#: Input reference kinds (SPEC §5.1).
REF_SAME_TOKEN: Final = 1
REF_PREV_TOKEN: Final = 2
REF_WEIGHT: Final = 3
REF_TOKEN_IN: Final = 4
#: Model architectures (src/ModelRegistry.sol).
ARCH_LLAMA: Final = 1
ARCH_MLP: Final = 2

# -- the game (SPEC §6; src/TaskRegistry.sol, src/DisputeGame.sol) ----------------------------------
LEVEL_NODES: Final = 0
LEVEL_STEPS: Final = 1


class Stage(IntEnum):
    """DisputeGame.Stage, in its order."""

    NONE = 0
    BISECT = 1
    TRANSITION = 2
    STEP = 3
    SUBMITTER_WON = 4
    CHALLENGER_WON = 5
    ABANDONED = 6

    @property
    def over(self) -> bool:
        return self >= Stage.SUBMITTER_WON


class TaskStatus(IntEnum):
    """TaskRegistry.TaskStatus, in its order."""

    NONE = 0
    OPEN = 1
    FINALIZED = 2
    REFUNDED = 3


class ResultStatus(IntEnum):
    """TaskRegistry.ResultStatus, in its order."""

    NONE = 0
    PENDING = 1
    REJECTED = 2
    FINALIZED = 3
    RELEASED = 4
    COMMITTED = 5  # committed, not yet revealed (§6.3)
    FORFEITED = 6  # never revealed: the bond went to the requester
