// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title MIPSState
/// @notice The packed 226-byte MIPS VM state (docs/SPEC.md §2.1): validating it, reading and writing
///         its fields in place, and hashing it with the status byte.
/// @dev    The state lives in one `bytes memory` buffer in exactly its packed layout, so the
///         post-state is emitted and hashed without re-encoding. Every field is big-endian at a
///         fixed offset; the accessors are tiny assembly loads/stores at `buffer + 32 + offset`.
///         The buffer is allocated with the 32-byte rounding Solidity always applies (226 → 256),
///         so a 32-byte load or store at any field offset stays inside the allocation.
library MIPSState {
    /// @notice Length of the packed state.
    uint256 internal constant STATE_BYTES = 226;

    /// @notice Offset of the 32-byte memory root.
    uint256 internal constant OFF_MEM_ROOT = 0;
    /// @notice Offset of the 32-byte preimage key (carried unchanged).
    uint256 internal constant OFF_PREIMAGE_KEY = 32;
    /// @notice Offset of the u32 preimage offset (carried unchanged).
    uint256 internal constant OFF_PREIMAGE_OFFSET = 64;
    /// @notice Offset of the u32 program counter.
    uint256 internal constant OFF_PC = 68;
    /// @notice Offset of the u32 next program counter.
    uint256 internal constant OFF_NEXT_PC = 72;
    /// @notice Offset of the u32 LO register.
    uint256 internal constant OFF_LO = 76;
    /// @notice Offset of the u32 HI register.
    uint256 internal constant OFF_HI = 80;
    /// @notice Offset of the u32 heap pointer (mmap bump allocator).
    uint256 internal constant OFF_HEAP = 84;
    /// @notice Offset of the u8 exit code.
    uint256 internal constant OFF_EXIT_CODE = 88;
    /// @notice Offset of the u8 exited flag (0 or 1).
    uint256 internal constant OFF_EXITED = 89;
    /// @notice Offset of the u64 step counter.
    uint256 internal constant OFF_STEP = 90;
    /// @notice Offset of register 0; register i is at OFF_REGS + 4·i.
    uint256 internal constant OFF_REGS = 98;

    /// @notice State-hash status byte: exited with code 0.
    uint8 internal constant STATUS_EXIT_ZERO = 0;
    /// @notice State-hash status byte: exited with code 1.
    uint8 internal constant STATUS_EXIT_ONE = 1;
    /// @notice State-hash status byte: exited with any other code.
    uint8 internal constant STATUS_EXIT_OTHER = 2;
    /// @notice State-hash status byte: still running.
    uint8 internal constant STATUS_RUNNING = 3;

    /// @notice The packed state is not exactly STATE_BYTES long.
    /// @param length The length given.
    error InvalidStateLength(uint256 length);
    /// @notice The exited byte is neither 0 nor 1.
    /// @param flag The byte given.
    error InvalidExitedFlag(uint8 flag);

    /// @notice Copy a packed state from calldata into memory, rejecting malformed input.
    /// @param packed The packed state.
    /// @return state The state buffer (a `bytes` of STATE_BYTES).
    function load(bytes calldata packed) internal pure returns (bytes memory state) {
        if (packed.length != STATE_BYTES) revert InvalidStateLength(packed.length);
        state = packed;
        uint8 flag = uint8(packed[OFF_EXITED]);
        if (flag > 1) revert InvalidExitedFlag(flag);
    }

    /// @notice The state hash: keccak256 of the packed state with its top byte replaced by the status.
    /// @param state The state buffer.
    /// @return h The state hash.
    function hash(bytes memory state) internal pure returns (bytes32 h) {
        uint256 status = STATUS_RUNNING;
        if (exited(state)) {
            uint8 code = exitCode(state);
            status = code == 0 ? STATUS_EXIT_ZERO : (code == 1 ? STATUS_EXIT_ONE : STATUS_EXIT_OTHER);
        }
        assembly ("memory-safe") {
            // Hash the packed bytes in place, then overwrite the top byte with the status.
            h := keccak256(add(state, 32), 226)
            h := or(and(h, not(shl(248, 0xff))), shl(248, status))
        }
    }

    /// @notice A big-endian u32 field.
    /// @param state  The state buffer.
    /// @param offset The field's offset.
    /// @return v The value.
    function get32(bytes memory state, uint256 offset) internal pure returns (uint32 v) {
        assembly ("memory-safe") {
            // The field is the top 4 bytes of the 32-byte word starting at it.
            v := shr(224, mload(add(add(state, 32), offset)))
        }
    }

    /// @notice Set a big-endian u32 field.
    /// @param state  The state buffer.
    /// @param offset The field's offset.
    /// @param v      The value.
    function set32(bytes memory state, uint256 offset, uint32 v) internal pure {
        assembly ("memory-safe") {
            // Read-modify-write the 32-byte word starting at the field, replacing its top 4 bytes.
            let p := add(add(state, 32), offset)
            mstore(p, or(shr(32, shl(32, mload(p))), shl(224, v)))
        }
    }

    /// @notice General-purpose register `i`; register 0 reads 0 whatever its packed slot holds.
    /// @param state The state buffer.
    /// @param i     The register number, 0..31.
    /// @return v The value.
    function reg(bytes memory state, uint256 i) internal pure returns (uint32 v) {
        if (i != 0) v = get32(state, OFF_REGS + (i << 2));
    }

    /// @notice Write general-purpose register `i`; a write to register 0 is discarded.
    /// @param state The state buffer.
    /// @param i     The register number, 0..31.
    /// @param v     The value.
    function setReg(bytes memory state, uint256 i, uint32 v) internal pure {
        if (i != 0) set32(state, OFF_REGS + (i << 2), v);
    }

    /// @notice The memory root.
    /// @param state The state buffer.
    /// @return root The root.
    function memRoot(bytes memory state) internal pure returns (bytes32 root) {
        assembly ("memory-safe") {
            // memRoot is the first 32 bytes of the packed state.
            root := mload(add(state, 32))
        }
    }

    /// @notice Replace the memory root.
    /// @param state The state buffer.
    /// @param root  The new root.
    function setMemRoot(bytes memory state, bytes32 root) internal pure {
        assembly ("memory-safe") {
            // memRoot is the first 32 bytes of the packed state.
            mstore(add(state, 32), root)
        }
    }

    /// @notice Whether the exited flag is set.
    /// @param state The state buffer.
    /// @return True when exited.
    function exited(bytes memory state) internal pure returns (bool) {
        return uint8(state[OFF_EXITED]) == 1;
    }

    /// @notice The exit code.
    /// @param state The state buffer.
    /// @return The exit code.
    function exitCode(bytes memory state) internal pure returns (uint8) {
        return uint8(state[OFF_EXIT_CODE]);
    }

    /// @notice Stop the machine: exited = 1 with `code` (an exit_group code or a fault code).
    /// @param state The state buffer.
    /// @param code  The exit code.
    function exit(bytes memory state, uint8 code) internal pure {
        state[OFF_EXIT_CODE] = bytes1(code);
        state[OFF_EXITED] = bytes1(uint8(1));
    }

    /// @notice Advance the u64 step counter by one (wrapping, as a u64 would).
    /// @param state The state buffer.
    function incrementStep(bytes memory state) internal pure {
        assembly ("memory-safe") {
            // step is the top 8 bytes of the word at OFF_STEP; the registers follow it.
            let p := add(add(state, 32), 90)
            let w := mload(p)
            let s := and(add(shr(192, w), 1), 0xffffffffffffffff)
            mstore(p, or(shr(64, shl(64, w)), shl(192, s)))
        }
    }

    /// @notice Fall through to the next instruction: pc = nextPC, nextPC = nextPC + 4.
    /// @param state The state buffer.
    function advance(bytes memory state) internal pure {
        uint32 next = get32(state, OFF_NEXT_PC);
        set32(state, OFF_PC, next);
        unchecked {
            set32(state, OFF_NEXT_PC, next + 4);
        }
    }
}
