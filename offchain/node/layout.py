"""The node ABI: which region holds what, and the header words a kernel reads (SPEC §4).

A node's VM memory is 16 regions of 256 MiB. Region 0 is the program image and stack; region 1 the
header; regions 2..7 the inputs in order; region 8 the output; 9..15 the kernel's heap/scratch.
Each tensor starts at its region's base, so its tensor root folds into the region root.
"""

from dataclasses import dataclass, field

from offchain.constants import REGION_BYTES

ABI_VERSION = 1
PROGRAM_REGION = 0
HEADER_REGION = 1
FIRST_INPUT_REGION = 2
MAX_INPUTS = 6
OUTPUT_REGION = 8
HEADER_BASE = HEADER_REGION * REGION_BYTES
OUTPUT_BASE = OUTPUT_REGION * REGION_BYTES
#: Words 0..15 of the header are generic; op parameters start at word 16.
HEADER_FIXED_WORDS = 16
MAX_PARAMS = 48

#: Kernel exit codes (SPEC §4.3). 0 is success; faults of the VM itself use 0xF0..0xF5.
EXIT_OK = 0
EXIT_BAD_HEADER = 1
EXIT_BAD_INPUT_LENGTH = 2
EXIT_BAD_OUTPUT_LENGTH = 3
EXIT_BAD_PARAM = 4


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
