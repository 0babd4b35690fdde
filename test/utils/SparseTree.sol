// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title SparseTree
/// @notice A slow, obviously-correct Merkle tree of a handful of set leaves for tests, written from
///         docs/SPEC.md §1 and §6.1 independently of src/lib/MerklePath.sol: leaves raw, inner nodes
///         keccak256(left ‖ right), every unset subtree the zero root of its height. It computes
///         roots of any depth up to 32 (the phase-2 accumulator S_i, a prompt tree) and compact
///         paths (mask of zero siblings, then the other siblings bottom-up).
library SparseTree {
    /// @notice zero[h], the root of an all-zero subtree of height h.
    function zero(uint256 height) internal pure returns (bytes32 z) {
        for (uint256 i = 0; i < height; i++) {
            z = keccak256(abi.encodePacked(z, z));
        }
    }

    /// @notice The node at `height` and position `pos` of the tree whose leaf `indices[k]` is
    ///         `values[k]` (every other leaf zero). Recurses only into subtrees holding a set leaf.
    function node(uint256[] memory indices, bytes32[] memory values, uint256 height, uint256 pos)
        internal
        pure
        returns (bytes32)
    {
        bool any;
        for (uint256 k = 0; k < indices.length; k++) {
            if (indices[k] >> height == pos) {
                if (height == 0) return values[k];
                any = true;
            }
        }
        if (!any) return zero(height);
        return keccak256(
            abi.encodePacked(
                node(indices, values, height - 1, 2 * pos), node(indices, values, height - 1, 2 * pos + 1)
            )
        );
    }

    /// @notice The root of a tree of `depth` levels.
    function root(uint256[] memory indices, bytes32[] memory values, uint256 depth) internal pure returns (bytes32) {
        return node(indices, values, depth, 0);
    }

    /// @notice The compact path (§6.1) of leaf `index` in a tree of `depth` levels. The leaf's own
    ///         value does not enter its path, so the same path proves any value at `index`.
    function path(uint256[] memory indices, bytes32[] memory values, uint256 index, uint256 depth)
        internal
        pure
        returns (bytes memory p)
    {
        uint32 mask;
        bytes memory siblings;
        for (uint256 h = 0; h < depth; h++) {
            bytes32 sib = node(indices, values, h, (index >> h) ^ 1);
            if (sib == zero(h)) {
                mask |= uint32(1 << h);
            } else {
                siblings = bytes.concat(siblings, sib);
            }
        }
        p = bytes.concat(bytes4(mask), siblings);
    }

    /// @notice The phase-2 accumulator S_i (§5.2): leaves 0 … i − 1 are `outputs`, depth 32.
    function accumulator(bytes32[] memory outputs) internal pure returns (bytes32) {
        return root(_firstIndices(outputs.length), outputs, 32);
    }

    /// @notice The depth-32 path of leaf `index` in the accumulator over `outputs`.
    function accumulatorPath(bytes32[] memory outputs, uint256 index) internal pure returns (bytes memory) {
        return path(_firstIndices(outputs.length), outputs, index, 32);
    }

    /// @notice 0, 1, …, n − 1.
    function _firstIndices(uint256 n) private pure returns (uint256[] memory indices) {
        indices = new uint256[](n);
        for (uint256 k = 0; k < n; k++) {
            indices[k] = k;
        }
    }
}
