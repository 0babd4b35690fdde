// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MIPSTestBase, MIPSTestMemory, VMState, Word} from "./harness/MIPSTestBase.sol";

/// @notice Specification of loads and stores, docs/SPEC.md §2.4/§2.7: big-endian sub-word access,
///         lwl/lwr/swl/swr merging, ll/sc, alignment faults, and the new memory root of a store.
contract MIPS_Memory_Test is MIPSTestBase {
    uint32 internal constant DATA = 0x00012340; // a 4-aligned data address in another leaf
    uint32 internal constant WORD = 0x8192A3B4;

    /// @notice Load with base r1 = DATA and offset `off` into r2 (pre-set to `rt`); returns r2.
    function _load(uint32 op, uint32 off, uint32 rt) internal returns (uint32) {
        VMState memory s = _blank();
        s.regs[1] = DATA;
        s.regs[2] = rt;
        VMState memory post = _runMem(s, _i(op, 1, 2, off), DATA + off, WORD);
        _expectAdvanced(s, post);
        assertEq(post.memRoot, s.memRoot, "a load leaves memory unchanged");
        return post.regs[2];
    }

    /// @notice Store r2 = `rt` at DATA + off over WORD; returns the new word (checked via the root).
    function _store(uint32 op, uint32 off, uint32 rt, uint32 expected) internal returns (VMState memory post) {
        VMState memory s = _blank();
        s.regs[1] = DATA;
        s.regs[2] = rt;
        uint32 insn = _i(op, 1, 2, off);
        post = _runMem(s, insn, DATA + off, WORD);
        _expectAdvanced(s, post);
        assertEq(post.memRoot, _rootOf(PC, insn, DATA, expected), "new root holds the expected word");
    }

    function test_lb_lbu() public {
        assertEq(_load(0x20, 0, 0), 0xFFFFFF81);
        assertEq(_load(0x20, 1, 0), 0xFFFFFF92);
        assertEq(_load(0x20, 3, 0), 0xFFFFFFB4);
        assertEq(_load(0x24, 0, 0), 0x81);
        assertEq(_load(0x24, 2, 0), 0xA3);
    }

    function test_lh_lhu() public {
        assertEq(_load(0x21, 0, 0), 0xFFFF8192);
        assertEq(_load(0x21, 2, 0), 0xFFFFA3B4);
        assertEq(_load(0x25, 0, 0), 0x8192);
        assertEq(_load(0x25, 2, 0), 0xA3B4);
    }

    function test_lw_ll() public {
        assertEq(_load(0x23, 0, 0), WORD);
        assertEq(_load(0x30, 0, 0), WORD);
    }

    function test_lwl_mergesTheHighBytes() public {
        uint32 rt = 0x11223344;
        assertEq(_load(0x22, 0, rt), 0x8192A3B4);
        assertEq(_load(0x22, 1, rt), 0x92A3B444);
        assertEq(_load(0x22, 2, rt), 0xA3B43344);
        assertEq(_load(0x22, 3, rt), 0xB4223344);
    }

    function test_lwr_mergesTheLowBytes() public {
        uint32 rt = 0x11223344;
        assertEq(_load(0x26, 0, rt), 0x11223381);
        assertEq(_load(0x26, 1, rt), 0x11228192);
        assertEq(_load(0x26, 2, rt), 0x118192A3);
        assertEq(_load(0x26, 3, rt), 0x8192A3B4);
    }

    function test_lwl_lwr_pairLoadsAnUnalignedWord() public {
        // lwl rt, 1(base); lwr rt, 4(base) loads bytes 1..4.
        uint32 hi = _load(0x22, 1, 0);
        assertEq(hi & 0xFFFFFF00, 0x92A3B400);
    }

    function test_sb() public {
        _store(0x28, 0, 0xFFFFFF01, 0x0192A3B4);
        _store(0x28, 1, 0x02, 0x8102A3B4);
        _store(0x28, 3, 0x03, 0x8192A303);
    }

    function test_sh() public {
        _store(0x29, 0, 0xFFFF0102, 0x0102A3B4);
        _store(0x29, 2, 0x0304, 0x81920304);
    }

    function test_sw() public {
        _store(0x2B, 0, 0x01020304, 0x01020304);
    }

    function test_swl_writesTheHighBytesOfRt() public {
        uint32 rt = 0x11223344;
        _store(0x2A, 0, rt, 0x11223344);
        _store(0x2A, 1, rt, 0x81112233);
        _store(0x2A, 2, rt, 0x81921122);
        _store(0x2A, 3, rt, 0x8192A311);
    }

    function test_swr_writesTheLowBytesOfRt() public {
        uint32 rt = 0x11223344;
        _store(0x2E, 0, rt, 0x4492A3B4);
        _store(0x2E, 1, rt, 0x3344A3B4);
        _store(0x2E, 2, rt, 0x223344B4);
        _store(0x2E, 3, rt, 0x11223344);
    }

    function test_sc_storesAndSetsRtTo1() public {
        VMState memory post = _store(0x38, 0, 0xCAFEBABE, 0xCAFEBABE);
        assertEq(post.regs[2], 1);
    }

    function test_load_negativeOffset() public {
        VMState memory s = _blank();
        s.regs[1] = DATA + 8;
        VMState memory post = _runMem(s, _i(0x23, 1, 2, 0xFFF8), DATA, WORD); // lw r2, -8(r1)
        assertEq(post.regs[2], WORD);
    }

    function test_loadIntoR0_isDiscardedButStillProven() public {
        VMState memory s = _blank();
        s.regs[1] = DATA;
        VMState memory post = _runMem(s, _i(0x23, 1, 0, 0), DATA, WORD);
        assertEq(post.regs[0], 0);
        _expectAdvanced(s, post);
    }

    function test_store_intoTheInstructionsOwnLeaf() public {
        // Self-modifying code: both proofs are against the pre-state root, and the store's new root
        // keeps the instruction word next to it in the same leaf.
        VMState memory s = _blank();
        s.regs[1] = PC;
        s.regs[2] = 0xDEADBEEF;
        uint32 insn = _i(0x2B, 1, 2, 8); // sw r2, 8(r1)
        VMState memory post = _runMem(s, insn, PC + 8, 0);
        assertEq(post.memRoot, _rootOf(PC, insn, PC + 8, 0xDEADBEEF));
    }

    function test_store_overwritesTheInstructionItself() public {
        VMState memory s = _blank();
        s.regs[1] = PC;
        s.regs[2] = 0x12345678;
        uint32 insn = _i(0x2B, 1, 2, 0); // sw r2, 0(r1)
        VMState memory post = _runMem(s, insn, PC, 0);
        assertEq(post.memRoot, _rootOf(PC, 0x12345678, PC, 0x12345678));
    }

    function test_misalignedAccesses_fault0xF4() public {
        uint32[6] memory ops = [uint32(0x21), 0x25, 0x29, 0x23, 0x2B, 0x30];
        uint32[6] memory offs = [uint32(1), 3, 1, 2, 1, 3];
        for (uint256 i = 0; i < ops.length; i++) {
            VMState memory s = _blank();
            s.regs[1] = DATA;
            // No data proof: the access faults before reading memory.
            _expectFault(s, _runWith(s, _i(ops[i], 1, 2, offs[i]), new Word[](0), false, 0), 0xF4);
        }
        VMState memory s2 = _blank();
        s2.regs[1] = DATA;
        _expectFault(s2, _runWith(s2, _i(0x38, 1, 2, 2), new Word[](0), false, 0), 0xF4); // sc
    }

    function test_halfwordAtOffset2_isAligned() public {
        assertEq(_load(0x25, 2, 0), 0xA3B4);
    }

    function testFuzz_swThenLw_roundTrips(uint32 addr, uint32 value) public {
        addr &= ~uint32(3);
        vm.assume(addr >> 5 != PC >> 5 && addr >> 5 != (PC + 4) >> 5);
        VMState memory s = _blank();
        s.regs[2] = value;
        s.regs[1] = addr;
        uint32 sw = _i(0x2B, 1, 2, 0); // sw r2, 0(r1)
        uint32 lw = _i(0x23, 1, 3, 0); // lw r3, 0(r1), the next instruction
        Word[] memory words = new Word[](2);
        words[0] = Word(PC, sw);
        words[1] = Word(PC + 4, lw);
        s.memRoot = MIPSTestMemory.root(words);
        VMState memory afterSw =
            _stepRaw(s, abi.encodePacked(MIPSTestMemory.proof(words, PC), MIPSTestMemory.proof(words, addr)));
        _expectAdvanced(s, afterSw);
        words = MIPSTestMemory.set(words, addr, value);
        assertEq(afterSw.memRoot, MIPSTestMemory.root(words), "the store's root holds the value");
        // The lw runs against the root the sw produced, with proofs from that memory.
        VMState memory afterLw = _stepRaw(
            afterSw, abi.encodePacked(MIPSTestMemory.proof(words, PC + 4), MIPSTestMemory.proof(words, addr))
        );
        _expectAdvanced(afterSw, afterLw);
        assertEq(afterLw.regs[3], value, "lw reads back what sw stored");
        assertEq(afterLw.memRoot, afterSw.memRoot, "a load leaves memory unchanged");
    }
}

/// @notice The same specification through `stepCompact` (SPEC §2.8): identical results and roots.
contract MIPS_Memory_Compact_Test is MIPS_Memory_Test {
    function setUp() public override {
        super.setUp();
        compact = true;
    }
}
