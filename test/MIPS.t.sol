// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MIPS} from "../src/MIPS.sol";
import {MerkleMemory} from "../src/lib/MerkleMemory.sol";
import {MIPSState} from "../src/lib/MIPSState.sol";
import {MIPSTestBase, MIPSTestMemory, VMState, Word} from "./harness/MIPSTestBase.sol";

/// @notice Specification of MIPS.sol, docs/SPEC.md §2: the state and its hash, the step, faults,
///         the exited fixed point and malformed input. Instruction semantics are in
///         MIPSInstructions.t.sol, loads/stores in MIPSMemory.t.sol, syscalls in MIPSSyscalls.t.sol.
contract MIPS_Step_Test is MIPSTestBase {
    uint32 internal constant NOP = 0; // sll r0, r0, 0

    // -- §2.1 state and hash ----------------------------------------------------------------------

    function test_version_isSemver() public view {
        assertEq(mips.version(), "0.1.0");
    }

    function test_stateHash_topByteIsTheStatus() public {
        VMState memory s = _blank();
        // running → 3
        VMState memory post = _run(s, NOP);
        assertEq(uint8(uint256(_hash(post)) >> 248), 3);
        // exited with 0, 1, other → 0, 1, 2 (via exit_group)
        uint8[4] memory codes = [0, 1, 2, 0xff];
        uint8[4] memory status = [0, 1, 2, 2];
        for (uint256 i = 0; i < 4; i++) {
            s = _blank();
            s.regs[2] = 4246;
            s.regs[4] = codes[i];
            post = _run(s, 0x0000000C);
            assertEq(post.exited, 1);
            assertEq(post.exitCode, codes[i]);
            assertEq(uint8(uint256(_hash(post)) >> 248), status[i]);
        }
    }

    function test_step_preservesPreimageFieldsAndCountsSteps() public {
        VMState memory s = _blank();
        s.preimageKey = keccak256("key");
        s.preimageOffset = 0xdeadbeef;
        s.step = 41;
        VMState memory post = _run(s, NOP);
        assertEq(post.preimageKey, s.preimageKey);
        assertEq(post.preimageOffset, s.preimageOffset);
        assertEq(post.step, 42);
        _expectAdvanced(s, post);
    }

    function test_step_counterWrapsModulo2To64() public {
        VMState memory s = _blank();
        s.step = type(uint64).max;
        assertEq(_run(s, NOP).step, 0);
    }

    function test_step_pcWrapsModulo2To32() public {
        VMState memory s = _blank();
        s.pc = 0xFFFFFFFC;
        s.nextPC = 0;
        VMState memory post = _run(s, NOP);
        assertEq(post.pc, 0);
        assertEq(post.nextPC, 4);
    }

    function test_register0_isNeverWritten() public {
        VMState memory s = _blank();
        s.regs[1] = 5;
        VMState memory post = _run(s, _i(0x09, 1, 0, 7)); // addiu r0, r1, 7
        assertEq(post.regs[0], 0);
        _expectAdvanced(s, post);
    }

    function test_register0_readsZeroEvenIfItsPackedSlotIsNot() public {
        VMState memory s = _blank();
        s.regs[0] = 0xFFFFFFFF; // never produced by an honest run; the slot is not checked
        VMState memory post = _run(s, _r(0x21, 0, 0, 3, 0)); // addu r3, r0, r0
        assertEq(post.regs[3], 0);
        assertEq(post.regs[0], 0xFFFFFFFF, "the slot is carried unchanged");
    }

    /// @notice Robustness: any instruction word in any register state executes or faults; with a
    ///         correct witness `step` never reverts (no arithmetic panic, no out-of-bounds access).
    function testFuzz_anyInstruction_withACorrectWitness_neverReverts(
        uint32 insn,
        uint256 seed,
        uint32 pcIndex,
        bool inDelaySlot
    ) public {
        VMState memory s = _blank();
        for (uint256 i = 1; i < 32; i++) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            // Mix edge values and small numbers into the registers.
            s.regs[i] = r % 4 == 0
                ? uint32(r >> 8)
                : (r % 4 == 1 ? uint32((r >> 8) % 8) : (r % 4 == 2 ? 0x80000000 : 0xFFFFFFFF));
        }
        s.hi = uint32(seed >> 32);
        s.lo = uint32(seed >> 64);
        s.pc = (pcIndex % (1 << 30)) << 2;
        unchecked {
            s.nextPC = inDelaySlot ? 0x00400000 : s.pc + 4;
        }
        uint32 op = insn >> 26;
        bool memOp = (op >= 0x20 && op <= 0x26) || (op >= 0x28 && op <= 0x2B) || op == 0x2E || op == 0x30 || op == 0x38;
        uint32 addr;
        unchecked {
            addr = s.regs[(insn >> 21) & 31] + uint32(int32(int16(uint16(insn))));
        }
        if (memOp) {
            bool half = op == 0x21 || op == 0x25 || op == 0x29;
            bool word = op == 0x23 || op == 0x2B || op == 0x30 || op == 0x38;
            if ((half && addr & 1 != 0) || (word && addr & 3 != 0)) memOp = false; // faults, no data proof
        }
        Word[] memory data = new Word[](1);
        data[0] = Word(addr & ~uint32(3), uint32(seed));
        VMState memory post = _runWith(s, insn, data, memOp, addr);
        assertEq(post.step, s.step + 1);
    }

    // -- §2.3 exited fixed point ------------------------------------------------------------------

    function test_exitedState_isAFixedPoint() public {
        VMState memory s = _blank();
        s.exited = 1;
        s.exitCode = 7;
        s.step = 99;
        s.regs[5] = 123;
        bytes32 pre = _hash(s);
        // No proof is read: empty, garbage and full proofs are all accepted.
        bytes[3] memory proofs = [bytes(""), bytes(hex"00010203"), new bytes(1792)];
        for (uint256 i = 0; i < 3; i++) {
            VMState memory post = _stepRaw(s, proofs[i]);
            assertEq(_hash(post), pre);
            assertEq(_pack(post), _pack(s));
        }
    }

    function test_exitedState_stepTwiceStaysPut() public {
        VMState memory s = _blank();
        s.regs[2] = 4246;
        s.regs[4] = 3;
        VMState memory exited = _run(s, 0x0000000C);
        assertEq(exited.exited, 1);
        VMState memory again = _stepRaw(exited, "");
        assertEq(_pack(again), _pack(exited));
    }

    // -- §2.3 delay slots -------------------------------------------------------------------------

    function test_takenBranch_movesToTheDelaySlotThenTheTarget() public {
        VMState memory s = _blank();
        // beq r0, r0, +16 → pc = delay slot, nextPC = PC + 4 + 64
        VMState memory post = _run(s, _i(0x04, 0, 0, 16));
        assertEq(post.pc, PC + 4);
        assertEq(post.nextPC, PC + 4 + 64);
        // The delay slot executes as an ordinary step and then control reaches the target.
        post.regs[1] = 1;
        VMState memory post2 = _run(post, _i(0x09, 1, 2, 1)); // addiu r2, r1, 1
        assertEq(post2.regs[2], 2);
        assertEq(post2.pc, PC + 4 + 64);
        assertEq(post2.nextPC, PC + 4 + 68);
        assertEq(post2.step, 2);
    }

    function test_branchInADelaySlot_faults0xF3() public {
        uint32[8] memory branches = [
            _i(0x04, 0, 0, 4), // beq
            _i(0x05, 0, 1, 4), // bne
            _i(0x06, 0, 0, 4), // blez
            _i(0x07, 0, 0, 4), // bgtz
            _jump(0x02, 0x100), // j
            _jump(0x03, 0x100), // jal
            _r(0x08, 1, 0, 0, 0), // jr
            _r(0x09, 1, 0, 31, 0) // jalr
        ];
        for (uint256 i = 0; i < branches.length; i++) {
            VMState memory s = _blank();
            s.nextPC = 0x00500000; // in a delay slot: nextPC != pc + 4
            s.regs[1] = 0x1234;
            _expectFault(s, _run(s, branches[i]), 0xF3);
        }
        uint32[4] memory regimm = [uint32(0x00), 0x01, 0x10, 0x11];
        for (uint256 i = 0; i < regimm.length; i++) {
            VMState memory s = _blank();
            s.nextPC = PC;
            _expectFault(s, _run(s, _regimm(regimm[i], 0, 4)), 0xF3);
        }
    }

    function test_notTakenBranchInADelaySlot_stillFaults() public {
        VMState memory s = _blank();
        s.nextPC = PC + 100;
        s.regs[1] = 1;
        _expectFault(s, _run(s, _i(0x04, 0, 1, 4)), 0xF3); // beq r0, r1 (not taken)
    }

    function test_nonBranchInADelaySlot_followsNextPC() public {
        VMState memory s = _blank();
        s.nextPC = 0x00001000;
        VMState memory post = _run(s, NOP);
        assertEq(post.pc, 0x00001000);
        assertEq(post.nextPC, 0x00001004);
    }

    // -- §2.5 faults ------------------------------------------------------------------------------

    function test_undefinedInstructions_fault0xF0() public {
        uint32[16] memory bad = [
            _r(0x0D, 0, 0, 0, 0), // break
            _r(0x01, 0, 0, 0, 0), // movci (FPU)
            _r(0x05, 0, 0, 0, 0), // unused SPECIAL
            _r(0x14, 0, 0, 0, 0), // dsllv (MIPS64)
            _r(0x35, 1, 2, 0, 0), // unused trap slot
            _r(0x3F, 0, 0, 0, 0),
            _regimm(0x02, 0, 1), // bltzl (branch-likely)
            _regimm(0x13, 0, 1), // bgezall
            _regimm(0x0D, 0, 1), // unused trap slot
            _i(0x10, 0, 0, 0), // COP0
            _i(0x11, 0, 0, 0), // COP1
            _i(0x14, 0, 0, 1), // beql
            _i(0x1F, 0, 0, 0), // SPECIAL3 (seb, ext, ins: release 2)
            _sp2(0x03, 1, 2, 3), // unused SPECIAL2
            _sp2(0x3F, 0, 0, 0), // sdbbp
            _i(0x31, 0, 0, 0) // lwc1: not a load of ours, so no data proof
        ];
        for (uint256 i = 0; i < bad.length; i++) {
            VMState memory s = _blank();
            s.regs[1] = 3;
            s.regs[2] = 3;
            _expectFault(s, _run(s, bad[i]), 0xF0);
        }
    }

    function test_unusedFieldsAreNotChecked() public {
        // SPEC §2.4: srl with a non-zero rs field (release 2's rotr) executes as srl.
        VMState memory s = _blank();
        s.regs[2] = 0x80000001;
        VMState memory post = _run(s, (1 << 21) | _r(0x02, 0, 2, 3, 1));
        assertEq(post.regs[3], 0x40000000);
    }

    function test_misalignedPC_faults0xF4WithoutReadingTheProof() public {
        for (uint32 off = 1; off < 4; off++) {
            VMState memory s = _blank();
            s.pc = PC + off;
            s.nextPC = PC + off + 4;
            s.memRoot = keccak256("any root");
            // The proof is 896 bytes but is not verified.
            _expectFault(s, _stepRaw(s, new bytes(896)), 0xF4);
        }
    }

    function test_misalignedPC_stillRequiresAn896ByteProof() public {
        VMState memory s = _blank();
        s.pc = PC + 2;
        bytes memory proof = new bytes(1792);
        vm.expectRevert(abi.encodeWithSelector(MIPS.InvalidProofLength.selector, _partsLength(proof, 1), _partsLength(proof, 2)));
        _callStep(_pack(s), proof);
    }

    // -- §2.7 malformed input ---------------------------------------------------------------------

    function testFuzz_step_rejectsAStateOfTheWrongLength(uint256 len) public {
        len = bound(len, 0, 600);
        vm.assume(len != 226);
        vm.expectRevert(abi.encodeWithSelector(MIPSState.InvalidStateLength.selector, len));
        _callStep(new bytes(len), new bytes(896));
    }

    function testFuzz_step_rejectsAnExitedFlagAbove1(uint8 flag) public {
        flag = uint8(bound(flag, 2, 255));
        bytes memory p = _pack(_blank());
        p[89] = bytes1(flag);
        vm.expectRevert(abi.encodeWithSelector(MIPSState.InvalidExitedFlag.selector, flag));
        _callStep(p, new bytes(896));
    }

    function test_step_rejectsAProofShorterThanTheInstructionProof() public {
        bytes memory p = _pack(_blank());
        // Compact: 36 bytes hold a part's leaf and mask; a zero mask announces all 27 siblings.
        vm.expectRevert(abi.encodeWithSelector(MIPS.InvalidProofLength.selector, compact ? 36 : 896, 0));
        _callStep(p, "");
        vm.expectRevert(abi.encodeWithSelector(MIPS.InvalidProofLength.selector, compact ? 900 : 896, 895));
        _callStep(p, new bytes(895));
    }

    function test_step_rejectsADataProofOnANonMemoryInstruction() public {
        VMState memory s = _blank();
        Word[] memory w = new Word[](1);
        w[0] = Word(PC, NOP);
        s.memRoot = MIPSTestMemory.root(w);
        bytes memory proof = abi.encodePacked(MIPSTestMemory.proof(w, PC), MIPSTestMemory.proof(w, 0));
        vm.expectRevert(abi.encodeWithSelector(MIPS.InvalidProofLength.selector, _partsLength(proof, 1), _partsLength(proof, 2)));
        _callStep(_pack(s), proof);
    }

    function test_step_rejectsAMissingDataProofOnALoad() public {
        VMState memory s = _blank();
        Word[] memory w = new Word[](1);
        w[0] = Word(PC, _i(0x23, 0, 1, 0x100)); // lw r1, 0x100(r0)
        s.memRoot = MIPSTestMemory.root(w);
        bytes memory proof = MIPSTestMemory.proof(w, PC);
        uint256 insnPart = _partsLength(proof, 1);
        // The data part is missing: full format wants 1792 bytes, compact at least its 36-byte header.
        vm.expectRevert(abi.encodeWithSelector(MIPS.InvalidProofLength.selector, compact ? insnPart + 36 : 1792, insnPart));
        _callStep(_pack(s), proof);
    }

    function test_step_misalignedLoadTakesNoDataProof() public {
        VMState memory s = _blank();
        Word[] memory w = new Word[](1);
        w[0] = Word(PC, _i(0x23, 0, 1, 0x102)); // lw r1, 0x102(r0): misaligned
        s.memRoot = MIPSTestMemory.root(w);
        bytes memory proof = MIPSTestMemory.proof(w, PC);
        bytes memory twice = abi.encodePacked(proof, proof);
        vm.expectRevert(abi.encodeWithSelector(MIPS.InvalidProofLength.selector, _partsLength(twice, 1), _partsLength(twice, 2)));
        _callStep(_pack(s), twice);
        _expectFault(s, _stepRaw(s, proof), 0xF4);
    }

    function test_step_rejectsAWrongInstructionProof() public {
        VMState memory s = _blank();
        Word[] memory w = new Word[](1);
        w[0] = Word(PC, NOP);
        s.memRoot = MIPSTestMemory.root(w);
        bytes memory proof = MIPSTestMemory.proof(w, PC);
        proof[3] = 0x01; // claim a different instruction word
        vm.expectRevert(abi.encodeWithSelector(MerkleMemory.InvalidMemoryProof.selector, PC));
        _callStep(_pack(s), proof);
    }

    function test_step_rejectsAWrongDataProof() public {
        VMState memory s = _blank();
        Word[] memory w = new Word[](2);
        w[0] = Word(0x2000, 0x11223344);
        w[1] = Word(PC, _i(0x23, 0, 1, 0x2000)); // lw r1, 0x2000(r0)
        s.memRoot = MIPSTestMemory.root(w);
        bytes memory proof = abi.encodePacked(MIPSTestMemory.proof(w, PC), MIPSTestMemory.proof(w, 0x2000));
        proof[896] = 0x55; // tamper with the data leaf
        vm.expectRevert(abi.encodeWithSelector(MerkleMemory.InvalidMemoryProof.selector, uint32(0x2000)));
        _callStep(_pack(s), proof);
    }

    function test_step_rejectsADataProofForAnotherAddress() public {
        VMState memory s = _blank();
        Word[] memory w = new Word[](2);
        w[0] = Word(0x4000, 0xAABBCCDD); // the proof given is for this word's leaf
        w[1] = Word(PC, _i(0x2B, 0, 1, 0x2000)); // sw r1, 0x2000(r0)
        s.memRoot = MIPSTestMemory.root(w);
        bytes memory proof = abi.encodePacked(MIPSTestMemory.proof(w, PC), MIPSTestMemory.proof(w, 0x4000));
        vm.expectRevert(abi.encodeWithSelector(MerkleMemory.InvalidMemoryProof.selector, uint32(0x2000)));
        _callStep(_pack(s), proof);
    }

    function test_step_writesNoStorage() public {
        VMState memory s = _blank();
        vm.record();
        _run(s, NOP);
        (, bytes32[] memory writes) = vm.accesses(address(mips));
        assertEq(writes.length, 0);
    }
}

/// @notice The same specification through `stepCompact` (SPEC §2.8): the exited fixed point, the
///         misaligned pc, malformed state (InvalidStateLength, InvalidExitedFlag) and proof errors.
contract MIPS_Step_Compact_Test is MIPS_Step_Test {
    function setUp() public override {
        super.setUp();
        compact = true;
    }
}
