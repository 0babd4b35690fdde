// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test, Vm} from "forge-std/Test.sol";
import {MIPS} from "../../src/MIPS.sol";

/// @notice A VM state as the tests think of it; packed independently of src/lib/MIPSState.sol.
struct VMState {
    bytes32 memRoot;
    bytes32 preimageKey;
    uint32 preimageOffset;
    uint32 pc;
    uint32 nextPC;
    uint32 lo;
    uint32 hi;
    uint32 heap;
    uint8 exitCode;
    uint8 exited;
    uint64 step;
    uint32[32] regs;
}

/// @notice One 4-aligned memory word of a tiny test memory.
struct Word {
    uint32 addr;
    uint32 value;
}

/// @title MIPSTestMemory
/// @notice A slow, obviously-correct sparse memory for tests: a handful of words, every other byte
///         zero. Computes roots and 896-byte proofs straight from the SPEC §1 definition.
library MIPSTestMemory {
    /// @notice Root of an all-zero subtree of `height`.
    function zero(uint256 height) internal pure returns (bytes32 z) {
        for (uint256 i = 0; i < height; i++) {
            z = keccak256(abi.encodePacked(z, z));
        }
    }

    /// @notice The 32-byte leaf `index`: the words that fall into it, big-endian, zeros elsewhere.
    function leaf(Word[] memory words, uint256 index) internal pure returns (bytes32 l) {
        uint256 v;
        for (uint256 i = 0; i < words.length; i++) {
            if (words[i].addr >> 5 != index) continue;
            uint256 shift = (28 - (words[i].addr & 31)) * 8;
            v = (v & ~(uint256(0xffffffff) << shift)) | (uint256(words[i].value) << shift);
        }
        l = bytes32(v);
    }

    /// @notice Node `index` at `height` (0 = leaves).
    function node(Word[] memory words, uint256 height, uint256 index) internal pure returns (bytes32) {
        bool any;
        for (uint256 i = 0; i < words.length; i++) {
            if ((uint256(words[i].addr) >> 5) >> height == index) any = true;
        }
        if (!any) return zero(height);
        if (height == 0) return leaf(words, index);
        return keccak256(abi.encodePacked(node(words, height - 1, 2 * index), node(words, height - 1, 2 * index + 1)));
    }

    /// @notice The memory root.
    function root(Word[] memory words) internal pure returns (bytes32) {
        return node(words, 27, 0);
    }

    /// @notice The 896-byte proof of the leaf holding `addr`.
    function proof(Word[] memory words, uint32 addr) internal pure returns (bytes memory p) {
        uint256 index = addr >> 5;
        p = abi.encodePacked(leaf(words, index));
        for (uint256 h = 0; h < 27; h++) {
            p = abi.encodePacked(p, node(words, h, (index >> h) ^ 1));
        }
    }

    /// @notice `words` with the word at `addr` set to `value` (later entries win in `leaf`).
    function set(Word[] memory words, uint32 addr, uint32 value) internal pure returns (Word[] memory out) {
        out = new Word[](words.length + 1);
        for (uint256 i = 0; i < words.length; i++) {
            out[i] = words[i];
        }
        out[words.length] = Word(addr, value);
    }
}

