// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MIPSTestBase, VMState} from "./harness/MIPSTestBase.sol";

/// @notice Specification of the syscalls, docs/SPEC.md §2.6: number in v0, arguments in a0..a3,
///         result in v0 and errno in a3, then an ordinary fall-through (except exit_group).
contract MIPS_Syscalls_Test is MIPSTestBase {
    uint32 internal constant SYSCALL = 0x0000000C;

    function _sys(uint32 num, uint32 a0, uint32 a1, uint32 a2)
        internal
        returns (VMState memory s, VMState memory post)
    {
        s = _blank();
        s.regs[2] = num;
        s.regs[4] = a0;
        s.regs[5] = a1;
        s.regs[6] = a2;
        s.regs[7] = 0x77777777; // a3 is always overwritten
        post = _run(s, SYSCALL);
    }

    function _expectResult(uint32 num, uint32 a0, uint32 a1, uint32 a2, uint32 v0, uint32 a3) internal {
        (VMState memory s, VMState memory post) = _sys(num, a0, a1, a2);
        _expectAdvanced(s, post);
        assertEq(post.regs[2], v0, "v0");
        assertEq(post.regs[7], a3, "a3");
        assertEq(post.heap, s.heap, "heap unchanged");
    }

    function test_exitGroup_stopsWithTheLowByteOfA0_registersAndPcUnchanged() public {
        (VMState memory s, VMState memory post) = _sys(4246, 0x1234, 0, 0);
        assertEq(post.exited, 1);
        assertEq(post.exitCode, 0x34);
        s.exited = 1;
        s.exitCode = 0x34;
        s.step = 1;
        assertEq(_pack(post), _pack(s));
    }

    function test_mmap_bumpAllocatesPagesFromTheHeap() public {
        (VMState memory s, VMState memory post) = _sys(4090, 0, 1, 0);
        _expectAdvanced(s, post);
        assertEq(post.regs[2], HEAP_START);
        assertEq(post.regs[7], 0);
        assertEq(post.heap, HEAP_START + 4096);
        (, post) = _sys(4090, 0, 8192, 0);
        assertEq(post.heap, HEAP_START + 8192);
        (, post) = _sys(4090, 0, 0, 0);
        assertEq(post.heap, HEAP_START);
    }

    function test_mmap_withAnAddressReturnsIt() public {
        (VMState memory s, VMState memory post) = _sys(4090, 0x20000000, 4096, 0);
        assertEq(post.regs[2], 0x20000000);
        assertEq(post.heap, s.heap);
    }

    function test_mmap_wrapsModulo2To32() public {
        (, VMState memory post) = _sys(4090, 0, 0xFFFFFFFF, 0); // rounds to 0
        assertEq(post.heap, HEAP_START);
        VMState memory s = _blank();
        s.heap = 0xFFFFF000;
        s.regs[2] = 4090;
        s.regs[5] = 0x2000;
        post = _run(s, SYSCALL);
        assertEq(post.regs[2], 0xFFFFF000);
        assertEq(post.heap, 0x1000);
    }

    function test_brk_clone() public {
        _expectResult(4045, 0, 0, 0, 0xF0000000, 0);
        _expectResult(4120, 0, 0, 0, 1, 0);
    }

    function test_write_toStdoutAndStderrReturnsTheCount_elseEBADF() public {
        _expectResult(4004, 1, 0x1000, 13, 13, 0);
        _expectResult(4004, 2, 0x1000, 7, 7, 0);
        _expectResult(4004, 3, 0x1000, 7, 0xFFFFFFFF, 9);
        _expectResult(4004, 0, 0x1000, 7, 0xFFFFFFFF, 9);
    }

    function test_read_stdinIsAlwaysEndOfFile_elseEBADF() public {
        _expectResult(4003, 0, 0x1000, 10, 0, 0);
        _expectResult(4003, 1, 0x1000, 10, 0xFFFFFFFF, 9);
    }

    function test_fcntl() public {
        _expectResult(4055, 0, 3, 0, 0, 0);
        _expectResult(4055, 1, 3, 0, 1, 0);
        _expectResult(4055, 2, 3, 0, 1, 0);
        _expectResult(4055, 5, 3, 0, 0xFFFFFFFF, 9);
        _expectResult(4055, 1, 1, 0, 0xFFFFFFFF, 22);
    }

    function test_unknownSyscall_faults0xF2() public {
        uint32[4] memory nums = [uint32(0), 4001, 4247, 0xFFFFFFFF];
        for (uint256 i = 0; i < nums.length; i++) {
            (VMState memory s, VMState memory post) = _sys(nums[i], 0, 0, 0);
            _expectFault(s, post, 0xF2);
        }
    }

    function test_syscallInADelaySlot_continuesAtTheBranchTarget() public {
        VMState memory s = _blank();
        s.nextPC = 0x00001000;
        s.regs[2] = 4045;
        VMState memory post = _run(s, SYSCALL);
        assertEq(post.pc, 0x00001000);
        assertEq(post.nextPC, 0x00001004);
        assertEq(post.regs[2], 0xF0000000);
    }
}

/// @notice The same specification through `stepCompact` (SPEC §2.8).
contract MIPS_Syscalls_Compact_Test is MIPS_Syscalls_Test {
    function setUp() public override {
        super.setUp();
        compact = true;
    }
}
