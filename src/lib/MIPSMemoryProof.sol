// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MerkleMemory} from "./MerkleMemory.sol";

/// @title MIPSMemoryProof
/// @notice Memory-proof walks for MIPS.sol beyond MerkleMemory's: compact proofs (docs/SPEC.md
///         §2.8) and a one-pass verify-and-update for stores, for both proof layouts.
/// @dev    A proof *part* starts with its 32-byte leaf. Full layout (SPEC §1): leaf ‖ 27 siblings
///         (896 bytes). Compact layout: leaf ‖ mask (4 bytes, big-endian) ‖ siblings, where bit h
///         of mask set means "the sibling at height h is zero[h] and is not sent"; the others
///         follow bottom-up. Real programs leave ~18 of 27 siblings zero, so a compact part is
///         ~330 bytes, and calldata is what the EIP-7623 floor charges for. The tree and roots are
///         MerkleMemory's. Callers check a part's length (partBytes) before walking it.
library MIPSMemoryProof {
    /// @notice Bytes before the siblings in a compact part: the leaf and the 4-byte mask.
    uint256 internal constant COMPACT_HEADER_BYTES = 36;
    /// @notice Mask values must be below this: one bit per tree level.
    uint32 internal constant MASK_LIMIT = uint32(1) << 27;

    /// @notice The sibling mask sets a bit above the 27 tree levels.
    /// @param mask The mask given.
    error InvalidSiblingMask(uint32 mask);

    /// @notice Size in bytes of the compact part at `offset` (header + siblings).
    /// @dev    The caller has checked that the 36-byte header is inside `proof`.
    /// @param proof  The whole step proof.
    /// @param offset Where the part starts.
    /// @return size The part's length.
    function partBytes(bytes calldata proof, uint256 offset) internal pure returns (uint256 size) {
        uint256 mask;
        assembly ("memory-safe") {
            mask := shr(224, calldataload(add(proof.offset, add(offset, 32))))
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        if (mask >= MASK_LIMIT) revert InvalidSiblingMask(uint32(mask));
        assembly ("memory-safe") {
            // SWAR popcount of the 27-bit mask: the number of siblings left out.
            let x := sub(mask, and(shr(1, mask), 0x55555555))
            x := add(and(x, 0x33333333), and(shr(2, x), 0x33333333))
            x := and(add(x, shr(4, x)), 0x0F0F0F0F)
            let omitted := and(shr(24, mul(x, 0x01010101)), 0xFF)
            size := add(36, shl(5, sub(27, omitted)))
        }
    }

    /// @notice Where the siblings of the part at `offset` start, and its mask (0 for a full part).
    /// @param proof   The whole step proof.
    /// @param offset  Where the part starts.
    /// @param compact Whether the part is compact.
    /// @return sib  Absolute calldata offset of the first sibling sent.
    /// @return mask The omitted-sibling mask.
    function _siblings(bytes calldata proof, uint256 offset, bool compact)
        private
        pure
        returns (uint256 sib, uint256 mask)
    {
        assembly ("memory-safe") {
            let base := add(proof.offset, offset)
            switch compact
            case 0 { sib := add(base, 32) }
            default {
                mask := shr(224, calldataload(add(base, 32)))
                sib := add(base, 36)
            }
        }
    }

    /// @notice The root implied by `leaf` at `addr` with the siblings of the part at `offset`.
    /// @dev    The part's own leaf is ignored.
    /// @param leaf    The leaf value to place.
    /// @param addr    Any byte address inside the leaf.
    /// @param proof   The whole step proof.
    /// @param offset  Where the part starts (length already checked).
    /// @param compact Whether the part is compact.
    /// @return root The memory root.
    function rootWithLeaf(bytes32 leaf, uint32 addr, bytes calldata proof, uint256 offset, bool compact)
        internal
        pure
        returns (bytes32 root)
    {
        (uint256 sib, uint256 mask) = _siblings(proof, offset, compact);
        assembly ("memory-safe") {
            // Walk up, unrolled: at height h the sibling is the literal zero[h] if mask bit h is
            // set, else the next calldata word; bit h of the leaf index puts the node on the left
            // (0) or the right (1). Unrolling saves the loop counter and the zero-hash table.
            let index := shr(5, addr)
            let node := leaf
            let s := 0
            // height 0
            s := 0
            if iszero(and(mask, 0x1)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x1)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 1
            s := 0xad3228b676f7d3cd4284a5443f17f1962b36e491b30a40b2405849e597ba5fb5
            if iszero(and(mask, 0x2)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x2)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 2
            s := 0xb4c11951957c6f8f642c4af61cd6b24640fec6dc7fc607ee8206a99e92410d30
            if iszero(and(mask, 0x4)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x4)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 3
            s := 0x21ddb9a356815c3fac1026b6dec5df3124afbadb485c9ba5a3e3398a04b7ba85
            if iszero(and(mask, 0x8)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x8)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 4
            s := 0xe58769b32a1beaf1ea27375a44095a0d1fb664ce2dd358e7fcbfb78c26a19344
            if iszero(and(mask, 0x10)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x10)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 5
            s := 0x0eb01ebfc9ed27500cd4dfc979272d1f0913cc9f66540d7e8005811109e1cf2d
            if iszero(and(mask, 0x20)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x20)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 6
            s := 0x887c22bd8750d34016ac3c66b5ff102dacdd73f6b014e710b51e8022af9a1968
            if iszero(and(mask, 0x40)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x40)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 7
            s := 0xffd70157e48063fc33c97a050f7f640233bf646cc98d9524c6b92bcf3ab56f83
            if iszero(and(mask, 0x80)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x80)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 8
            s := 0x9867cc5f7f196b93bae1e27e6320742445d290f2263827498b54fec539f756af
            if iszero(and(mask, 0x100)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x100)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 9
            s := 0xcefad4e508c098b9a7e1d8feb19955fb02ba9675585078710969d3440f5054e0
            if iszero(and(mask, 0x200)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x200)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 10
            s := 0xf9dc3e7fe016e050eff260334f18a5d4fe391d82092319f5964f2e2eb7c1c3a5
            if iszero(and(mask, 0x400)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x400)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 11
            s := 0xf8b13a49e282f609c317a833fb8d976d11517c571d1221a265d25af778ecf892
            if iszero(and(mask, 0x800)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x800)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 12
            s := 0x3490c6ceeb450aecdc82e28293031d10c7d73bf85e57bf041a97360aa2c5d99c
            if iszero(and(mask, 0x1000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x1000)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 13
            s := 0xc1df82d9c4b87413eae2ef048f94b4d3554cea73d92b0f7af96e0271c691e2bb
            if iszero(and(mask, 0x2000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x2000)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 14
            s := 0x5c67add7c6caf302256adedf7ab114da0acfe870d449a3a489f781d659e8becc
            if iszero(and(mask, 0x4000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x4000)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 15
            s := 0xda7bce9f4e8618b6bd2f4132ce798cdc7a60e7e1460a7299e3c6342a579626d2
            if iszero(and(mask, 0x8000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x8000)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 16
            s := 0x2733e50f526ec2fa19a22b31e8ed50f23cd1fdf94c9154ed3a7609a2f1ff981f
            if iszero(and(mask, 0x10000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x10000)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 17
            s := 0xe1d3b5c807b281e4683cc6d6315cf95b9ade8641defcb32372f1c126e398ef7a
            if iszero(and(mask, 0x20000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x20000)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 18
            s := 0x5a2dce0a8a7f68bb74560f8f71837c2c2ebbcbf7fffb42ae1896f13f7c7479a0
            if iszero(and(mask, 0x40000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x40000)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 19
            s := 0xb46a28b6f55540f89444f63de0378e3d121be09e06cc9ded1c20e65876d36aa0
            if iszero(and(mask, 0x80000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x80000)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 20
            s := 0xc65e9645644786b620e2dd2ad648ddfcbf4a7e5b1a3a4ecfe7f64667a3f0b7e2
            if iszero(and(mask, 0x100000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x100000)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 21
            s := 0xf4418588ed35a2458cffeb39b93d26f18d2ab13bdce6aee58e7b99359ec2dfd9
            if iszero(and(mask, 0x200000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x200000)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 22
            s := 0x5a9c16dc00d6ef18b7933a6f8dc65ccb55667138776f7dea101070dc8796e377
            if iszero(and(mask, 0x400000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x400000)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 23
            s := 0x4df84f40ae0c8229d0d6069e5c8f39a7c299677a09d367fc7b05e3bc380ee652
            if iszero(and(mask, 0x800000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x800000)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 24
            s := 0xcdc72595f74c7b1043d0e1ffbab734648c838dfb0527d971b602bc216c9619ef
            if iszero(and(mask, 0x1000000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x1000000)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 25
            s := 0x0abf5ac974a1ed57f4050aa510dd9c74f508277b39d7973bb2dfccc5eeb0618d
            if iszero(and(mask, 0x2000000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x2000000)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            // height 26
            s := 0xb8cd74046ff337f0a7bf2c8e03e10f642c1886798d71806ab1e888d9e5ee87d0
            if iszero(and(mask, 0x4000000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x4000000)
            case 0 {
                mstore(0, node)
                mstore(32, s)
            }
            default {
                mstore(0, s)
                mstore(32, node)
            }
            node := keccak256(0, 64)
            root := node
        }
    }

    /// @notice The word at the 4-aligned `addr`, proven against `root` by the compact part at `offset`.
    /// @param root   The memory root.
    /// @param addr   A 4-aligned byte address.
    /// @param proof  The whole step proof.
    /// @param offset Where the part starts (length already checked).
    /// @return word The proven word.
    function readWordCompact(bytes32 root, uint32 addr, bytes calldata proof, uint256 offset)
        internal
        pure
        returns (uint32 word)
    {
        bytes32 leaf = bytes32(proof[offset:offset + 32]);
        if (rootWithLeaf(leaf, addr, proof, offset, true) != root) revert MerkleMemory.InvalidMemoryProof(addr);
        // forge-lint: disable-next-line(unsafe-typecast)
        word = uint32(uint256(leaf) >> ((28 - (addr & 31)) << 3));
    }

    /// @notice Verify the part's leaf against `root` and return the root with `newLeaf` in its
    ///         place, in one walk up the tree (two hashes per level, one sibling read).
    /// @param root    The memory root before the write.
    /// @param addr    Any byte address inside the leaf (reported on a bad proof).
    /// @param proof   The whole step proof.
    /// @param offset  Where the part starts (length already checked).
    /// @param compact Whether the part is compact.
    /// @param newLeaf The leaf after the write.
    /// @return newRoot The memory root after the write.
    function update(bytes32 root, uint32 addr, bytes calldata proof, uint256 offset, bool compact, bytes32 newLeaf)
        internal
        pure
        returns (bytes32 newRoot)
    {
        (uint256 sib, uint256 mask) = _siblings(proof, offset, compact);
        bytes32 oldRoot;
        assembly ("memory-safe") {
            // As rootWithLeaf, carrying the old and the new node up together: the old pair is
            // hashed in scratch [0, 64), the new one in the two words past the free memory pointer.
            let scratch := mload(0x40)
            let index := shr(5, addr)
            let oldNode := calldataload(add(proof.offset, offset))
            let newNode := newLeaf
            let s := 0
            // height 0
            s := 0
            if iszero(and(mask, 0x1)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x1)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 1
            s := 0xad3228b676f7d3cd4284a5443f17f1962b36e491b30a40b2405849e597ba5fb5
            if iszero(and(mask, 0x2)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x2)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 2
            s := 0xb4c11951957c6f8f642c4af61cd6b24640fec6dc7fc607ee8206a99e92410d30
            if iszero(and(mask, 0x4)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x4)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 3
            s := 0x21ddb9a356815c3fac1026b6dec5df3124afbadb485c9ba5a3e3398a04b7ba85
            if iszero(and(mask, 0x8)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x8)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 4
            s := 0xe58769b32a1beaf1ea27375a44095a0d1fb664ce2dd358e7fcbfb78c26a19344
            if iszero(and(mask, 0x10)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x10)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 5
            s := 0x0eb01ebfc9ed27500cd4dfc979272d1f0913cc9f66540d7e8005811109e1cf2d
            if iszero(and(mask, 0x20)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x20)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 6
            s := 0x887c22bd8750d34016ac3c66b5ff102dacdd73f6b014e710b51e8022af9a1968
            if iszero(and(mask, 0x40)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x40)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 7
            s := 0xffd70157e48063fc33c97a050f7f640233bf646cc98d9524c6b92bcf3ab56f83
            if iszero(and(mask, 0x80)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x80)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 8
            s := 0x9867cc5f7f196b93bae1e27e6320742445d290f2263827498b54fec539f756af
            if iszero(and(mask, 0x100)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x100)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 9
            s := 0xcefad4e508c098b9a7e1d8feb19955fb02ba9675585078710969d3440f5054e0
            if iszero(and(mask, 0x200)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x200)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 10
            s := 0xf9dc3e7fe016e050eff260334f18a5d4fe391d82092319f5964f2e2eb7c1c3a5
            if iszero(and(mask, 0x400)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x400)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 11
            s := 0xf8b13a49e282f609c317a833fb8d976d11517c571d1221a265d25af778ecf892
            if iszero(and(mask, 0x800)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x800)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 12
            s := 0x3490c6ceeb450aecdc82e28293031d10c7d73bf85e57bf041a97360aa2c5d99c
            if iszero(and(mask, 0x1000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x1000)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 13
            s := 0xc1df82d9c4b87413eae2ef048f94b4d3554cea73d92b0f7af96e0271c691e2bb
            if iszero(and(mask, 0x2000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x2000)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 14
            s := 0x5c67add7c6caf302256adedf7ab114da0acfe870d449a3a489f781d659e8becc
            if iszero(and(mask, 0x4000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x4000)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 15
            s := 0xda7bce9f4e8618b6bd2f4132ce798cdc7a60e7e1460a7299e3c6342a579626d2
            if iszero(and(mask, 0x8000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x8000)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 16
            s := 0x2733e50f526ec2fa19a22b31e8ed50f23cd1fdf94c9154ed3a7609a2f1ff981f
            if iszero(and(mask, 0x10000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x10000)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 17
            s := 0xe1d3b5c807b281e4683cc6d6315cf95b9ade8641defcb32372f1c126e398ef7a
            if iszero(and(mask, 0x20000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x20000)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 18
            s := 0x5a2dce0a8a7f68bb74560f8f71837c2c2ebbcbf7fffb42ae1896f13f7c7479a0
            if iszero(and(mask, 0x40000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x40000)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 19
            s := 0xb46a28b6f55540f89444f63de0378e3d121be09e06cc9ded1c20e65876d36aa0
            if iszero(and(mask, 0x80000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x80000)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 20
            s := 0xc65e9645644786b620e2dd2ad648ddfcbf4a7e5b1a3a4ecfe7f64667a3f0b7e2
            if iszero(and(mask, 0x100000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x100000)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 21
            s := 0xf4418588ed35a2458cffeb39b93d26f18d2ab13bdce6aee58e7b99359ec2dfd9
            if iszero(and(mask, 0x200000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x200000)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 22
            s := 0x5a9c16dc00d6ef18b7933a6f8dc65ccb55667138776f7dea101070dc8796e377
            if iszero(and(mask, 0x400000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x400000)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 23
            s := 0x4df84f40ae0c8229d0d6069e5c8f39a7c299677a09d367fc7b05e3bc380ee652
            if iszero(and(mask, 0x800000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x800000)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 24
            s := 0xcdc72595f74c7b1043d0e1ffbab734648c838dfb0527d971b602bc216c9619ef
            if iszero(and(mask, 0x1000000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x1000000)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 25
            s := 0x0abf5ac974a1ed57f4050aa510dd9c74f508277b39d7973bb2dfccc5eeb0618d
            if iszero(and(mask, 0x2000000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x2000000)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            // height 26
            s := 0xb8cd74046ff337f0a7bf2c8e03e10f642c1886798d71806ab1e888d9e5ee87d0
            if iszero(and(mask, 0x4000000)) {
                s := calldataload(sib)
                sib := add(sib, 32)
            }
            switch and(index, 0x4000000)
            case 0 {
                mstore(0, oldNode)
                mstore(32, s)
                mstore(scratch, newNode)
                mstore(add(scratch, 32), s)
            }
            default {
                mstore(0, s)
                mstore(32, oldNode)
                mstore(scratch, s)
                mstore(add(scratch, 32), newNode)
            }
            oldNode := keccak256(0, 64)
            newNode := keccak256(scratch, 64)
            oldRoot := oldNode
            newRoot := newNode
        }
        if (oldRoot != root) revert MerkleMemory.InvalidMemoryProof(addr);
    }
}
