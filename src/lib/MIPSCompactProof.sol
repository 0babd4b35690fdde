// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MerkleMemory} from "./MerkleMemory.sol";

/// @title MIPSCompactProof
/// @notice Memory proofs with the all-zero siblings left out (docs/SPEC.md §2.8), for `stepCompact`.
/// @dev    A compact proof part is `leaf (32) ‖ mask (4, big-endian) ‖ siblings`, where bit h of
///         `mask` set means "the sibling at height h is zero[h], the root of an all-zero subtree,
///         and is not sent"; the other siblings follow bottom-up, 32 bytes each. Real programs
///         leave about 18 of the 27 siblings zero, so a part is ~300 bytes instead of 896, which is
///         what the EIP-7623 calldata floor charges for. Same tree, same roots as MerkleMemory.
library MIPSCompactProof {
    /// @notice Bytes before the siblings: the leaf and the 4-byte mask.
    uint256 internal constant HEADER_BYTES = 36;
    /// @notice Mask bits that may be set: one per tree level.
    uint32 internal constant MASK_LIMIT = uint32(1) << 27;

    /// @notice The sibling mask sets a bit above the 27 tree levels.
    /// @param mask The mask given.
    error InvalidSiblingMask(uint32 mask);

    /// @notice Size in bytes of the compact part whose header is at `offset` (header + siblings).
    /// @dev    The caller checks that the header itself is inside the proof.
    /// @param proof  The whole step proof.
    /// @param offset Where the part starts.
    /// @return size The part's length.
    function partBytes(bytes calldata proof, uint256 offset) internal pure returns (uint256 size) {
        uint32 mask = uint32(bytes4(proof[offset + 32:offset + 36]));
        if (mask >= MASK_LIMIT) revert InvalidSiblingMask(mask);
        uint256 omitted;
        for (uint32 m = mask; m != 0; m &= m - 1) omitted++;
        size = HEADER_BYTES + 32 * (27 - omitted);
    }

    /// @notice The root implied by `leaf` at `addr` with the compact part at `offset`.
    /// @dev    The part's own leaf is ignored, so one part serves a read and then a write. The
    ///         caller has checked the part's length with partBytes.
    /// @param leaf   The leaf value to place.
    /// @param addr   Any byte address inside the leaf.
    /// @param proof  The whole step proof.
    /// @param offset Where the part starts.
    /// @return root The memory root.
    function rootWithLeaf(bytes32 leaf, uint32 addr, bytes calldata proof, uint256 offset)
        internal
        pure
        returns (bytes32 root)
    {
        bytes32[27] memory zeros;
        assembly ("memory-safe") {
            // zero[h] for h = 1..26 (zero[0] is already 0): literals, cheaper than 26 keccaks.
            mstore(add(zeros, 32), 0xad3228b676f7d3cd4284a5443f17f1962b36e491b30a40b2405849e597ba5fb5)
            mstore(add(zeros, 64), 0xb4c11951957c6f8f642c4af61cd6b24640fec6dc7fc607ee8206a99e92410d30)
            mstore(add(zeros, 96), 0x21ddb9a356815c3fac1026b6dec5df3124afbadb485c9ba5a3e3398a04b7ba85)
            mstore(add(zeros, 128), 0xe58769b32a1beaf1ea27375a44095a0d1fb664ce2dd358e7fcbfb78c26a19344)
            mstore(add(zeros, 160), 0x0eb01ebfc9ed27500cd4dfc979272d1f0913cc9f66540d7e8005811109e1cf2d)
            mstore(add(zeros, 192), 0x887c22bd8750d34016ac3c66b5ff102dacdd73f6b014e710b51e8022af9a1968)
            mstore(add(zeros, 224), 0xffd70157e48063fc33c97a050f7f640233bf646cc98d9524c6b92bcf3ab56f83)
            mstore(add(zeros, 256), 0x9867cc5f7f196b93bae1e27e6320742445d290f2263827498b54fec539f756af)
            mstore(add(zeros, 288), 0xcefad4e508c098b9a7e1d8feb19955fb02ba9675585078710969d3440f5054e0)
            mstore(add(zeros, 320), 0xf9dc3e7fe016e050eff260334f18a5d4fe391d82092319f5964f2e2eb7c1c3a5)
            mstore(add(zeros, 352), 0xf8b13a49e282f609c317a833fb8d976d11517c571d1221a265d25af778ecf892)
            mstore(add(zeros, 384), 0x3490c6ceeb450aecdc82e28293031d10c7d73bf85e57bf041a97360aa2c5d99c)
            mstore(add(zeros, 416), 0xc1df82d9c4b87413eae2ef048f94b4d3554cea73d92b0f7af96e0271c691e2bb)
            mstore(add(zeros, 448), 0x5c67add7c6caf302256adedf7ab114da0acfe870d449a3a489f781d659e8becc)
            mstore(add(zeros, 480), 0xda7bce9f4e8618b6bd2f4132ce798cdc7a60e7e1460a7299e3c6342a579626d2)
            mstore(add(zeros, 512), 0x2733e50f526ec2fa19a22b31e8ed50f23cd1fdf94c9154ed3a7609a2f1ff981f)
            mstore(add(zeros, 544), 0xe1d3b5c807b281e4683cc6d6315cf95b9ade8641defcb32372f1c126e398ef7a)
            mstore(add(zeros, 576), 0x5a2dce0a8a7f68bb74560f8f71837c2c2ebbcbf7fffb42ae1896f13f7c7479a0)
            mstore(add(zeros, 608), 0xb46a28b6f55540f89444f63de0378e3d121be09e06cc9ded1c20e65876d36aa0)
            mstore(add(zeros, 640), 0xc65e9645644786b620e2dd2ad648ddfcbf4a7e5b1a3a4ecfe7f64667a3f0b7e2)
            mstore(add(zeros, 672), 0xf4418588ed35a2458cffeb39b93d26f18d2ab13bdce6aee58e7b99359ec2dfd9)
            mstore(add(zeros, 704), 0x5a9c16dc00d6ef18b7933a6f8dc65ccb55667138776f7dea101070dc8796e377)
            mstore(add(zeros, 736), 0x4df84f40ae0c8229d0d6069e5c8f39a7c299677a09d367fc7b05e3bc380ee652)
            mstore(add(zeros, 768), 0xcdc72595f74c7b1043d0e1ffbab734648c838dfb0527d971b602bc216c9619ef)
            mstore(add(zeros, 800), 0x0abf5ac974a1ed57f4050aa510dd9c74f508277b39d7973bb2dfccc5eeb0618d)
            mstore(add(zeros, 832), 0xb8cd74046ff337f0a7bf2c8e03e10f642c1886798d71806ab1e888d9e5ee87d0)
        }
        assembly ("memory-safe") {
            // Walk up as MerkleMemory.rootWithLeaf does, taking each sibling either from the zero
            // table (mask bit set) or as the next 32 bytes of calldata.
            let index := shr(5, addr)
            let node := leaf
            let base := add(proof.offset, offset)
            let mask := shr(224, calldataload(add(base, 32)))
            let sib := add(base, 36)
            for { let i := 0 } lt(i, 27) { i := add(i, 1) } {
                let s := 0
                switch and(shr(i, mask), 1)
                case 1 { s := mload(add(zeros, shl(5, i))) }
                default {
                    s := calldataload(sib)
                    sib := add(sib, 32)
                }
                let bit := and(shr(i, index), 1)
                mstore(shl(5, bit), node)
                mstore(shl(5, xor(bit, 1)), s)
                node := keccak256(0, 64)
            }
            root := node
        }
    }

    /// @notice The big-endian word at the 4-aligned `addr`, proven against `root` by a compact part.
    /// @param root   The memory root.
    /// @param addr   A 4-aligned byte address.
    /// @param proof  The whole step proof.
    /// @param offset Where the part starts (its length already checked).
    /// @return word The proven word.
    function readWord(bytes32 root, uint32 addr, bytes calldata proof, uint256 offset)
        internal
        pure
        returns (uint32 word)
    {
        bytes32 leaf = bytes32(proof[offset:offset + 32]);
        if (rootWithLeaf(leaf, addr, proof, offset) != root) revert MerkleMemory.InvalidMemoryProof(addr);
        // forge-lint: disable-next-line(unsafe-typecast)
        word = uint32(uint256(leaf) >> ((28 - (addr & 31)) << 3));
    }
}
