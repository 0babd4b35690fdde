// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title MerklePath
/// @notice Compact Merkle paths (docs/SPEC.md §6.1): a 4-byte big-endian mask, then the siblings
///         that are not all-zero subtree roots, bottom-up. Bit h of the mask set means the
///         sibling at height h is zero[h] and is left out of the calldata.
/// @dev    The tree's depth and the leaf's index are always the caller's (the contract's) own
///         derivation, never read from the path, so a path can only ever be checked against the
///         position the game expects. Leaves are raw 32-byte values; inner nodes keccak256(l ‖ r).
library MerklePath {
    /// @notice Deepest tree a path may describe (the phase-2 accumulator).
    uint256 internal constant MAX_DEPTH = 32;

    /// @notice The path's siblings do not exactly fill the depth the mask leaves to them.
    /// @param expected The byte length this depth and mask require.
    /// @param actual   The byte length given.
    error InvalidPathLength(uint256 expected, uint256 actual);
    /// @notice The mask marks a sibling at or above the tree's depth.
    /// @param mask The mask given.
    error InvalidSiblingMask(uint32 mask);
    /// @notice The index does not fit the tree's depth.
    /// @param index The index.
    /// @param depth The tree's depth.
    error IndexOutOfRange(uint256 index, uint256 depth);

    /// @notice The root implied by `leaf` at `index` in a tree of `depth` levels.
    /// @param leaf  The leaf value.
    /// @param index The leaf's index (derived by the caller).
    /// @param depth The tree's depth, 0..MAX_DEPTH (derived by the caller).
    /// @param path  The compact path.
    /// @return node The root.
    function root(bytes32 leaf, uint256 index, uint256 depth, bytes calldata path)
        internal
        pure
        returns (bytes32 node)
    {
        if (depth > MAX_DEPTH || index >> depth != 0) revert IndexOutOfRange(index, depth);
        if (path.length < 4) revert InvalidPathLength(4, path.length);
        uint32 mask = uint32(bytes4(path[0:4]));
        if (depth < 32 && mask >> depth != 0) revert InvalidSiblingMask(mask);
        uint256 present = depth;
        // Count the masked siblings: clear the lowest set bit each turn.
        for (uint32 m = mask; m != 0; m &= m - 1) {
            present--;
        }
        if (path.length != 4 + 32 * present) revert InvalidPathLength(4 + 32 * present, path.length);
        assembly ("memory-safe") {
            // Walk up: bit h of index says whether the path node is a right child. The zero
            // subtree root z advances one level per iteration alongside, for masked siblings.
            node := leaf
            let z := 0
            let p := add(path.offset, 4)
            for { let h := 0 } lt(h, depth) { h := add(h, 1) } {
                let sib := z
                if iszero(and(shr(h, mask), 1)) {
                    sib := calldataload(p)
                    p := add(p, 32)
                }
                let bit := and(shr(h, index), 1)
                mstore(shl(5, bit), node)
                mstore(shl(5, xor(bit, 1)), sib)
                node := keccak256(0, 64)
                mstore(0, z)
                mstore(32, z)
                z := keccak256(0, 64)
            }
        }
    }

    /// @notice Whether `path` proves `leaf` at `index` under `expectedRoot`.
    /// @param expectedRoot The committed root.
    /// @param leaf         The leaf value.
    /// @param index        The leaf's index.
    /// @param depth        The tree's depth.
    /// @param path         The compact path.
    /// @return ok True iff the path hashes to `expectedRoot`.
    function verify(bytes32 expectedRoot, bytes32 leaf, uint256 index, uint256 depth, bytes calldata path)
        internal
        pure
        returns (bool ok)
    {
        ok = root(leaf, index, depth, path) == expectedRoot;
    }

    /// @notice ⌈log2 n⌉ for n ≥ 1: the depth of a tree of n leaves padded to a power of two.
    /// @param n The leaf count.
    /// @return d The depth.
    function depthFor(uint256 n) internal pure returns (uint256 d) {
        while ((uint256(1) << d) < n) d++;
    }

    /// @notice zero[h], the root of an all-zero subtree of height h (up to MAX_DEPTH).
    /// @param height The height.
    /// @return z The root.
    function zero(uint256 height) internal pure returns (bytes32 z) {
        if (height > MAX_DEPTH) revert IndexOutOfRange(0, height);
        assembly ("memory-safe") {
            // Hash the zero pair up `height` times in scratch space.
            for { let i := 0 } lt(i, height) { i := add(i, 1) } {
                mstore(0, z)
                mstore(32, z)
                z := keccak256(0, 64)
            }
        }
    }
}
