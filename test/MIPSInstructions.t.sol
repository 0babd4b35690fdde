// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MIPSTestBase, VMState} from "./harness/MIPSTestBase.sol";

/// @notice Specification of the register instructions, docs/SPEC.md §2.4: every ALU, shift,
///         hi/lo, SPECIAL2, branch, jump and trap opcode, run through MIPS.step.
contract MIPS_Instructions_Test is MIPSTestBase {
    /// @notice Run SPECIAL `funct` with r1 = a, r2 = b (and sa), returning r3.
    function _rType(uint32 funct, uint32 a, uint32 b, uint32 sa) internal returns (uint32) {
        VMState memory s = _blank();
        s.regs[1] = a;
        s.regs[2] = b;
        VMState memory post = _run(s, _r(funct, 1, 2, 3, sa));
        _expectAdvanced(s, post);
        return post.regs[3];
    }

    /// @notice Run I-type `op` with r1 = a and `imm`, returning r2.
    function _iType(uint32 op, uint32 a, uint32 imm) internal returns (uint32) {
        VMState memory s = _blank();
        s.regs[1] = a;
        VMState memory post = _run(s, _i(op, 1, 2, imm));
        _expectAdvanced(s, post);
        return post.regs[2];
    }

    /// @notice Run SPECIAL2 `funct` with r1 = a, r2 = b and hi:lo, returning (rd, hi, lo).
    function _sp2Type(uint32 funct, uint32 a, uint32 b, uint32 hi, uint32 lo)
        internal
        returns (uint32, uint32, uint32)
    {
        VMState memory s = _blank();
        s.regs[1] = a;
        s.regs[2] = b;
        s.hi = hi;
        s.lo = lo;
        VMState memory post = _run(s, _sp2(funct, 1, 2, 3));
        _expectAdvanced(s, post);
        return (post.regs[3], post.hi, post.lo);
    }

    // -- ALU --------------------------------------------------------------------------------------

    function test_addu_subu_wrapModulo2To32() public {
        assertEq(_rType(0x21, 0xFFFFFFFF, 2, 0), 1);
        assertEq(_rType(0x23, 1, 2, 0), 0xFFFFFFFF);
    }

    function test_add_sub_withoutOverflow() public {
        assertEq(_rType(0x20, 0xFFFFFFFF, 0xFFFFFFFF, 0), 0xFFFFFFFE); // -1 + -1
        assertEq(_rType(0x22, 5, 7, 0), 0xFFFFFFFE);
    }

    function test_add_sub_addi_signedOverflow_faults0xF1() public {
        VMState memory s = _blank();
        s.regs[1] = 0x7FFFFFFF;
        s.regs[2] = 1;
        _expectFault(s, _run(s, _r(0x20, 1, 2, 3, 0)), 0xF1); // add
        s = _blank();
        s.regs[1] = 0x80000000;
        s.regs[2] = 1;
        _expectFault(s, _run(s, _r(0x22, 1, 2, 3, 0)), 0xF1); // sub
        s = _blank();
        s.regs[1] = 0x80000000;
        _expectFault(s, _run(s, _i(0x08, 1, 2, 0xFFFF)), 0xF1); // addi -1
    }

    function test_logic() public {
        assertEq(_rType(0x24, 0xF0F0F0F0, 0xFF00FF00, 0), 0xF000F000); // and
        assertEq(_rType(0x25, 0xF0F0F0F0, 0xFF00FF00, 0), 0xFFF0FFF0); // or
        assertEq(_rType(0x26, 0xF0F0F0F0, 0xFF00FF00, 0), 0x0FF00FF0); // xor
        assertEq(_rType(0x27, 0xF0F0F0F0, 0xFF00FF00, 0), 0x000F000F); // nor
    }

    function test_slt_isSigned_sltu_isUnsigned() public {
        assertEq(_rType(0x2A, 0xFFFFFFFF, 1, 0), 1);
        assertEq(_rType(0x2B, 0xFFFFFFFF, 1, 0), 0);
        assertEq(_rType(0x2A, 1, 1, 0), 0);
    }

    function test_shifts() public {
        assertEq(_rType(0x00, 0, 0x80000001, 4), 0x00000010); // sll
        assertEq(_rType(0x02, 0, 0x80000001, 4), 0x08000000); // srl
        assertEq(_rType(0x03, 0, 0x80000001, 4), 0xF8000000); // sra
        assertEq(_rType(0x03, 0, 0x40000000, 30), 1);
        // variable shifts take the low 5 bits of rs
        assertEq(_rType(0x04, 0x24, 0x80000001, 0), 0x00000010); // sllv by 36 & 31 = 4
        assertEq(_rType(0x06, 0xFFFFFFE4, 0x80000001, 0), 0x08000000); // srlv by 4
        assertEq(_rType(0x07, 31, 0x80000000, 0), 0xFFFFFFFF); // srav by 31
    }

    function test_immediates() public {
        assertEq(_iType(0x09, 5, 0xFFFF), 4); // addiu sign-extends
        assertEq(_iType(0x08, 5, 0xFFFB), 0); // addi
        assertEq(_iType(0x0A, 0xFFFFFFFE, 0xFFFF), 1); // slti: -2 < -1
        assertEq(_iType(0x0B, 0xFFFFFFFE, 0xFFFF), 1); // sltiu: 0xFFFFFFFE < 0xFFFFFFFF (sign-extended)
        assertEq(_iType(0x0B, 5, 0x0003), 0);
        assertEq(_iType(0x0C, 0xFFFFFFFF, 0x8001), 0x00008001); // andi zero-extends
        assertEq(_iType(0x0D, 0x12340000, 0x8001), 0x12348001); // ori
        assertEq(_iType(0x0E, 0xFFFFFFFF, 0x8001), 0xFFFF7FFE); // xori
        assertEq(_iType(0x0F, 0xFFFFFFFF, 0x8001), 0x80010000); // lui ignores rs
    }

    function test_movz_movn() public {
        VMState memory s = _blank();
        s.regs[1] = 77;
        s.regs[3] = 5;
        assertEq(_run(s, _r(0x0A, 1, 2, 3, 0)).regs[3], 77); // movz: r2 == 0 → move
        assertEq(_run(s, _r(0x0B, 1, 2, 3, 0)).regs[3], 5); // movn: r2 == 0 → keep
        s.regs[2] = 1;
        assertEq(_run(s, _r(0x0A, 1, 2, 3, 0)).regs[3], 5);
        assertEq(_run(s, _r(0x0B, 1, 2, 3, 0)).regs[3], 77);
    }

    function test_sync_isANop() public {
        VMState memory s = _blank();
        VMState memory post = _run(s, _r(0x0F, 0, 0, 0, 0));
        _expectAdvanced(s, post);
        s.pc = post.pc;
        s.nextPC = post.nextPC;
        s.step = post.step;
        assertEq(_pack(post), _pack(s));
    }

    // -- hi/lo ------------------------------------------------------------------------------------

    function _hilo(uint32 funct, uint32 a, uint32 b) internal returns (VMState memory post) {
        VMState memory s = _blank();
        s.regs[1] = a;
        s.regs[2] = b;
        post = _run(s, _r(funct, 1, 2, 0, 0));
        _expectAdvanced(s, post);
    }

    function test_mult_multu() public {
        VMState memory p = _hilo(0x18, 0xFFFFFFFF, 0xFFFFFFFF); // -1 × -1
        assertEq(p.hi, 0);
        assertEq(p.lo, 1);
        p = _hilo(0x19, 0xFFFFFFFF, 0xFFFFFFFF);
        assertEq(p.hi, 0xFFFFFFFE);
        assertEq(p.lo, 1);
        p = _hilo(0x18, 0x80000000, 2); // -2^31 × 2
        assertEq(p.hi, 0xFFFFFFFF);
        assertEq(p.lo, 0);
    }

    function test_div_truncatesTowardZero_remainderTakesTheDividendsSign() public {
        VMState memory p = _hilo(0x1A, uint32(int32(-7)), 2);
        assertEq(p.lo, uint32(int32(-3)));
        assertEq(p.hi, uint32(int32(-1)));
        p = _hilo(0x1A, 7, uint32(int32(-2)));
        assertEq(p.lo, uint32(int32(-3)));
        assertEq(p.hi, 1);
        p = _hilo(0x1B, 0xFFFFFFF9, 2); // divu
        assertEq(p.lo, 0x7FFFFFFC);
        assertEq(p.hi, 1);
    }

    function test_div_intMinByMinusOne() public {
        VMState memory p = _hilo(0x1A, 0x80000000, 0xFFFFFFFF);
        assertEq(p.lo, 0x80000000);
        assertEq(p.hi, 0);
    }

    function test_divByZero_faults0xF5() public {
        VMState memory s = _blank();
        s.regs[1] = 9;
        _expectFault(s, _run(s, _r(0x1A, 1, 2, 0, 0)), 0xF5);
        s = _blank();
        s.regs[1] = 9;
        _expectFault(s, _run(s, _r(0x1B, 1, 2, 0, 0)), 0xF5);
    }

    function test_mfhi_mthi_mflo_mtlo() public {
        VMState memory s = _blank();
        s.hi = 0x11;
        s.lo = 0x22;
        s.regs[1] = 0x33;
        assertEq(_run(s, _r(0x10, 0, 0, 3, 0)).regs[3], 0x11);
        assertEq(_run(s, _r(0x12, 0, 0, 3, 0)).regs[3], 0x22);
        VMState memory p = _run(s, _r(0x11, 1, 0, 0, 0));
        assertEq(p.hi, 0x33);
        assertEq(p.lo, 0x22);
        p = _run(s, _r(0x13, 1, 0, 0, 0));
        assertEq(p.hi, 0x11);
        assertEq(p.lo, 0x33);
    }

    // -- SPECIAL2 ---------------------------------------------------------------------------------

    function test_mul_writesRdAndLeavesHiLoUnchanged() public {
        (uint32 rd, uint32 hi, uint32 lo) = _sp2Type(0x02, 0x10000, 0x10003, 0xAA, 0xBB);
        assertEq(rd, 0x00030000);
        assertEq(hi, 0xAA);
        assertEq(lo, 0xBB);
    }

    function test_madd_maddu_msub_msubu_wrapIn64Bits() public {
        uint32 rd;
        uint32 hi;
        uint32 lo;
        (rd, hi, lo) = _sp2Type(0x00, 0xFFFFFFFF, 3, 0, 1); // 1 + (-1 × 3) = -2
        assertEq(hi, 0xFFFFFFFF);
        assertEq(lo, 0xFFFFFFFE);
        assertEq(rd, 0);
        (, hi, lo) = _sp2Type(0x01, 0xFFFFFFFF, 3, 0, 1); // 1 + 0xFFFFFFFF × 3
        assertEq(hi, 2);
        assertEq(lo, 0xFFFFFFFE);
        (, hi, lo) = _sp2Type(0x04, 0xFFFFFFFF, 3, 0, 1); // 1 − (−3) = 4
        assertEq(hi, 0);
        assertEq(lo, 4);
        (, hi, lo) = _sp2Type(0x05, 1, 2, 0, 1); // 1 − 2 wraps
        assertEq(hi, 0xFFFFFFFF);
        assertEq(lo, 0xFFFFFFFF);
        (, hi, lo) = _sp2Type(0x01, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF); // overflow past 2^64
        assertEq(hi, 0xFFFFFFFE);
        assertEq(lo, 0);
    }

    function test_clz_clo() public {
        uint32 rd;
        (rd,,) = _sp2Type(0x20, 0, 0, 0, 0);
        assertEq(rd, 32);
        (rd,,) = _sp2Type(0x20, 1, 0, 0, 0);
        assertEq(rd, 31);
        (rd,,) = _sp2Type(0x20, 0x80000000, 0, 0, 0);
        assertEq(rd, 0);
        (rd,,) = _sp2Type(0x20, 0x00010000, 0, 0, 0);
        assertEq(rd, 15);
        (rd,,) = _sp2Type(0x21, 0xFFFFFFFF, 0, 0, 0);
        assertEq(rd, 32);
        (rd,,) = _sp2Type(0x21, 0xFFF00000, 0, 0, 0);
        assertEq(rd, 12);
        (rd,,) = _sp2Type(0x21, 0x7FFFFFFF, 0, 0, 0);
        assertEq(rd, 0);
    }

    function testFuzz_clz_matchesABitLoop(uint32 x) public {
        uint32 n;
        while (n < 32 && (x >> (31 - n)) & 1 == 0) n++;
        (uint32 rd,,) = _sp2Type(0x20, x, 0, 0, 0);
        assertEq(rd, n);
    }

    // -- branches and jumps -----------------------------------------------------------------------

    /// @notice Run a branch at PC; return (pc, nextPC, r31) after it.
    function _branchTo(uint32 insn, uint32 a, uint32 b) internal returns (VMState memory post) {
        VMState memory s = _blank();
        s.regs[1] = a;
        s.regs[2] = b;
        post = _run(s, insn);
        assertEq(post.step, 1);
        assertEq(post.exited, 0);
    }

    function _expectTaken(VMState memory post, uint32 target) internal pure {
        assertEq(post.pc, PC + 4, "delay slot next");
        assertEq(post.nextPC, target, "then the target");
    }

    function _expectNotTaken(VMState memory post) internal pure {
        assertEq(post.pc, PC + 4);
        assertEq(post.nextPC, PC + 8);
    }

    function test_conditionalBranches() public {
        uint32 fwd = PC + 4 + 0x40;
        _expectTaken(_branchTo(_i(0x04, 1, 2, 0x10), 5, 5), fwd); // beq
        _expectNotTaken(_branchTo(_i(0x04, 1, 2, 0x10), 5, 6));
        _expectTaken(_branchTo(_i(0x05, 1, 2, 0x10), 5, 6), fwd); // bne
        _expectNotTaken(_branchTo(_i(0x05, 1, 2, 0x10), 5, 5));
        _expectTaken(_branchTo(_i(0x06, 1, 0, 0x10), 0, 0), fwd); // blez
        _expectTaken(_branchTo(_i(0x06, 1, 0, 0x10), 0x80000000, 0), fwd);
        _expectNotTaken(_branchTo(_i(0x06, 1, 0, 0x10), 1, 0));
        _expectTaken(_branchTo(_i(0x07, 1, 0, 0x10), 1, 0), fwd); // bgtz
        _expectNotTaken(_branchTo(_i(0x07, 1, 0, 0x10), 0, 0));
        _expectNotTaken(_branchTo(_i(0x07, 1, 0, 0x10), 0xFFFFFFFF, 0));
        _expectTaken(_branchTo(_regimm(0x00, 1, 0x10), 0xFFFFFFFF, 0), fwd); // bltz
        _expectNotTaken(_branchTo(_regimm(0x00, 1, 0x10), 0, 0));
        _expectTaken(_branchTo(_regimm(0x01, 1, 0x10), 0, 0), fwd); // bgez
        _expectNotTaken(_branchTo(_regimm(0x01, 1, 0x10), 0x80000000, 0));
    }

    function test_branchOffsetIsSignExtendedAndScaled() public {
        _expectTaken(_branchTo(_i(0x04, 0, 0, 0xFFFF), 0, 0), PC); // pc + 4 - 4
        _expectTaken(_branchTo(_i(0x04, 0, 0, 0x8000), 0, 0), PC + 4 - 0x20000);
    }

    function test_bltzal_bgezal_linkWhetherOrNotTaken() public {
        VMState memory p = _branchTo(_regimm(0x10, 1, 0x10), 0xFFFFFFFF, 0); // bltzal taken
        _expectTaken(p, PC + 0x44);
        assertEq(p.regs[31], PC + 8);
        p = _branchTo(_regimm(0x10, 1, 0x10), 1, 0); // not taken, still links
        _expectNotTaken(p);
        assertEq(p.regs[31], PC + 8);
        p = _branchTo(_regimm(0x11, 1, 0x10), 0, 0); // bgezal taken
        _expectTaken(p, PC + 0x44);
        assertEq(p.regs[31], PC + 8);
        p = _branchTo(_regimm(0x11, 1, 0x10), 0x80000000, 0);
        _expectNotTaken(p);
        assertEq(p.regs[31], PC + 8);
    }

    function test_j_jal_keepTheTopBitsOfPcPlus4() public {
        VMState memory p = _branchTo(_jump(0x02, 0x0123456), 0, 0);
        _expectTaken(p, 0x0048D158);
        assertEq(p.regs[31], 0);
        p = _branchTo(_jump(0x03, 0x3FFFFFF), 0, 0);
        _expectTaken(p, 0x0FFFFFFC);
        assertEq(p.regs[31], PC + 8);
        // At pc = 0x8FFFFFFC the delay slot is 0x90000000: the region comes from pc + 4.
        VMState memory s = _blank();
        s.pc = 0x8FFFFFFC;
        s.nextPC = 0x90000000;
        p = _run(s, _jump(0x02, 0x10));
        assertEq(p.pc, 0x90000000);
        assertEq(p.nextPC, 0x90000040);
    }

    function test_jr_jalr() public {
        VMState memory p = _branchTo(_r(0x08, 1, 0, 0, 0), 0x00ABCDE0, 0);
        _expectTaken(p, 0x00ABCDE0);
        p = _branchTo(_r(0x09, 1, 0, 7, 0), 0x00ABCDE0, 0); // jalr r7, r1
        _expectTaken(p, 0x00ABCDE0);
        assertEq(p.regs[7], PC + 8);
        p = _branchTo(_r(0x09, 1, 0, 1, 0), 0x00ABCDE0, 0); // jalr r1, r1: target read first
        _expectTaken(p, 0x00ABCDE0);
        assertEq(p.regs[1], PC + 8);
    }

    function test_jr_toAMisalignedTarget_faultsAtTheFetch() public {
        VMState memory p = _branchTo(_r(0x08, 1, 0, 0, 0), 0x00001002, 0);
        _expectTaken(p, 0x00001002);
        p = _run(p, 0); // the delay slot
        assertEq(p.pc, 0x00001002);
        VMState memory f = _stepRaw(p, new bytes(896));
        _expectFault(p, f, 0xF4);
    }

    // -- traps ------------------------------------------------------------------------------------

    function _trap(uint32 insn, uint32 a, uint32 b, bool fires) internal {
        VMState memory s = _blank();
        s.regs[1] = a;
        s.regs[2] = b;
        VMState memory post = _run(s, insn);
        if (fires) _expectFault(s, post, 0xF1);
        else _expectAdvanced(s, post);
    }

    function test_registerTraps() public {
        uint32 m1 = 0xFFFFFFFF;
        _trap(_r(0x30, 1, 2, 0, 0), 1, m1, true); // tge: 1 >= -1
        _trap(_r(0x30, 1, 2, 0, 0), m1, 1, false);
        _trap(_r(0x31, 1, 2, 0, 0), m1, 1, true); // tgeu
        _trap(_r(0x31, 1, 2, 0, 0), 1, m1, false);
        _trap(_r(0x32, 1, 2, 0, 0), m1, 1, true); // tlt
        _trap(_r(0x32, 1, 2, 0, 0), 1, 1, false);
        _trap(_r(0x33, 1, 2, 0, 0), 1, m1, true); // tltu
        _trap(_r(0x33, 1, 2, 0, 0), m1, 1, false);
        _trap(_r(0x34, 1, 2, 0, 0), 4, 4, true); // teq
        _trap(_r(0x34, 1, 2, 0, 0), 4, 5, false);
        _trap(_r(0x36, 1, 2, 0, 0), 4, 5, true); // tne
        _trap(_r(0x36, 1, 2, 0, 0), 4, 4, false);
    }

    function test_immediateTraps_signExtendTheImmediate() public {
        _trap(_regimm(0x08, 1, 0xFFFF), 0, 0, true); // tgei 0 >= -1
        _trap(_regimm(0x08, 1, 0x0001), 0, 0, false);
        _trap(_regimm(0x09, 1, 0xFFFF), 0xFFFFFFFF, 0, true); // tgeiu vs 0xFFFFFFFF
        _trap(_regimm(0x09, 1, 0xFFFF), 0xFFFFFFFE, 0, false);
        _trap(_regimm(0x0A, 1, 0x0000), 0xFFFFFFFF, 0, true); // tlti
        _trap(_regimm(0x0A, 1, 0xFFFF), 0xFFFFFFFF, 0, false);
        _trap(_regimm(0x0B, 1, 0xFFFF), 0xFFFFFFFE, 0, true); // tltiu
        _trap(_regimm(0x0B, 1, 0x0000), 0, 0, false);
        _trap(_regimm(0x0C, 1, 0xFFFF), 0xFFFFFFFF, 0, true); // teqi
        _trap(_regimm(0x0C, 1, 0x0001), 0, 0, false);
        _trap(_regimm(0x0E, 1, 0x0001), 0, 0, true); // tnei
        _trap(_regimm(0x0E, 1, 0x0000), 0, 0, false);
    }
}

/// @notice The same specification through `stepCompact` (SPEC §2.8): identical results.
contract MIPS_Instructions_Compact_Test is MIPS_Instructions_Test {
    function setUp() public override {
        super.setUp();
        compact = true;
    }
}
