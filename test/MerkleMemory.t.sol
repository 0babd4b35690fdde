// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {MerkleMemory} from "../src/lib/MerkleMemory.sol";
import {MerkleMemoryHarness} from "./harness/MerkleMemoryHarness.sol";

/// @notice Specification of the Merkle memory library. A slow, obviously-correct reference in
///         plain Solidity (`_refRoot`) is the oracle for the assembly paths.
contract MerkleMemoryTest is Test {
    MerkleMemoryHarness internal h;

    function setUp() public {
        h = new MerkleMemoryHarness();
    }

    // -- helpers -------------------------------------------------------------------------------

    function _proof(bytes32 leaf, bytes32[27] memory sibs) internal pure returns (bytes memory p) {
        p = abi.encodePacked(leaf);
        for (uint256 i = 0; i < 27; i++) p = abi.encodePacked(p, sibs[i]);
    }

    function _refRoot(bytes32 leaf, uint32 addr, bytes32[27] memory sibs) internal pure returns (bytes32 node) {
        uint256 index = addr >> 5;
        node = leaf;
        for (uint256 i = 0; i < 27; i++) {
            node = (index >> i) & 1 == 1 ? keccak256(abi.encodePacked(sibs[i], node)) : keccak256(abi.encodePacked(node, sibs[i]));
        }
    }

    function _sibs(uint256 seed) internal pure returns (bytes32[27] memory sibs) {
        for (uint256 i = 0; i < 27; i++) sibs[i] = keccak256(abi.encode(seed, i));
    }

    // -- proofs --------------------------------------------------------------------------------

    function testFuzz_readLeaf_returnsTheLeafOfAValidProof(bytes32 leaf, uint32 addr, uint256 seed) public view {
        bytes32[27] memory sibs = _sibs(seed);
        assertEq(h.readLeaf(_refRoot(leaf, addr, sibs), addr, _proof(leaf, sibs)), leaf);
    }

    function testFuzz_readLeaf_rejectsAnyFlippedByte(bytes32 leaf, uint32 addr, uint256 seed, uint16 at) public {
        bytes32[27] memory sibs = _sibs(seed);
        bytes32 root = _refRoot(leaf, addr, sibs);
        bytes memory p = _proof(leaf, sibs);
        p[at % 896] = bytes1(uint8(p[at % 896]) ^ 0x01);
        vm.expectRevert(abi.encodeWithSelector(MerkleMemory.InvalidMemoryProof.selector, addr));
        h.readLeaf(root, addr, p);
    }

    function testFuzz_readLeaf_rejectsAProofForAnotherLeaf(bytes32 leaf, uint32 addr, uint32 other, uint256 seed)
        public
    {
        vm.assume(addr >> 5 != other >> 5);
        bytes32[27] memory sibs = _sibs(seed);
        bytes32 root = _refRoot(leaf, addr, sibs);
        vm.expectRevert(abi.encodeWithSelector(MerkleMemory.InvalidMemoryProof.selector, other));
        h.readLeaf(root, other, _proof(leaf, sibs));
    }

    function testFuzz_readLeaf_rejectsWrongLength(uint256 len) public {
        len = bound(len, 0, 2000);
        vm.assume(len != 896);
        vm.expectRevert(abi.encodeWithSelector(MerkleMemory.MemoryProofLength.selector, len));
        h.readLeaf(bytes32(0), 0, new bytes(len));
    }

    function testFuzz_readWord_isTheBigEndianWordAtItsOffset(bytes32 leaf, uint32 addr, uint256 seed) public view {
        addr &= ~uint32(3);
        bytes32[27] memory sibs = _sibs(seed);
        uint256 o = addr & 31;
        uint32 expected = uint32(bytes4(leaf << (o * 8)));
        assertEq(h.readWord(_refRoot(leaf, addr, sibs), addr, _proof(leaf, sibs)), expected);
    }

    function testFuzz_wordAccess_rejectsUnalignedAddresses(uint32 addr) public {
        vm.assume(addr & 3 != 0);
        vm.expectRevert(abi.encodeWithSelector(MerkleMemory.UnalignedAddress.selector, addr));
        h.readWord(bytes32(0), addr, new bytes(896));
        vm.expectRevert(abi.encodeWithSelector(MerkleMemory.UnalignedAddress.selector, addr));
        h.writeWord(bytes32(0), addr, new bytes(896), 1);
    }

    function testFuzz_writeWord_thenReadWord_roundTrips(bytes32 leaf, uint32 addr, uint256 seed, uint32 value)
        public
        view
    {
        addr &= ~uint32(3);
        bytes32[27] memory sibs = _sibs(seed);
        bytes32 root = _refRoot(leaf, addr, sibs);
        bytes32 newRoot = h.writeWord(root, addr, _proof(leaf, sibs), value);
        // Rebuild the new leaf by hand and check both the root and the read-back.
        uint256 shift = (28 - (addr & 31)) * 8;
        bytes32 newLeaf = bytes32((uint256(leaf) & ~(uint256(0xffffffff) << shift)) | (uint256(value) << shift));
        assertEq(newRoot, _refRoot(newLeaf, addr, sibs));
        assertEq(h.readWord(newRoot, addr, _proof(newLeaf, sibs)), value);
    }

    function testFuzz_writeWord_checksTheOldRootFirst(bytes32 leaf, uint32 addr, uint256 seed, bytes32 wrongRoot)
        public
    {
        addr &= ~uint32(3);
        bytes32[27] memory sibs = _sibs(seed);
        vm.assume(wrongRoot != _refRoot(leaf, addr, sibs));
        vm.expectRevert(abi.encodeWithSelector(MerkleMemory.InvalidMemoryProof.selector, addr));
        h.writeWord(wrongRoot, addr, _proof(leaf, sibs), 7);
    }

    function testFuzz_writeLeaf_matchesReference(bytes32 leaf, bytes32 newLeaf, uint32 addr, uint256 seed) public view {
        bytes32[27] memory sibs = _sibs(seed);
        assertEq(h.writeLeaf(_refRoot(leaf, addr, sibs), addr, _proof(leaf, sibs), newLeaf), _refRoot(newLeaf, addr, sibs));
    }

    // -- zero hashes, tensors, regions -----------------------------------------------------------

    function test_zeroHash_isTheRootOfAnAllZeroTree() public view {
        bytes32 z;
        for (uint256 i = 0; i <= 27; i++) {
            assertEq(h.zeroHash(i), z);
            z = keccak256(abi.encodePacked(z, z));
        }
    }

    function test_zeroMemoryRoot_isAllZeroRegionsCombined() public view {
        bytes32[16] memory regions;
        for (uint256 i = 0; i < 16; i++) regions[i] = h.zeroHash(23);
        assertEq(h.combineRegions(regions), h.zeroHash(27));
    }

    function testFuzz_zeroHash_rejectsHeightsAboveTheTree(uint256 height) public {
        height = bound(height, 28, type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(MerkleMemory.HeightOutOfRange.selector, height));
        h.zeroHash(height);
    }

    function test_tensorRoot_ofOneLeafIsTheLeafItself() public view {
        (bytes32 root, uint256 height) = h.tensorRoot(hex"0102");
        assertEq(root, bytes32(hex"0102"));
        assertEq(height, 0);
        (root, height) = h.tensorRoot("");
        assertEq(root, bytes32(0));
        assertEq(height, 0);
    }

    function test_tensorRoot_ofThreeLeavesPadsToFour() public view {
        bytes memory data = new bytes(65);
        data[0] = 0xaa;
        data[64] = 0xbb;
        (bytes32 root, uint256 height) = h.tensorRoot(data);
        assertEq(height, 2);
        bytes32 l0 = bytes32(bytes1(0xaa));
        bytes32 l2 = bytes32(bytes1(0xbb));
        bytes32 expected = keccak256(
            abi.encodePacked(keccak256(abi.encodePacked(l0, bytes32(0))), keccak256(abi.encodePacked(l2, bytes32(0))))
        );
        assertEq(root, expected);
    }

    /// @dev A `bytes` whose length word says `length` but whose contents are never allocated:
    ///      tensorRoot must reject an oversized tensor from its length alone, before touching it.
    function tensorRootOfLength(uint256 length) external pure returns (bytes32 root, uint256 height) {
        bytes memory data;
        assembly {
            data := mload(0x40)
            mstore(data, length)
            mstore(0x40, add(data, 32))
        }
        return MerkleMemory.tensorRoot(data);
    }

    function testFuzz_tensorRoot_rejectsATensorLargerThanARegion(uint256 length) public {
        length = bound(length, (1 << 28) + 1, 1 << 64);
        vm.expectRevert(abi.encodeWithSelector(MerkleMemory.TensorTooLarge.selector, length));
        this.tensorRootOfLength{gas: 5_000_000}(length);
    }

    function test_tensorHeight_aWholeRegionIs23AndOneByteMoreIs24() public pure {
        assertEq(MerkleMemory.tensorHeight(1 << 28), 23);
        assertEq(MerkleMemory.tensorHeight((1 << 28) - 31), 23);
        assertEq(MerkleMemory.tensorHeight((1 << 28) + 1), 24);
        assertEq(MerkleMemory.tensorHeight(0), 0);
        assertEq(MerkleMemory.tensorHeight(33), 1);
    }

    function testFuzz_tensorRoot_ignoresTrailingZeroPaddingWithinItsHeight(bytes memory data, uint8 extra) public view {
        vm.assume(data.length <= 4096);
        (bytes32 r1, uint256 k1) = h.tensorRoot(data);
        bytes memory padded = bytes.concat(data, new bytes(extra));
        (bytes32 r2, uint256 k2) = h.tensorRoot(padded);
        // Same padded tree at the larger height: fold the smaller root up with zero siblings.
        bytes32 up = r1;
        for (uint256 k = k1; k < k2; k++) up = keccak256(abi.encodePacked(up, h.zeroHash(k)));
        assertEq(up, r2);
    }

    function testFuzz_foldRegion_equalsTheRegionTreeOfThePaddedTensor(bytes32 root, uint256 height) public view {
        height = bound(height, 0, 23);
        bytes32 node = root;
        for (uint256 k = height; k < 23; k++) node = keccak256(abi.encodePacked(node, h.zeroHash(k)));
        assertEq(h.foldRegion(root, height), node);
    }

    function testFuzz_foldRegion_rejectsHeightsAboveARegion(uint256 height) public {
        height = bound(height, 24, type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(MerkleMemory.HeightOutOfRange.selector, height));
        h.foldRegion(bytes32(0), height);
    }

    function testFuzz_combineRegions_isAFourLevelTree(bytes32[16] memory regions) public view {
        bytes32[8] memory l1;
        for (uint256 i = 0; i < 8; i++) l1[i] = keccak256(abi.encodePacked(regions[2 * i], regions[2 * i + 1]));
        bytes32[4] memory l2;
        for (uint256 i = 0; i < 4; i++) l2[i] = keccak256(abi.encodePacked(l1[2 * i], l1[2 * i + 1]));
        bytes32 a = keccak256(abi.encodePacked(l2[0], l2[1]));
        bytes32 b = keccak256(abi.encodePacked(l2[2], l2[3]));
        assertEq(h.combineRegions(regions), keccak256(abi.encodePacked(a, b)));
    }

    function testFuzz_regionLayout_aTensorInRegionRProvesAgainstTheMemoryRoot(bytes32 leaf, uint8 region) public view {
        // A one-leaf tensor at the start of region r: its leaf proof's siblings are zero hashes up
        // to height 23, then the other region roots (all zero here).
        region %= 16;
        bytes32[16] memory regions;
        for (uint256 i = 0; i < 16; i++) regions[i] = h.zeroHash(23);
        regions[region] = h.foldRegion(leaf, 0);
        bytes32 root = h.combineRegions(regions);
        bytes32[27] memory sibs;
        for (uint256 i = 0; i < 27; i++) sibs[i] = h.zeroHash(i);
        uint32 addr = uint32(region) << 28;
        assertEq(h.readLeaf(root, addr, _proof(leaf, sibs)), leaf);
    }

    // -- gas (recorded by `forge snapshot`) ------------------------------------------------------

    function test_gas_readWord() public view {
        bytes32[27] memory sibs = _sibs(1);
        bytes32 leaf = keccak256("leaf");
        uint32 addr = 0x12345678 & ~uint32(3);
        bytes memory p = _proof(leaf, sibs);
        bytes32 root = _refRoot(leaf, addr, sibs);
        h.readWord(root, addr, p);
    }

    function test_gas_writeWord() public view {
        bytes32[27] memory sibs = _sibs(2);
        bytes32 leaf = keccak256("leaf");
        uint32 addr = 0x12345678 & ~uint32(3);
        bytes memory p = _proof(leaf, sibs);
        bytes32 root = _refRoot(leaf, addr, sibs);
        h.writeWord(root, addr, p, 0xdeadbeef);
    }
}
