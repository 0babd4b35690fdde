// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DisputeGame} from "../../src/DisputeGame.sol";
import {MIPS} from "../../src/MIPS.sol";
import {NodeLink} from "../../src/NodeLink.sol";
import {ITaskGame} from "../../src/lib/ITaskGame.sol";

/// @title GameHarness
/// @notice DisputeGame plus one test-only door: put a live game straight into level 1 (the MIPS
///         steps of one node) as a proven transition would, so the steps bisection and `step`
///         can be specified without real model data. Tests etch this code over a registry's
///         game (same constructor arguments, so the same immutables); nothing else changes.
contract GameHarness is DisputeGame {
    constructor(ITaskGame registry_, NodeLink link_, MIPS mips_) DisputeGame(registry_, link_, mips_) {}

    /// @notice Level 1 over [0, steps] from `startHash` (agreed) to `finalHash` (disputed), with
    ///         the round, clocks and last move left as they are.
    function forceLevel1(uint256 gameId, uint64 steps, bytes32 startHash, bytes32 finalHash) external {
        _enterSteps(_games[gameId], steps, startHash, finalHash);
    }
}
