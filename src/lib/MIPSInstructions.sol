// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title MIPSInstructions
/// @notice Pure semantics of the MIPS32 r1 integer instructions (docs/SPEC.md §2.4): decoding,
///         ALU results, branch conditions, hi/lo arithmetic, traps and sub-word memory access.
/// @dev    Nothing here touches the state; MIPS.sol decides where results go. Every function
///         returns a fault code (0 = none, else one of the FAULT_* codes of SPEC §2.5) instead of
///         reverting, because a fault is a valid, provable outcome. All u32 arithmetic wraps.
library MIPSInstructions {
    // Narrowing and sign-changing casts here are deliberate: the VM's registers are u32 with
    // wrapping two's-complement semantics (SPEC §2.4), so truncation is the specified behaviour.
    // forge-lint: disable-start(unsafe-typecast)
    /// @notice No fault.
    uint8 internal constant FAULT_NONE = 0;
    /// @notice Undefined or unsupported instruction.
    uint8 internal constant FAULT_INVALID_INSTRUCTION = 0xF0;
    /// @notice A trap whose condition holds, or signed overflow in add/addi/sub.
    uint8 internal constant FAULT_TRAP = 0xF1;
    /// @notice An unknown syscall number.
    uint8 internal constant FAULT_UNKNOWN_SYSCALL = 0xF2;
    /// @notice A branch or jump inside a delay slot.
    uint8 internal constant FAULT_BRANCH_IN_DELAY_SLOT = 0xF3;
    /// @notice A misaligned pc or data access.
    uint8 internal constant FAULT_MISALIGNED = 0xF4;
    /// @notice div/divu by zero.
    uint8 internal constant FAULT_DIVIDE_BY_ZERO = 0xF5;

    /// @notice Primary opcodes (bits 31..26) used by the decoder.
    uint32 internal constant OP_SPECIAL = 0x00;
    /// @notice REGIMM primary opcode.
    uint32 internal constant OP_REGIMM = 0x01;
    /// @notice SPECIAL2 primary opcode.
    uint32 internal constant OP_SPECIAL2 = 0x1C;

    /// @notice Sign-extend the low 16 bits of `x` to 32 bits.
    /// @param x A value whose low 16 bits are the immediate.
    /// @return The sign-extended u32.
    function signExtend16(uint32 x) internal pure returns (uint32) {
        return uint32(int32(int16(uint16(x))));
    }

    /// @notice Whether primary opcode `op` reads or writes data memory (and so needs a data proof).
    /// @dev    lb lh lwl lw lbu lhu lwr (0x20–0x26), sb sh swl sw (0x28–0x2B), swr (0x2E), ll (0x30),
    ///         sc (0x38). Decided by the opcode alone, also when the access later faults.
    /// @param op The primary opcode.
    /// @return True for the load/store opcodes.
    function isMemoryOp(uint32 op) internal pure returns (bool) {
        // A 64-bit mask with bit `op` set for each load/store opcode.
        return op < 64 && (uint256(0x0101_4F7F_0000_0000) >> op) & 1 == 1;
    }

    /// @notice Whether `op` is a store (the data word is rewritten).
    /// @param op The primary opcode.
    /// @return True for sb sh swl sw swr sc.
    function isStore(uint32 op) internal pure returns (bool) {
        return (op >= 0x28 && op <= 0x2B) || op == 0x2E || op == 0x38;
    }

    /// @notice The rd value of a SPECIAL (op 0) register-register ALU instruction.
    /// @dev    Covers the shifts, add/addu/sub/subu, and/or/xor/nor and slt/sltu. Any other funct
    ///         gives FAULT_INVALID_INSTRUCTION (the caller handles the rest of SPECIAL first).
    /// @param funct The function field (bits 5..0).
    /// @param rs    Value of rs.
    /// @param rt    Value of rt.
    /// @param sa    The shift-amount field (bits 10..6).
    /// @return value The result for rd.
    /// @return fault A fault code, or FAULT_NONE.
    function specialAlu(uint32 funct, uint32 rs, uint32 rt, uint32 sa)
        internal
        pure
        returns (uint32 value, uint8 fault)
    {
        unchecked {
            if (funct < 8) {
                // sll srl sra use sa; sllv srlv srav use the low 5 bits of rs. 1 and 5 are undefined.
                if (funct == 1 || funct == 5) return (0, FAULT_INVALID_INSTRUCTION);
                uint32 shamt = funct >= 4 ? rs & 31 : sa;
                uint32 kind = funct & 3;
                if (kind == 0) return (rt << shamt, FAULT_NONE);
                if (kind == 2) return (rt >> shamt, FAULT_NONE);
                return (uint32(int32(rt) >> shamt), FAULT_NONE);
            }
            if (funct == 0x20) {
                // add: trap on signed overflow (both operands' signs differ from the result's).
                value = rs + rt;
                if (((rs ^ value) & (rt ^ value)) >> 31 != 0) return (0, FAULT_TRAP);
                return (value, FAULT_NONE);
            }
            if (funct == 0x21) return (rs + rt, FAULT_NONE);
            if (funct == 0x22) {
                // sub: signed overflow iff the operands' signs differ and the result's differs from rs.
                value = rs - rt;
                if (((rs ^ rt) & (rs ^ value)) >> 31 != 0) return (0, FAULT_TRAP);
                return (value, FAULT_NONE);
            }
            if (funct == 0x23) return (rs - rt, FAULT_NONE);
            if (funct == 0x24) return (rs & rt, FAULT_NONE);
            if (funct == 0x25) return (rs | rt, FAULT_NONE);
            if (funct == 0x26) return (rs ^ rt, FAULT_NONE);
            if (funct == 0x27) return (~(rs | rt), FAULT_NONE);
            if (funct == 0x2A) return (int32(rs) < int32(rt) ? 1 : 0, FAULT_NONE);
            if (funct == 0x2B) return (rs < rt ? 1 : 0, FAULT_NONE);
            return (0, FAULT_INVALID_INSTRUCTION);
        }
    }

    /// @notice The rt value of an immediate ALU instruction (op 8..15).
    /// @param op  The primary opcode: addi addiu slti sltiu andi ori xori lui.
    /// @param rs  Value of rs.
    /// @param imm The instruction word (only its low 16 bits are used).
    /// @return value The result for rt.
    /// @return fault FAULT_TRAP on addi overflow, else FAULT_NONE.
    function immediateAlu(uint32 op, uint32 rs, uint32 imm) internal pure returns (uint32 value, uint8 fault) {
        unchecked {
            uint32 se = signExtend16(imm);
            uint32 ze = imm & 0xFFFF;
            if (op == 0x08) {
                value = rs + se;
                if (((rs ^ value) & (se ^ value)) >> 31 != 0) return (0, FAULT_TRAP);
                return (value, FAULT_NONE);
            }
            if (op == 0x09) return (rs + se, FAULT_NONE);
            if (op == 0x0A) return (int32(rs) < int32(se) ? 1 : 0, FAULT_NONE);
            if (op == 0x0B) return (rs < se ? 1 : 0, FAULT_NONE);
            if (op == 0x0C) return (rs & ze, FAULT_NONE);
            if (op == 0x0D) return (rs | ze, FAULT_NONE);
            if (op == 0x0E) return (rs ^ ze, FAULT_NONE);
            return (ze << 16, FAULT_NONE); // lui
        }
    }

    /// @notice hi/lo after mult multu div divu (SPECIAL funct 0x18–0x1B).
    /// @dev    div truncates toward zero and the remainder takes the dividend's sign;
    ///         0x80000000 / -1 gives lo = 0x80000000, hi = 0. A zero divisor faults.
    /// @param funct The function field.
    /// @param rs    Value of rs.
    /// @param rt    Value of rt.
    /// @return hi    New HI.
    /// @return lo    New LO.
    /// @return fault FAULT_DIVIDE_BY_ZERO, or FAULT_NONE.
    function multDiv(uint32 funct, uint32 rs, uint32 rt) internal pure returns (uint32 hi, uint32 lo, uint8 fault) {
        unchecked {
            if (funct == 0x18) {
                uint64 p = uint64(int64(int32(rs)) * int64(int32(rt)));
                return (uint32(p >> 32), uint32(p), FAULT_NONE);
            }
            if (funct == 0x19) {
                uint64 p = uint64(rs) * uint64(rt);
                return (uint32(p >> 32), uint32(p), FAULT_NONE);
            }
            if (rt == 0) return (0, 0, FAULT_DIVIDE_BY_ZERO);
            if (funct == 0x1A) {
                if (rs == 0x80000000 && rt == 0xFFFFFFFF) return (0, 0x80000000, FAULT_NONE);
                int32 a = int32(rs);
                int32 b = int32(rt);
                return (uint32(a % b), uint32(a / b), FAULT_NONE);
            }
            return (rs % rt, rs / rt, FAULT_NONE);
        }
    }

    /// @notice hi:lo after madd maddu msub msubu (SPECIAL2 funct 0, 1, 4, 5): hi:lo ± rs × rt, wrapping.
    /// @param funct The function field.
    /// @param rs    Value of rs.
    /// @param rt    Value of rt.
    /// @param hi    Current HI.
    /// @param lo    Current LO.
    /// @return newHi New HI.
    /// @return newLo New LO.
    function multiplyAccumulate(uint32 funct, uint32 rs, uint32 rt, uint32 hi, uint32 lo)
        internal
        pure
        returns (uint32 newHi, uint32 newLo)
    {
        unchecked {
            bool signed = funct & 1 == 0; // madd (0) and msub (4) are signed
            uint64 p = signed ? uint64(int64(int32(rs)) * int64(int32(rt))) : uint64(rs) * uint64(rt);
            uint64 acc = (uint64(hi) << 32) | lo;
            acc = funct >= 4 ? acc - p : acc + p;
            return (uint32(acc >> 32), uint32(acc));
        }
    }

    /// @notice Count leading zeros of a u32 (32 for zero).
    /// @param x The value.
    /// @return n The count.
    function clz(uint32 x) internal pure returns (uint32 n) {
        if (x == 0) return 32;
        // Binary search: shift the top set bit up while counting how far it moved.
        if (x & 0xFFFF0000 == 0) {
            n += 16;
            x <<= 16;
        }
        if (x & 0xFF000000 == 0) {
            n += 8;
            x <<= 8;
        }
        if (x & 0xF0000000 == 0) {
            n += 4;
            x <<= 4;
        }
        if (x & 0xC0000000 == 0) {
            n += 2;
            x <<= 2;
        }
        if (x & 0x80000000 == 0) n += 1;
    }

    /// @notice Whether a trap condition holds (tge tgeu tlt tltu teq tne and their immediate forms).
    /// @param kind 0 tge, 1 tgeu, 2 tlt, 3 tltu, 4 teq, 6 tne (the SPECIAL funct minus 0x30, and the
    ///             REGIMM rt field minus 8).
    /// @param a    The rs value.
    /// @param b    The rt value, or the sign-extended immediate.
    /// @return holds True when the trap fires.
    /// @return valid False for an undefined kind (5, 7).
    function trapHolds(uint32 kind, uint32 a, uint32 b) internal pure returns (bool holds, bool valid) {
        if (kind == 0) return (int32(a) >= int32(b), true);
        if (kind == 1) return (a >= b, true);
        if (kind == 2) return (int32(a) < int32(b), true);
        if (kind == 3) return (a < b, true);
        if (kind == 4) return (a == b, true);
        if (kind == 6) return (a != b, true);
        return (false, false);
    }

    /// @notice Whether a load/store at `addr` is misaligned for its width.
    /// @param op   The primary opcode.
    /// @param addr The effective address.
    /// @return True for lh/lhu/sh at an odd address, or lw/sw/ll/sc not 4-aligned.
    function misaligned(uint32 op, uint32 addr) internal pure returns (bool) {
        if (op == 0x21 || op == 0x25 || op == 0x29) return addr & 1 != 0;
        if (op == 0x23 || op == 0x2B || op == 0x30 || op == 0x38) return addr & 3 != 0;
        return false; // bytes, and the unaligned-access lwl/lwr/swl/swr
    }

    /// @notice The rt value after a load: lb lh lwl lw lbu lhu lwr ll.
    /// @param op   The primary opcode.
    /// @param word The aligned memory word containing `addr`.
    /// @param addr The effective address.
    /// @param rt   The current rt value (lwl/lwr merge into it).
    /// @return The new rt value.
    function loadValue(uint32 op, uint32 word, uint32 addr, uint32 rt) internal pure returns (uint32) {
        unchecked {
            uint32 b = addr & 3; // byte index within the big-endian word, 0 = most significant
            if (op == 0x20 || op == 0x24) {
                uint32 v = (word >> (24 - 8 * b)) & 0xFF;
                return op == 0x20 ? uint32(int32(int8(uint8(v)))) : v;
            }
            if (op == 0x21 || op == 0x25) {
                uint32 v = (word >> (16 - 8 * (b & 2))) & 0xFFFF;
                return op == 0x21 ? uint32(int32(int16(uint16(v)))) : v;
            }
            if (op == 0x22) {
                // lwl: bytes b..3 of the word become the high bytes of rt.
                uint32 keep = uint32((uint256(1) << (8 * b)) - 1);
                return (word << (8 * b)) | (rt & keep);
            }
            if (op == 0x26) {
                // lwr: bytes 0..b of the word become the low bytes of rt.
                uint32 shift = 8 * (3 - b);
                uint32 fill = uint32(0xFFFFFFFF) >> shift;
                return (word >> shift) | (rt & ~fill);
            }
            return word; // lw, ll
        }
    }

    /// @notice The memory word after a store: sb sh swl sw swr sc.
    /// @param op   The primary opcode.
    /// @param word The aligned memory word containing `addr`, before the store.
    /// @param addr The effective address.
    /// @param rt   The rt value being stored.
    /// @return The new aligned memory word.
    function storeValue(uint32 op, uint32 word, uint32 addr, uint32 rt) internal pure returns (uint32) {
        unchecked {
            uint32 b = addr & 3;
            if (op == 0x28) {
                uint32 shift = 24 - 8 * b;
                return (word & ~(uint32(0xFF) << shift)) | ((rt & 0xFF) << shift);
            }
            if (op == 0x29) {
                uint32 shift = 16 - 8 * (b & 2);
                return (word & ~(uint32(0xFFFF) << shift)) | ((rt & 0xFFFF) << shift);
            }
            if (op == 0x2A) {
                // swl: the high bytes of rt go to bytes b..3 of the word.
                uint32 fill = uint32(0xFFFFFFFF) >> (8 * b);
                return (rt >> (8 * b)) | (word & ~fill);
            }
            if (op == 0x2E) {
                // swr: the low bytes of rt go to bytes 0..b of the word.
                uint32 shift = 8 * (3 - b);
                uint32 keep = uint32((uint256(1) << shift) - 1);
                return (rt << shift) | (word & keep);
            }
            return rt; // sw, sc
        }
    }
    // forge-lint: disable-end(unsafe-typecast)
}
