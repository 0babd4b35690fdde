// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title MerkleMemory
/// @notice The 4 GiB VM memory as a binary Merkle tree of depth 27 over raw 32-byte leaves, and
///         the tensor/region layout on top of it (docs/SPEC.md, "Merkle memory").
/// @dev    Leaves are not hashed; an inner node is keccak256(left ‖ right); words are big-endian.
///         A proof is 28 × 32 bytes: the leaf, then its 27 sibling hashes from the bottom up.
///         Every function is internal so callers inline it; the hot path (proof checking) is in
///         assembly because it runs in every MIPS step.
library MerkleMemory {
    /// @notice Bytes per leaf.
    uint256 internal constant LEAF_BYTES = 32;
    /// @notice Height of the memory tree: 2^27 leaves × 32 bytes = 2^32 bytes.
    uint256 internal constant MEMORY_DEPTH = 27;
    /// @notice Bytes in one memory proof: the leaf and MEMORY_DEPTH siblings.
    uint256 internal constant PROOF_BYTES = 896;
    /// @notice Height of one 256 MiB region subtree.
    uint256 internal constant REGION_HEIGHT = 23;
    /// @notice Levels above the regions; 2^REGION_LEVELS regions.
    uint256 internal constant REGION_LEVELS = 4;
    /// @notice Number of regions.
    uint256 internal constant REGION_COUNT = 16;

    /// @notice The proof's leaf and siblings do not hash to the expected root.
    /// @param addr The byte address the proof was for.
    error InvalidMemoryProof(uint32 addr);
    /// @notice A proof was not exactly PROOF_BYTES long.
    /// @param length The length given.
    error MemoryProofLength(uint256 length);
    /// @notice A word access at an address that is not 4-byte aligned.
    /// @param addr The address given.
    error UnalignedAddress(uint32 addr);
    /// @notice A subtree height outside the range an operation accepts.
    /// @param height The height given.
    error HeightOutOfRange(uint256 height);
    /// @notice A tensor too large for one region.
    /// @param length The tensor's byte length.
    error TensorTooLarge(uint256 length);

    /// @notice The root implied by `leaf` sitting at `addr` with the siblings of `proof`.
    /// @dev    The leaf inside `proof` is ignored, so the same siblings serve a read and a write.
    /// @param leaf  The 32-byte leaf value to place.
    /// @param addr  Any byte address inside the leaf.
    /// @param proof A PROOF_BYTES proof (length checked by the caller).
    /// @return root The memory root.
    function rootWithLeaf(bytes32 leaf, uint32 addr, bytes calldata proof) internal pure returns (bytes32 root) {
        assembly ("memory-safe") {
            // Walk up the path. At level i the bit i of the leaf index says whether we are the
            // right child: write ourselves at scratch offset 32*bit and the sibling at the other
            // half, so the pair lands in order without a branch.
            let index := shr(5, addr)
            let node := leaf
            let sib := add(proof.offset, 32)
            for { let i := 0 } lt(i, 27) { i := add(i, 1) } {
                let bit := and(shr(i, index), 1)
                mstore(shl(5, bit), node)
                mstore(shl(5, xor(bit, 1)), calldataload(add(sib, shl(5, i))))
                node := keccak256(0, 64)
            }
            root := node
        }
    }

    /// @notice The 32-byte leaf holding `addr`, proven against `root`.
    /// @param root  The memory root.
    /// @param addr  Any byte address inside the leaf.
    /// @param proof The PROOF_BYTES proof.
    /// @return leaf The proven leaf.
    function readLeaf(bytes32 root, uint32 addr, bytes calldata proof) internal pure returns (bytes32 leaf) {
        if (proof.length != PROOF_BYTES) revert MemoryProofLength(proof.length);
        leaf = bytes32(proof[0:32]);
        if (rootWithLeaf(leaf, addr, proof) != root) revert InvalidMemoryProof(addr);
    }

    /// @notice The big-endian u32 at the 4-aligned `addr`, proven against `root`.
    /// @param root  The memory root.
    /// @param addr  A 4-aligned byte address.
    /// @param proof The PROOF_BYTES proof of the leaf holding `addr`.
    /// @return word The proven word.
    function readWord(bytes32 root, uint32 addr, bytes calldata proof) internal pure returns (uint32 word) {
        if (addr & 3 != 0) revert UnalignedAddress(addr);
        bytes32 leaf = readLeaf(root, addr, proof);
        // Byte offset o within the leaf puts the word at bits [8*(28-o), 8*(32-o)).
        word = uint32(uint256(leaf) >> ((28 - (addr & 31)) << 3));
    }

    /// @notice The new root after storing `value` at the 4-aligned `addr`; the proof is checked first.
    /// @param root  The memory root before the write.
    /// @param addr  A 4-aligned byte address.
    /// @param proof The PROOF_BYTES proof of the leaf holding `addr` against `root`.
    /// @param value The word to store.
    /// @return newRoot The memory root after the write.
    function writeWord(bytes32 root, uint32 addr, bytes calldata proof, uint32 value)
        internal
        pure
        returns (bytes32 newRoot)
    {
        if (addr & 3 != 0) revert UnalignedAddress(addr);
        uint256 leaf = uint256(readLeaf(root, addr, proof));
        uint256 shift = (28 - (addr & 31)) << 3;
        leaf = (leaf & ~(uint256(0xffffffff) << shift)) | (uint256(value) << shift);
        newRoot = rootWithLeaf(bytes32(leaf), addr, proof);
    }

    /// @notice The new root after replacing the whole leaf holding `addr`; the proof is checked first.
    /// @param root    The memory root before the write.
    /// @param addr    Any byte address inside the leaf.
    /// @param proof   The PROOF_BYTES proof of that leaf against `root`.
    /// @param newLeaf The new 32-byte leaf.
    /// @return newRoot The memory root after the write.
    function writeLeaf(bytes32 root, uint32 addr, bytes calldata proof, bytes32 newLeaf)
        internal
        pure
        returns (bytes32 newRoot)
    {
        readLeaf(root, addr, proof);
        newRoot = rootWithLeaf(newLeaf, addr, proof);
    }

    /// @notice Root of an all-zero subtree of `height` levels (0 is a zero leaf).
    /// @param height 0..MEMORY_DEPTH.
    /// @return z The zero-subtree root.
    function zeroHash(uint256 height) internal pure returns (bytes32 z) {
        if (height > MEMORY_DEPTH) revert HeightOutOfRange(height);
        assembly ("memory-safe") {
            // Hash the zero pair up `height` times in scratch space; at most 27 keccaks.
            z := 0
            for { let i := 0 } lt(i, height) { i := add(i, 1) } {
                mstore(0, z)
                mstore(32, z)
                z := keccak256(0, 64)
            }
        }
    }

    /// @notice Height k of the smallest 2^k-leaf tree that holds `length` bytes (at least one leaf).
    /// @param length A byte length.
    /// @return height The tensor height.
    function tensorHeight(uint256 length) internal pure returns (uint256 height) {
        uint256 leaves = length == 0 ? 1 : (length + 31) >> 5;
        while ((uint256(1) << height) < leaves) height++;
    }

    /// @notice Root of `data` zero-padded to 2^k leaves, with k = tensorHeight(data.length).
    /// @param data The tensor's canonical bytes.
    /// @return root   The tensor root.
    /// @return height Its height k.
    function tensorRoot(bytes memory data) internal pure returns (bytes32 root, uint256 height) {
        height = tensorHeight(data.length);
        if (height > REGION_HEIGHT) revert TensorTooLarge(data.length);
        uint256 n = uint256(1) << height;
        bytes memory buf = new bytes(n << 5); // zero-filled, so the tail is the padding
        assembly ("memory-safe") {
            // Copy data into the padded buffer, then hash level by level in place: node j of the
            // next level overwrites slot j, which the current level has already consumed.
            let src := add(data, 32)
            let dst := add(buf, 32)
            let len := mload(data)
            for { let o := 0 } lt(o, len) { o := add(o, 32) } { mstore(add(dst, o), mload(add(src, o))) }
            // The last copied word may carry bytes past `len`; clear them.
            let tail := and(len, 31)
            if tail {
                let lastWord := add(dst, sub(len, tail))
                mstore(lastWord, and(mload(lastWord), not(shr(shl(3, tail), not(0)))))
            }
            for {} gt(n, 1) { n := shr(1, n) } {
                for { let j := 0 } lt(j, shr(1, n)) { j := add(j, 1) } {
                    mstore(add(dst, shl(5, j)), keccak256(add(dst, shl(6, j)), 64))
                }
            }
            root := mload(dst)
        }
    }

    /// @notice Root of a region whose first 2^height leaves have root `root` and the rest are zero.
    /// @param root   The subtree root (e.g. a tensor root) at the region's start.
    /// @param height Its height, 0..REGION_HEIGHT.
    /// @return regionRoot The region root.
    function foldRegion(bytes32 root, uint256 height) internal pure returns (bytes32 regionRoot) {
        if (height > REGION_HEIGHT) revert HeightOutOfRange(height);
        bytes32 z = zeroHash(height);
        assembly ("memory-safe") {
            // Climb to height 23, pairing with the zero subtree of each level, which is itself
            // advanced one level per iteration.
            regionRoot := root
            for { let h := height } lt(h, 23) { h := add(h, 1) } {
                mstore(0, regionRoot)
                mstore(32, z)
                regionRoot := keccak256(0, 64)
                mstore(0, z)
                z := keccak256(0, 64)
            }
        }
    }

    /// @notice Memory root from the 16 region roots, region 0 first.
    /// @param regions The region roots.
    /// @return root The memory root.
    function combineRegions(bytes32[16] memory regions) internal pure returns (bytes32 root) {
        bytes32[16] memory level;
        // Copy first: never mutate the caller's array.
        for (uint256 i = 0; i < REGION_COUNT; i++) {
            level[i] = regions[i];
        }
        for (uint256 n = REGION_COUNT; n > 1; n >>= 1) {
            for (uint256 j = 0; j < n >> 1; j++) {
                level[j] = keccak256(abi.encodePacked(level[2 * j], level[2 * j + 1]));
            }
        }
        root = level[0];
    }
}
