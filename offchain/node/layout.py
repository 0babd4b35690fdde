"""The node ABI: which region holds what, and the header words a kernel reads (SPEC §4).

A node's VM memory is 16 regions of 256 MiB. Region 0 is the program image and stack; region 1 the
header; regions 2..7 the inputs in order; region 8 the output; 9..15 the kernel's heap/scratch.
Each tensor starts at its region's base, so its tensor root folds into the region root.
"""

from offchain.protocol import (  # the ABI's values live in protocol.py, shared with src/NodeLink.sol
    ABI_VERSION,
    EXIT_BAD_HEADER,
    EXIT_BAD_INPUT_LENGTH,
    EXIT_BAD_OUTPUT_LENGTH,
    EXIT_BAD_PARAM,
    EXIT_OK,
    FIRST_INPUT_REGION,
    HEADER_BASE,
    HEADER_FIXED_WORDS,
    HEADER_REGION,
    MAX_INPUTS,
    MAX_PARAMS,
    OUTPUT_BASE,
    OUTPUT_REGION,
    PROGRAM_REGION,
    Header,
    input_base,
)

__all__ = ["ABI_VERSION", "EXIT_BAD_HEADER", "EXIT_BAD_INPUT_LENGTH", "EXIT_BAD_OUTPUT_LENGTH", "EXIT_BAD_PARAM", "EXIT_OK",
           "FIRST_INPUT_REGION", "HEADER_BASE", "HEADER_FIXED_WORDS", "HEADER_REGION", "MAX_INPUTS", "MAX_PARAMS",
           "OUTPUT_BASE", "OUTPUT_REGION", "PROGRAM_REGION", "Header", "input_base"]