/// @title MIPSTestBase
/// @notice Helpers for MIPS.sol specs: instruction encoders, state packing, and `_run`, which puts
///         one instruction at pc (plus optional data words), steps it on chain, checks the returned
///         hash and the event against an independent packing, and gives back the post-state.
abstract contract MIPSTestBase is Test {
    using MIPSTestMemory for Word[];

    /// @dev keccak256("StepExecuted(bytes32,bytes32,bytes)")
    bytes32 internal constant STEP_EXECUTED = keccak256("StepExecuted(bytes32,bytes32,bytes)");
    uint32 internal constant PC = 0x00400000;
    uint32 internal constant HEAP_START = 0x90000000;

    MIPS internal mips;
    /// @notice When set, `_stepRaw` converts proofs to the compact format and calls `stepCompact`.
    bool internal compact;

    function setUp() public virtual {
        mips = new MIPS();
    }

    // -- encoders ---------------------------------------------------------------------------------

    function _r(uint32 funct, uint32 rs, uint32 rt, uint32 rd, uint32 sa) internal pure returns (uint32) {
        return (rs << 21) | (rt << 16) | (rd << 11) | (sa << 6) | funct;
    }

    function _i(uint32 op, uint32 rs, uint32 rt, uint32 imm) internal pure returns (uint32) {
        return (op << 26) | (rs << 21) | (rt << 16) | (imm & 0xFFFF);
    }

    function _jump(uint32 op, uint32 index) internal pure returns (uint32) {
        return (op << 26) | (index & 0x03FFFFFF);
    }

    function _regimm(uint32 kind, uint32 rs, uint32 imm) internal pure returns (uint32) {
        return _i(1, rs, kind, imm);
    }

    function _sp2(uint32 funct, uint32 rs, uint32 rt, uint32 rd) internal pure returns (uint32) {
        return (28 << 26) | (rs << 21) | (rt << 16) | (rd << 11) | funct;
    }

    // -- states -----------------------------------------------------------------------------------

    /// @notice A running state at PC with nextPC = PC + 4 and the initial heap.
    function _blank() internal pure returns (VMState memory s) {
        s.pc = PC;
        s.nextPC = PC + 4;
        s.heap = HEAP_START;
    }

    function _pack(VMState memory s) internal pure returns (bytes memory p) {
        p = abi.encodePacked(s.memRoot, s.preimageKey, s.preimageOffset, s.pc, s.nextPC, s.lo, s.hi, s.heap);
        p = abi.encodePacked(p, s.exitCode, s.exited, s.step);
        for (uint256 i = 0; i < 32; i++) {
            p = abi.encodePacked(p, s.regs[i]);
        }
    }

    function _u32(bytes memory b, uint256 o) internal pure returns (uint32 v) {
        for (uint256 i = 0; i < 4; i++) {
            v = (v << 8) | uint8(b[o + i]);
        }
    }

    function _unpack(bytes memory p) internal pure returns (VMState memory s) {
        require(p.length == 226, "post-state length");
        bytes32 a;
        bytes32 b;
        assembly {
            a := mload(add(p, 32))
            b := mload(add(p, 64))
        }
        s.memRoot = a;
        s.preimageKey = b;
        s.preimageOffset = _u32(p, 64);
        s.pc = _u32(p, 68);
        s.nextPC = _u32(p, 72);
        s.lo = _u32(p, 76);
        s.hi = _u32(p, 80);
        s.heap = _u32(p, 84);
        s.exitCode = uint8(p[88]);
        s.exited = uint8(p[89]);
        s.step = (uint64(_u32(p, 90)) << 32) | _u32(p, 94);
        for (uint256 i = 0; i < 32; i++) {
            s.regs[i] = _u32(p, 98 + 4 * i);
        }
    }

    /// @notice SPEC §2.1: keccak of the packed state with the top byte replaced by the status.
    function _hash(VMState memory s) internal pure returns (bytes32) {
        uint8 status = s.exited == 0 ? 3 : (s.exitCode == 0 ? 0 : (s.exitCode == 1 ? 1 : 2));
        return bytes32((uint256(keccak256(_pack(s))) & ~(uint256(0xff) << 248)) | (uint256(status) << 248));
    }

    // -- running ----------------------------------------------------------------------------------

    /// @notice SPEC §2.8: each 896-byte part becomes leaf ‖ mask ‖ the siblings that are not zero[h].
    ///         Anything that is not a whole number of parts is returned unchanged.
    function _compactProof(bytes memory proof) internal pure returns (bytes memory out) {
        if (proof.length % 896 != 0) return proof;
        for (uint256 o = 0; o < proof.length; o += 896) {
            bytes32 leaf;
            assembly {
                leaf := mload(add(add(proof, 32), o))
            }
            uint32 mask;
            bytes memory sibs;
            bytes32 z;
            for (uint256 h = 0; h < 27; h++) {
                bytes32 sib;
                assembly {
                    sib := mload(add(add(proof, 64), add(o, mul(h, 32))))
                }
                if (sib == z) mask |= uint32(1) << uint32(h);
                else sibs = abi.encodePacked(sibs, sib);
                z = keccak256(abi.encodePacked(z, z));
            }
            out = abi.encodePacked(out, leaf, mask, sibs);
        }
    }

    /// @notice Call `step`, or `stepCompact` with `proof` (full format) converted, as `compact` says.
    function _callStep(bytes memory packed, bytes memory proof) internal returns (bytes32) {
        return compact ? mips.stepCompact(packed, _compactProof(proof), 0) : mips.step(packed, proof, 0);
    }

    /// @notice The byte length, in the format under test, of the first `parts` 896-byte parts of
    ///         the full-format `proof`: what InvalidProofLength reports as expected (or actual).
    function _partsLength(bytes memory proof, uint256 parts) internal view returns (uint256) {
        if (!compact) return parts * 896;
        bytes memory head = new bytes(parts * 896);
        for (uint256 i = 0; i < head.length; i++) {
            head[i] = proof[i];
        }
        return _compactProof(head).length;
    }

    /// @notice Step `s` (memory root taken as given) with `proof`; checks return value and event.
    function _stepRaw(VMState memory s, bytes memory proof) internal returns (VMState memory post) {
        bytes memory packed = _pack(s);
        vm.recordLogs();
        bytes32 ret =
            compact ? mips.stepCompact(packed, _compactProof(proof), bytes32(0)) : mips.step(packed, proof, bytes32(0));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "exactly one event");
        assertEq(logs[0].topics[0], STEP_EXECUTED, "StepExecuted");
        (bytes32 preHash, bytes32 postHash, bytes memory postState) =
            abi.decode(logs[0].data, (bytes32, bytes32, bytes));
        post = _unpack(postState);
        assertEq(preHash, _hash(s), "event pre-state hash");
        assertEq(postHash, ret, "event post-state hash = return value");
        assertEq(ret, _hash(post), "return value = hash of the emitted post-state");
    }

    /// @notice Run `insn` at s.pc over a memory holding it and `data`; the data proof (for `dataAddr`)
    ///         is appended when `withData`.
    function _runWith(VMState memory s, uint32 insn, Word[] memory data, bool withData, uint32 dataAddr)
        internal
        returns (VMState memory post)
    {
        Word[] memory words = data.set(s.pc & ~uint32(3), insn);
        s.memRoot = words.root();
        bytes memory proof = words.proof(s.pc & ~uint32(3));
        if (withData) proof = abi.encodePacked(proof, words.proof(dataAddr & ~uint32(3)));
        post = _stepRaw(s, proof);
    }

    /// @notice Run a non-memory instruction.
    function _run(VMState memory s, uint32 insn) internal returns (VMState memory) {
        return _runWith(s, insn, new Word[](0), false, 0);
    }

    /// @notice Run a load/store whose aligned data word at `addr` holds `value` (and verify it ran).
    function _runMem(VMState memory s, uint32 insn, uint32 addr, uint32 value) internal returns (VMState memory) {
        Word[] memory data = new Word[](1);
        data[0] = Word(addr & ~uint32(3), value);
        return _runWith(s, insn, data, true, addr);
    }

    /// @notice The memory root of {insn at PC, `value` at `addr`}, for checking a store's new root.
    function _rootOf(uint32 pc, uint32 insn, uint32 addr, uint32 value) internal pure returns (bytes32) {
        Word[] memory words = new Word[](2);
        words[0] = Word(addr & ~uint32(3), value);
        words[1] = Word(pc, insn);
        return MIPSTestMemory.root(words);
    }

    /// @notice Expect `post` to be `pre` advanced by one ordinary instruction (pc, nextPC, step).
    function _expectAdvanced(VMState memory pre, VMState memory post) internal pure {
        assertEq(post.pc, pre.nextPC, "pc = old nextPC");
        assertEq(post.nextPC, pre.nextPC + 4, "nextPC = old nextPC + 4");
        assertEq(post.step, pre.step + 1, "step + 1");
        assertEq(post.exited, 0, "still running");
    }

    /// @notice Expect a fault: exited with `code`, step advanced, everything else exactly as before.
    function _expectFault(VMState memory pre, VMState memory post, uint8 code) internal pure {
        assertEq(post.exited, 1, "exited");
        assertEq(post.exitCode, code, "fault code");
        assertEq(post.step, pre.step + 1, "step + 1");
        pre.exited = 1;
        pre.exitCode = code;
        pre.step += 1;
        assertEq(_pack(post), _pack(pre), "nothing else changes");
    }
}
