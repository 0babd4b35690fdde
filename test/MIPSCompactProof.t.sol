// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MIPS} from "../src/MIPS.sol";
import {MerkleMemory} from "../src/lib/MerkleMemory.sol";
import {MIPSMemoryProof} from "../src/lib/MIPSMemoryProof.sol";
import {MIPSTestBase, MIPSTestMemory, VMState, Word} from "./harness/MIPSTestBase.sol";

/// @notice Specification of `stepCompact` and its proof format, docs/SPEC.md §2.8. (Every
///         instruction, memory and syscall spec also runs through `stepCompact`: see the
///         *_Compact_Test contracts.)
contract MIPS_CompactProof_Test is MIPSTestBase {
    uint32 internal constant DATA = 0x00012340;

    function _lwWitness() internal view returns (VMState memory s, bytes memory full) {
        s = _blank();
        s.regs[1] = DATA;
        Word[] memory w = new Word[](2);
        w[0] = Word(DATA, 0xA1B2C3D4);
        w[1] = Word(PC, _i(0x23, 1, 2, 0)); // lw r2, 0(r1)
        s.memRoot = MIPSTestMemory.root(w);
        full = abi.encodePacked(MIPSTestMemory.proof(w, PC), MIPSTestMemory.proof(w, DATA));
    }

    function test_compactAndFullProofs_giveTheSameStep() public {
        (VMState memory s, bytes memory full) = _lwWitness();
        bytes memory packed = _pack(s);
        bytes memory c = _compactProof(full);
        assertLt(c.length, full.length / 4, "a sparse memory compresses well");
        assertEq(mips.stepCompact(packed, c, 0), mips.step(packed, full, 0));
    }

    function test_zeroSiblingsMayAlsoBeSentExplicitly() public {
        // Mask 0 is the full list of siblings: leaf ‖ 0x00000000 ‖ 27 siblings.
        (VMState memory s, bytes memory full) = _lwWitness();
        bytes memory c;
        for (uint256 o = 0; o < full.length; o += 896) {
            bytes memory part = new bytes(896);
            for (uint256 i = 0; i < 896; i++) {
                part[i] = full[o + i];
            }
            bytes memory sibs = new bytes(864);
            for (uint256 i = 0; i < 864; i++) {
                sibs[i] = part[32 + i];
            }
            c = abi.encodePacked(c, bytes32(_slice32(part, 0)), uint32(0), sibs);
        }
        assertEq(mips.stepCompact(_pack(s), c, 0), mips.step(_pack(s), full, 0));
    }

    function _slice32(bytes memory b, uint256 o) internal pure returns (bytes32 r) {
        assembly {
            r := mload(add(add(b, 32), o))
        }
    }

    function test_zeroTable_matchesMerkleMemory() public view {
        // The compact walk with every sibling omitted is the root of a tree that is zero except the leaf.
        bytes memory p = abi.encodePacked(bytes32(uint256(7)), uint32((1 << 27) - 1));
        bytes32 expected = bytes32(uint256(7));
        for (uint256 h = 0; h < 27; h++) {
            expected = keccak256(abi.encodePacked(expected, MerkleMemory.zeroHash(h)));
        }
        assertEq(this.root(bytes32(uint256(7)), 0, p), expected);
    }

    /// @dev External wrapper so the library sees calldata.
    function root(bytes32 leaf, uint32 addr, bytes calldata proof) external pure returns (bytes32) {
        return MIPSMemoryProof.rootWithLeaf(leaf, addr, proof, 0, true);
    }

    /// @dev External wrappers so the libraries see calldata.
    function fullRoot(bytes32 leaf, uint32 addr, bytes calldata proof) external pure returns (bytes32) {
        return MerkleMemory.rootWithLeaf(leaf, addr, proof);
    }

    function walk(bytes32 leaf, uint32 addr, bytes calldata proof, bool isCompact) external pure returns (bytes32) {
        return MIPSMemoryProof.rootWithLeaf(leaf, addr, proof, 0, isCompact);
    }

    function update(bytes32 root_, uint32 addr, bytes calldata proof, bool isCompact, bytes32 newLeaf)
        external
        pure
        returns (bytes32)
    {
        return MIPSMemoryProof.update(root_, addr, proof, 0, isCompact, newLeaf);
    }

    /// @notice The unrolled walks agree with MerkleMemory for every address and any set of zero
    ///         siblings, in both layouts, and `update` verifies then re-roots in one pass.
    function testFuzz_walks_matchMerkleMemory(bytes32 leaf, bytes32 newLeaf, uint32 addr, uint256 seed, uint32 zeroMask)
        public
        view
    {
        zeroMask &= (uint32(1) << 27) - 1;
        bytes memory full = abi.encodePacked(leaf);
        bytes32 z;
        for (uint256 h = 0; h < 27; h++) {
            bytes32 sib = (zeroMask >> h) & 1 == 1 ? z : keccak256(abi.encode(seed, h));
            full = abi.encodePacked(full, sib);
            z = keccak256(abi.encodePacked(z, z));
        }
        bytes memory c = _compactProof(full);
        bytes32 expected = this.fullRoot(leaf, addr, full);
        assertEq(this.walk(leaf, addr, full, false), expected, "full layout");
        assertEq(this.walk(leaf, addr, c, true), expected, "compact layout");
        bytes32 expectedNew = this.fullRoot(newLeaf, addr, full);
        assertEq(this.update(expected, addr, full, false, newLeaf), expectedNew, "update, full");
        assertEq(this.update(expected, addr, c, true, newLeaf), expectedNew, "update, compact");
    }

    function testFuzz_update_rejectsAWrongOldRoot(bytes32 leaf, uint32 addr, uint256 seed, bytes32 wrong) public {
        bytes memory full = abi.encodePacked(leaf);
        for (uint256 h = 0; h < 27; h++) {
            full = abi.encodePacked(full, keccak256(abi.encode(seed, h)));
        }
        vm.assume(wrong != this.fullRoot(leaf, addr, full));
        vm.expectRevert(abi.encodeWithSelector(MerkleMemory.InvalidMemoryProof.selector, addr));
        this.update(wrong, addr, full, false, bytes32(0));
    }

    function test_maskBitsAbove26_areMalformed() public {
        (VMState memory s, bytes memory full) = _lwWitness();
        bytes memory c = _compactProof(full);
        c[32] = bytes1(uint8(c[32]) | 0x08); // bit 27
        uint32 mask = uint32(bytes4(_slice32(c, 32)));
        vm.expectRevert(abi.encodeWithSelector(MIPSMemoryProof.InvalidSiblingMask.selector, mask));
        mips.stepCompact(_pack(s), c, 0);
    }

    function test_truncatedOrPaddedCompactProofs_areRejected() public {
        (VMState memory s, bytes memory full) = _lwWitness();
        bytes memory c = _compactProof(full);
        bytes memory packed = _pack(s);
        // Too short to hold the first header.
        vm.expectRevert(abi.encodeWithSelector(MIPS.InvalidProofLength.selector, 36, 10));
        mips.stepCompact(packed, new bytes(10), 0);
        // One byte short / one byte extra.
        bytes memory shorter = new bytes(c.length - 1);
        for (uint256 i = 0; i < shorter.length; i++) {
            shorter[i] = c[i];
        }
        vm.expectRevert(abi.encodeWithSelector(MIPS.InvalidProofLength.selector, c.length, c.length - 1));
        mips.stepCompact(packed, shorter, 0);
        vm.expectRevert(abi.encodeWithSelector(MIPS.InvalidProofLength.selector, c.length, c.length + 1));
        mips.stepCompact(packed, abi.encodePacked(c, uint8(0)), 0);
    }

    function test_aTamperedCompactProof_isRejected() public {
        (VMState memory s, bytes memory full) = _lwWitness();
        bytes memory c = _compactProof(full);
        bytes memory packed = _pack(s);
        bytes memory bad = abi.encodePacked(c);
        bad[3] = 0xFF; // the instruction leaf
        vm.expectRevert(abi.encodeWithSelector(MerkleMemory.InvalidMemoryProof.selector, PC));
        mips.stepCompact(packed, bad, 0);
        bad = abi.encodePacked(c);
        bad[bad.length - 1] ^= 0x01; // the data part's last sibling
        vm.expectRevert(abi.encodeWithSelector(MerkleMemory.InvalidMemoryProof.selector, DATA));
        mips.stepCompact(packed, bad, 0);
        bad = abi.encodePacked(c);
        // Flip mask bit 0: the instruction leaf's zero sibling is now read from calldata (the next
        // sibling's bytes), so the instruction walk misses the root.
        assertEq(uint8(c[35]) & 1, 1, "the sibling at height 0 was omitted");
        bad[35] ^= 0x01;
        vm.expectRevert(abi.encodeWithSelector(MerkleMemory.InvalidMemoryProof.selector, PC));
        mips.stepCompact(packed, bad, 0);
        // Set instead a clear bit (the lowest non-zero sibling): that sibling is taken as zero[h].
        bad = abi.encodePacked(c);
        uint32 mask = uint32(bytes4(_slice32(c, 32)));
        uint256 h;
        while ((mask >> h) & 1 == 1) h++;
        assertLt(h, 27, "some sibling is sent");
        mask |= uint32(1) << uint32(h);
        for (uint256 i = 0; i < 4; i++) {
            bad[32 + i] = bytes1(uint8(mask >> (24 - 8 * i)));
        }
        vm.expectRevert(abi.encodeWithSelector(MerkleMemory.InvalidMemoryProof.selector, PC));
        mips.stepCompact(packed, bad, 0);
    }

    function test_exitedState_acceptsAnyCompactProof() public {
        VMState memory s = _blank();
        s.exited = 1;
        assertEq(mips.stepCompact(_pack(s), hex"ff", 0), _hash(s));
    }

    function testFuzz_compactStep_equalsFullStep(uint32 insn, uint256 seed) public {
        VMState memory s = _blank();
        for (uint256 i = 1; i < 32; i++) {
            s.regs[i] = uint32(uint256(keccak256(abi.encode(seed, i))) % 0x20000);
        }
        s.regs[5] = DATA;
        uint32 op = insn >> 26;
        bool memOp = (op >= 0x20 && op <= 0x26) || (op >= 0x28 && op <= 0x2B) || op == 0x2E || op == 0x30 || op == 0x38;
        uint32 addr;
        unchecked {
            addr = s.regs[(insn >> 21) & 31] + uint32(int32(int16(uint16(insn))));
        }
        if (memOp) {
            bool half = op == 0x21 || op == 0x25 || op == 0x29;
            bool word = op == 0x23 || op == 0x2B || op == 0x30 || op == 0x38;
            if ((half && addr & 1 != 0) || (word && addr & 3 != 0)) memOp = false;
        }
        Word[] memory w = new Word[](2);
        w[0] = Word(addr & ~uint32(3), uint32(seed));
        w[1] = Word(PC, insn);
        s.memRoot = MIPSTestMemory.root(w);
        bytes memory full = MIPSTestMemory.proof(w, PC);
        if (memOp) full = abi.encodePacked(full, MIPSTestMemory.proof(w, addr & ~uint32(3)));
        assertEq(mips.stepCompact(_pack(s), _compactProof(full), 0), mips.step(_pack(s), full, 0));
    }
}
