// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MerkleMemory} from "../../src/lib/MerkleMemory.sol";

/// @title MerkleMemoryHarness
/// @notice Exposes the internal MerkleMemory library as external calls, for forge tests and for the
///         Python differential tests that deploy it on anvil.
contract MerkleMemoryHarness {
    /// @notice See MerkleMemory.readLeaf.
    function readLeaf(bytes32 root, uint32 addr, bytes calldata proof) external pure returns (bytes32) {
        return MerkleMemory.readLeaf(root, addr, proof);
    }

    /// @notice See MerkleMemory.readWord.
    function readWord(bytes32 root, uint32 addr, bytes calldata proof) external pure returns (uint32) {
        return MerkleMemory.readWord(root, addr, proof);
    }

    /// @notice See MerkleMemory.writeWord.
    function writeWord(bytes32 root, uint32 addr, bytes calldata proof, uint32 value) external pure returns (bytes32) {
        return MerkleMemory.writeWord(root, addr, proof, value);
    }

    /// @notice See MerkleMemory.writeLeaf.
    function writeLeaf(bytes32 root, uint32 addr, bytes calldata proof, bytes32 leaf) external pure returns (bytes32) {
        return MerkleMemory.writeLeaf(root, addr, proof, leaf);
    }

    /// @notice See MerkleMemory.zeroHash.
    function zeroHash(uint256 height) external pure returns (bytes32) {
        return MerkleMemory.zeroHash(height);
    }

    /// @notice See MerkleMemory.tensorRoot.
    function tensorRoot(bytes calldata data) external pure returns (bytes32 root, uint256 height) {
        return MerkleMemory.tensorRoot(data);
    }

    /// @notice See MerkleMemory.foldRegion.
    function foldRegion(bytes32 root, uint256 height) external pure returns (bytes32) {
        return MerkleMemory.foldRegion(root, height);
    }

    /// @notice See MerkleMemory.combineRegions.
    function combineRegions(bytes32[16] calldata regions) external pure returns (bytes32) {
        return MerkleMemory.combineRegions(regions);
    }
}
