// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MerkleMemory} from "./lib/MerkleMemory.sol";
import {MIPSState} from "./lib/MIPSState.sol";
import {MIPSInstructions as I} from "./lib/MIPSInstructions.sol";
import {MIPSSyscalls} from "./lib/MIPSSyscalls.sol";
import {MIPSMemoryProof} from "./lib/MIPSMemoryProof.sol";

/// @title MIPS
/// @notice On-chain single-step verifier of the OPML MIPS VM (docs/SPEC.md §2): given a packed
///         pre-state and Merkle proofs of the memory it touches, executes exactly one instruction
///         and returns the post-state hash. Cannon-compatible state, proof and ABI formats
///         (`step`), plus `stepCompact`, the same step with zero siblings left out of the proofs.
/// @dev    Stateless: emits the post-state and writes no storage. A fault (SPEC §2.5) is a valid
///         outcome that stops the machine; only malformed input (wrong lengths, bad exited flag,
///         a proof that does not match the memory root) reverts.
contract MIPS {
    // Narrowing and sign-changing casts here are deliberate: the VM's registers are u32 with
    // wrapping two's-complement semantics (SPEC §2.4), so truncation is the specified behaviour.
    // forge-lint: disable-start(unsafe-typecast)
    /// @notice Semantic version of this contract.
    string public constant version = "0.1.0";

    /// @notice Bytes of one full memory proof (leaf + 27 siblings).
    uint256 internal constant PROOF_BYTES = MerkleMemory.PROOF_BYTES;

    /// @notice One step was executed.
    /// @param preStateHash  Hash of the input state.
    /// @param postStateHash Hash of the resulting state.
    /// @param postState     The resulting packed 226-byte state.
    event StepExecuted(bytes32 preStateHash, bytes32 postStateHash, bytes postState);

    /// @notice The proof is not the length the instruction requires.
    /// @param expected The length this step needs (896 or 1792 for `step`; for `stepCompact` the
    ///                 sum of the compact parts, or the bytes needed to read the next part header).
    /// @param actual   The length given.
    error InvalidProofLength(uint256 expected, uint256 actual);

    /// @notice Execute one step (SPEC §2.7).
    /// @param stateData    The packed 226-byte pre-state.
    /// @param proof        The 896-byte instruction-word proof, then the data-word proof for an
    ///                     aligned load/store.
    /// @param localContext Unused; accepted for Cannon ABI compatibility.
    /// @return postStateHash The post-state hash (the pre-state hash if the state has exited).
    function step(bytes calldata stateData, bytes calldata proof, bytes32 localContext)
        external
        returns (bytes32 postStateHash)
    {
        localContext; // unused by design
        return _step(stateData, proof, false);
    }

    /// @notice Execute one step with compact proofs (SPEC §2.8): exactly `step`'s semantics and
    ///         result, but each memory proof omits the siblings that are all-zero subtree roots.
    /// @param stateData    The packed 226-byte pre-state.
    /// @param proof        The compact instruction-word part, then the compact data-word part for
    ///                     an aligned load/store.
    /// @param localContext Unused; accepted for Cannon ABI compatibility.
    /// @return postStateHash The post-state hash (the pre-state hash if the state has exited).
    function stepCompact(bytes calldata stateData, bytes calldata proof, bytes32 localContext)
        external
        returns (bytes32 postStateHash)
    {
        localContext; // unused by design
        return _step(stateData, proof, true);
    }

    /// @notice The step shared by both proof formats.
    /// @param stateData The packed pre-state.
    /// @param proof     The step proof.
    /// @param compact   Whether `proof` is in the compact format.
    /// @return postStateHash The post-state hash.
    function _step(bytes calldata stateData, bytes calldata proof, bool compact)
        internal
        returns (bytes32 postStateHash)
    {
        bytes memory state = MIPSState.load(stateData);
        bytes32 preStateHash = MIPSState.hash(state);
        if (MIPSState.exited(state)) {
            // Fixed point: nothing advances, the proof is not read.
            emit StepExecuted(preStateHash, preStateHash, state);
            return preStateHash;
        }
        MIPSState.incrementStep(state);
        uint8 fault = _execute(state, proof, compact);
        if (fault != I.FAULT_NONE) MIPSState.exit(state, fault);
        postStateHash = MIPSState.hash(state);
        emit StepExecuted(preStateHash, postStateHash, state);
    }

    /// @notice Fetch, decode and execute the instruction at pc, updating `state` unless it faults.
    /// @param state The state buffer.
    /// @param proof   The step proof.
    /// @param compact Whether `proof` is in the compact format.
    /// @return fault A fault code, or FAULT_NONE.
    function _execute(bytes memory state, bytes calldata proof, bool compact) internal pure returns (uint8 fault) {
        uint256 insnEnd = _partEnd(proof, 0, compact);
        uint32 pc = MIPSState.get32(state, MIPSState.OFF_PC);
        if (pc & 3 != 0) {
            // A misaligned pc faults before the fetch: the instruction part is required, not verified.
            _requireProofLength(proof, insnEnd);
            return I.FAULT_MISALIGNED;
        }
        uint32 insn = _readWord(MIPSState.memRoot(state), pc, proof, 0, compact);
        uint32 op = insn >> 26;

        if (I.isMemoryOp(op)) return _loadStore(state, insn, op, proof, insnEnd, compact);
        _requireProofLength(proof, insnEnd);

        if (op == I.OP_SPECIAL) return _special(state, insn);
        if (op == I.OP_REGIMM) return _regimm(state, insn);
        unchecked {
            if (op == 0x02 || op == 0x03) {
                // j / jal: the target keeps the top 4 bits of pc + 4.
                uint32 target = ((pc + 4) & 0xF0000000) | ((insn & 0x03FFFFFF) << 2);
                return _branch(state, true, target, op == 0x03 ? 31 : 0);
            }
            if (op >= 0x04 && op <= 0x07) {
                // beq bne blez bgtz
                uint32 rs = _rs(state, insn);
                bool taken;
                if (op == 0x04) taken = rs == _rt(state, insn);
                else if (op == 0x05) taken = rs != _rt(state, insn);
                else if (op == 0x06) taken = int32(rs) <= 0;
                else taken = int32(rs) > 0;
                return _branch(state, taken, pc + 4 + (I.signExtend16(insn) << 2), 0);
            }
        }
        if (op >= 0x08 && op <= 0x0F) {
            (uint32 value, uint8 f) = I.immediateAlu(op, _rs(state, insn), insn);
            if (f != I.FAULT_NONE) return f;
            MIPSState.setReg(state, (insn >> 16) & 31, value);
            MIPSState.advance(state);
            return I.FAULT_NONE;
        }
        if (op == I.OP_SPECIAL2) return _special2(state, insn);
        return I.FAULT_INVALID_INSTRUCTION;
    }

    /// @notice SPECIAL (op 0): register ALU, shifts, jr/jalr, movz/movn, syscall, sync, hi/lo, traps.
    /// @param state The state buffer.
    /// @param insn  The instruction word.
    /// @return A fault code, or FAULT_NONE.
    function _special(bytes memory state, uint32 insn) internal pure returns (uint8) {
        uint32 funct = insn & 0x3F;
        uint256 rd = (insn >> 11) & 31;
        if (funct < 0x08 || (funct >= 0x20 && funct < 0x30)) {
            (uint32 value, uint8 f) = I.specialAlu(funct, _rs(state, insn), _rt(state, insn), (insn >> 6) & 31);
            if (f != I.FAULT_NONE) return f;
            MIPSState.setReg(state, rd, value);
        } else if (funct == 0x08 || funct == 0x09) {
            // jr / jalr: jump to rs; jalr links into rd.
            return _branch(state, true, _rs(state, insn), funct == 0x09 ? rd : 0);
        } else if (funct == 0x0A || funct == 0x0B) {
            // movz / movn
            if ((_rt(state, insn) == 0) == (funct == 0x0A)) MIPSState.setReg(state, rd, _rs(state, insn));
        } else if (funct == 0x0C) {
            return MIPSSyscalls.execute(state);
        } else if (funct == 0x0F) {
            // sync: a no-op on one thread
        } else if (funct >= 0x10 && funct <= 0x13) {
            // mfhi mthi mflo mtlo
            uint256 off = funct < 0x12 ? MIPSState.OFF_HI : MIPSState.OFF_LO;
            if (funct & 1 == 0) MIPSState.setReg(state, rd, MIPSState.get32(state, off));
            else MIPSState.set32(state, off, _rs(state, insn));
        } else if (funct >= 0x18 && funct <= 0x1B) {
            (uint32 hi, uint32 lo, uint8 f) = I.multDiv(funct, _rs(state, insn), _rt(state, insn));
            if (f != I.FAULT_NONE) return f;
            MIPSState.set32(state, MIPSState.OFF_HI, hi);
            MIPSState.set32(state, MIPSState.OFF_LO, lo);
        } else if (funct >= 0x30 && funct <= 0x37) {
            (bool holds, bool valid) = I.trapHolds(funct - 0x30, _rs(state, insn), _rt(state, insn));
            if (!valid) return I.FAULT_INVALID_INSTRUCTION;
            if (holds) return I.FAULT_TRAP;
        } else {
            return I.FAULT_INVALID_INSTRUCTION;
        }
        MIPSState.advance(state);
        return I.FAULT_NONE;
    }

    /// @notice REGIMM (op 1): bltz bgez bltzal bgezal and the immediate traps.
    /// @param state The state buffer.
    /// @param insn  The instruction word.
    /// @return A fault code, or FAULT_NONE.
    function _regimm(bytes memory state, uint32 insn) internal pure returns (uint8) {
        uint32 kind = (insn >> 16) & 31;
        uint32 rs = _rs(state, insn);
        if (kind == 0x00 || kind == 0x01 || kind == 0x10 || kind == 0x11) {
            // Bit 0 of rt: bgez(al) vs bltz(al); bit 4: link into r31 (taken or not).
            bool taken = (kind & 1 == 1) == (int32(rs) >= 0);
            uint32 pc = MIPSState.get32(state, MIPSState.OFF_PC);
            unchecked {
                return _branch(state, taken, pc + 4 + (I.signExtend16(insn) << 2), kind >= 0x10 ? 31 : 0);
            }
        }
        if (kind >= 0x08 && kind <= 0x0F) {
            (bool holds, bool valid) = I.trapHolds(kind - 0x08, rs, I.signExtend16(insn));
            if (!valid) return I.FAULT_INVALID_INSTRUCTION;
            if (holds) return I.FAULT_TRAP;
            MIPSState.advance(state);
            return I.FAULT_NONE;
        }
        return I.FAULT_INVALID_INSTRUCTION;
    }

    /// @notice SPECIAL2 (op 28): madd maddu mul msub msubu clz clo.
    /// @param state The state buffer.
    /// @param insn  The instruction word.
    /// @return A fault code, or FAULT_NONE.
    function _special2(bytes memory state, uint32 insn) internal pure returns (uint8) {
        uint32 funct = insn & 0x3F;
        uint256 rd = (insn >> 11) & 31;
        if (funct == 0x00 || funct == 0x01 || funct == 0x04 || funct == 0x05) {
            (uint32 hi, uint32 lo) = I.multiplyAccumulate(
                funct,
                _rs(state, insn),
                _rt(state, insn),
                MIPSState.get32(state, MIPSState.OFF_HI),
                MIPSState.get32(state, MIPSState.OFF_LO)
            );
            MIPSState.set32(state, MIPSState.OFF_HI, hi);
            MIPSState.set32(state, MIPSState.OFF_LO, lo);
        } else if (funct == 0x02) {
            unchecked {
                MIPSState.setReg(state, rd, _rs(state, insn) * _rt(state, insn)); // mul: hi/lo unchanged
            }
        } else if (funct == 0x20) {
            MIPSState.setReg(state, rd, I.clz(_rs(state, insn)));
        } else if (funct == 0x21) {
            MIPSState.setReg(state, rd, I.clz(~_rs(state, insn)));
        } else {
            return I.FAULT_INVALID_INSTRUCTION;
        }
        MIPSState.advance(state);
        return I.FAULT_NONE;
    }

    /// @notice Loads and stores, with the data-word proof (proven against the pre-state root).
    /// @param state     The state buffer.
    /// @param insn      The instruction word.
    /// @param op        Its primary opcode (a memory op).
    /// @param proof     The step proof: the instruction part, then (unless the access is
    ///                  misaligned) the part for the aligned word holding the address.
    /// @param insnEnd   Where the instruction part ends (the data part starts).
    /// @param compact   Whether `proof` is in the compact format.
    /// @return A fault code, or FAULT_NONE.
    function _loadStore(bytes memory state, uint32 insn, uint32 op, bytes calldata proof, uint256 insnEnd, bool compact)
        internal
        pure
        returns (uint8)
    {
        uint32 addr;
        unchecked {
            addr = _rs(state, insn) + I.signExtend16(insn);
        }
        if (I.misaligned(op, addr)) {
            // A misaligned access faults before touching memory, so it carries no data proof.
            _requireProofLength(proof, insnEnd);
            return I.FAULT_MISALIGNED;
        }
        _requireProofLength(proof, _partEnd(proof, insnEnd, compact));
        uint256 rt = (insn >> 16) & 31;
        uint32 rtValue = MIPSState.reg(state, rt);
        if (I.isStore(op)) {
            // Merge into the (not yet verified) leaf; `update` verifies it while computing the new root.
            uint32 word = _leafWord(proof, insnEnd, addr & ~uint32(3));
            _storeWord(state, addr & ~uint32(3), I.storeValue(op, word, addr, rtValue), proof, insnEnd, compact);
            if (op == 0x38) MIPSState.setReg(state, rt, 1); // sc always succeeds on one thread
        } else {
            uint32 word = _readWord(MIPSState.memRoot(state), addr & ~uint32(3), proof, insnEnd, compact);
            MIPSState.setReg(state, rt, I.loadValue(op, word, addr, rtValue));
        }
        MIPSState.advance(state);
        return I.FAULT_NONE;
    }

    /// @notice Set the memory root to the one with `value` at `aligned`, verifying the data part
    ///         against the pre-state root in the same walk.
    /// @param state   The state buffer.
    /// @param aligned The 4-aligned address.
    /// @param value   The new word.
    /// @param proof   The step proof.
    /// @param offset  Where the data part starts.
    /// @param compact Whether `proof` is in the compact format.
    function _storeWord(
        bytes memory state,
        uint32 aligned,
        uint32 value,
        bytes calldata proof,
        uint256 offset,
        bool compact
    ) internal pure {
        bytes32 leaf = _withWord(proof, offset, aligned, value);
        MIPSState.setMemRoot(
            state, MIPSMemoryProof.update(MIPSState.memRoot(state), aligned, proof, offset, compact, leaf)
        );
    }

    /// @notice Take (or not) a branch or jump, after the delay-slot check.
    /// @param state  The state buffer.
    /// @param taken  Whether control transfers to `target`.
    /// @param target The branch target.
    /// @param link   Register that receives pc + 8 whether or not taken (0 for none).
    /// @return A fault code, or FAULT_NONE.
    function _branch(bytes memory state, bool taken, uint32 target, uint256 link) internal pure returns (uint8) {
        uint32 pc = MIPSState.get32(state, MIPSState.OFF_PC);
        uint32 next = MIPSState.get32(state, MIPSState.OFF_NEXT_PC);
        unchecked {
            if (next != pc + 4) return I.FAULT_BRANCH_IN_DELAY_SLOT;
            MIPSState.setReg(state, link, pc + 8);
        }
        if (taken) {
            MIPSState.set32(state, MIPSState.OFF_PC, next);
            MIPSState.set32(state, MIPSState.OFF_NEXT_PC, target);
        } else {
            MIPSState.advance(state);
        }
        return I.FAULT_NONE;
    }

    /// @notice Where the proof part starting at `offset` ends; reverts if the proof is too short.
    /// @param proof   The step proof.
    /// @param offset  Where the part starts.
    /// @param compact Whether `proof` is in the compact format.
    /// @return end The offset just past the part.
    function _partEnd(bytes calldata proof, uint256 offset, bool compact) internal pure returns (uint256 end) {
        if (compact) {
            end = offset + MIPSMemoryProof.COMPACT_HEADER_BYTES;
            if (proof.length < end) revert InvalidProofLength(end, proof.length);
            end = offset + MIPSMemoryProof.partBytes(proof, offset);
        } else {
            end = offset + PROOF_BYTES;
        }
        if (proof.length < end) revert InvalidProofLength(end, proof.length);
    }

    /// @notice The word at the 4-aligned `addr`, proven by the part at `offset` (length checked).
    /// @param root    The memory root.
    /// @param addr    A 4-aligned byte address.
    /// @param proof   The step proof.
    /// @param offset  Where the part starts.
    /// @param compact Whether `proof` is in the compact format.
    /// @return The proven word.
    function _readWord(bytes32 root, uint32 addr, bytes calldata proof, uint256 offset, bool compact)
        internal
        pure
        returns (uint32)
    {
        if (compact) return MIPSMemoryProof.readWordCompact(root, addr, proof, offset);
        return MerkleMemory.readWord(root, addr, proof[offset:offset + PROOF_BYTES]);
    }

    /// @notice Revert with InvalidProofLength unless `proof` is exactly `expected` bytes.
    /// @param proof    The step proof.
    /// @param expected The length this step requires.
    function _requireProofLength(bytes calldata proof, uint256 expected) internal pure {
        if (proof.length != expected) revert InvalidProofLength(expected, proof.length);
    }

    /// @notice The word at the 4-aligned `aligned` in the leaf of the part at `offset` (unverified).
    /// @param proof   The step proof (both formats start a part with its leaf).
    /// @param offset  Where the part starts.
    /// @param aligned The 4-aligned address.
    /// @return The word.
    function _leafWord(bytes calldata proof, uint256 offset, uint32 aligned) internal pure returns (uint32) {
        return uint32(uint256(bytes32(proof[offset:offset + 32])) >> ((28 - (aligned & 31)) << 3));
    }

    /// @notice The data part's leaf with the word at `aligned` replaced by `value`.
    /// @param proof   The step proof (both formats start a part with its leaf).
    /// @param offset  Where the data part starts.
    /// @param aligned The 4-aligned address.
    /// @param value   The new word.
    /// @return leaf The new leaf.
    function _withWord(bytes calldata proof, uint256 offset, uint32 aligned, uint32 value)
        internal
        pure
        returns (bytes32 leaf)
    {
        uint256 shift = (28 - (aligned & 31)) << 3;
        uint256 old = uint256(bytes32(proof[offset:offset + 32]));
        leaf = bytes32((old & ~(uint256(0xFFFFFFFF) << shift)) | (uint256(value) << shift));
    }

    /// @notice Value of the rs register (bits 25..21).
    /// @param state The state buffer.
    /// @param insn  The instruction word.
    /// @return The value.
    function _rs(bytes memory state, uint32 insn) internal pure returns (uint32) {
        return MIPSState.reg(state, (insn >> 21) & 31);
    }

    /// @notice Value of the rt register (bits 20..16).
    /// @param state The state buffer.
    /// @param insn  The instruction word.
    /// @return The value.
    function _rt(bytes memory state, uint32 insn) internal pure returns (uint32) {
        return MIPSState.reg(state, (insn >> 16) & 31);
    }
    // forge-lint: disable-end(unsafe-typecast)
}
