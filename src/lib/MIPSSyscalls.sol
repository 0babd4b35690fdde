// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MIPSState} from "./MIPSState.sol";
import {MIPSInstructions} from "./MIPSInstructions.sol";

/// @title MIPSSyscalls
/// @notice The Linux-style syscalls of the VM (docs/SPEC.md §2.6), applied to a state buffer.
/// @dev    The number is in v0 (r2), arguments in a0..a3 (r4..r7); the result goes to v0 and the
///         error flag/errno to a3. exit_group stops the machine and leaves pc, nextPC and every
///         register unchanged; every other known syscall writes v0 and a3 and then falls through.
library MIPSSyscalls {
    // Narrowing and sign-changing casts here are deliberate: the VM's registers are u32 with
    // wrapping two's-complement semantics (SPEC §2.4), so truncation is the specified behaviour.
    // forge-lint: disable-start(unsafe-typecast)
    /// @notice exit_group(code).
    uint32 internal constant SYS_EXIT_GROUP = 4246;
    /// @notice mmap(addr, size, ...).
    uint32 internal constant SYS_MMAP = 4090;
    /// @notice brk(addr).
    uint32 internal constant SYS_BRK = 4045;
    /// @notice clone(...).
    uint32 internal constant SYS_CLONE = 4120;
    /// @notice write(fd, buf, count).
    uint32 internal constant SYS_WRITE = 4004;
    /// @notice read(fd, buf, count).
    uint32 internal constant SYS_READ = 4003;
    /// @notice fcntl(fd, cmd, ...).
    uint32 internal constant SYS_FCNTL = 4055;

    /// @notice The fixed program break brk returns.
    uint32 internal constant BRK_START = 0xF0000000;
    /// @notice mmap rounds sizes up to this page size.
    uint32 internal constant PAGE_BYTES = 4096;
    /// @notice fcntl command F_GETFL.
    uint32 internal constant F_GETFL = 3;
    /// @notice errno EBADF (bad file descriptor).
    uint32 internal constant EBADF = 9;
    /// @notice errno EINVAL (invalid argument).
    uint32 internal constant EINVAL = 22;

    /// @notice Execute the syscall named by v0 on `state`.
    /// @param state The state buffer (modified in place unless a fault is returned).
    /// @return fault FAULT_UNKNOWN_SYSCALL for an unknown number, else FAULT_NONE.
    function execute(bytes memory state) internal pure returns (uint8 fault) {
        uint32 num = MIPSState.reg(state, 2);
        uint32 a0 = MIPSState.reg(state, 4);
        if (num == SYS_EXIT_GROUP) {
            MIPSState.exit(state, uint8(a0));
            return MIPSInstructions.FAULT_NONE;
        }
        uint32 v0;
        uint32 a3;
        if (num == SYS_MMAP) {
            uint32 size = MIPSState.reg(state, 5);
            unchecked {
                // Round up to a page, in wrapping u32 arithmetic like the rest of the machine.
                size = (size + (PAGE_BYTES - 1)) & ~(PAGE_BYTES - 1);
                if (a0 == 0) {
                    v0 = MIPSState.get32(state, MIPSState.OFF_HEAP);
                    MIPSState.set32(state, MIPSState.OFF_HEAP, v0 + size);
                } else {
                    v0 = a0;
                }
            }
        } else if (num == SYS_BRK) {
            v0 = BRK_START;
        } else if (num == SYS_CLONE) {
            v0 = 1;
        } else if (num == SYS_WRITE) {
            if (a0 == 1 || a0 == 2) {
                v0 = MIPSState.reg(state, 6);
            } else {
                (v0, a3) = (0xFFFFFFFF, EBADF);
            }
        } else if (num == SYS_READ) {
            if (a0 != 0) (v0, a3) = (0xFFFFFFFF, EBADF);
        } else if (num == SYS_FCNTL) {
            if (MIPSState.reg(state, 5) != F_GETFL) {
                (v0, a3) = (0xFFFFFFFF, EINVAL);
            } else if (a0 == 1 || a0 == 2) {
                v0 = 1;
            } else if (a0 != 0) {
                (v0, a3) = (0xFFFFFFFF, EBADF);
            }
        } else {
            return MIPSInstructions.FAULT_UNKNOWN_SYSCALL;
        }
        MIPSState.setReg(state, 2, v0);
        MIPSState.setReg(state, 7, a3);
        MIPSState.advance(state);
        return MIPSInstructions.FAULT_NONE;
    }
    // forge-lint: disable-end(unsafe-typecast)
}
