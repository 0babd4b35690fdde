// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title GameBounds
/// @notice The protocol v2 bounds of docs/SPEC.md §6.3 and why each exists (§6.10): clocks and
///         windows derived from what an honest party needs, bond floors and their ratio, and the
///         split of a rejected bond. `offchain/game/bounds.py` mirrors every value and formula;
///         `tests/test_constants_drift.py` checks the constants against `offchain/constants.py`.
library GameBounds {
    /// @notice L: worst-case seconds to get one move included (2.5 L1 slots). A deployment whose
    ///         inclusion can be slower (an L2's forced inclusion) must raise it (§6.3).
    uint64 internal constant INCLUSION_LATENCY = 30;
    /// @notice Seconds added to a mover's clock after each move (Fischer): one worst-case
    ///         inclusion, so a party that is included within L never loses clock (attack H-1).
    uint64 internal constant CLOCK_INCREMENT = INCLUSION_LATENCY;
    /// @notice The part of a window that is not re-running the task: noticing the reveal and
    ///         getting a challenge included.
    uint64 internal constant WINDOW_BASE = 600;
    /// @notice The re-run rate a window must allow for: MIPS steps per second. A task re-runs
    ///         at most n·2^K steps (every node at its step cap); 2^24 is twenty times below the
    ///         measured fast-forward rate of the MIPS emulator, and a native re-run is faster still (H-1).
    uint64 internal constant RERUN_STEPS_PER_SECOND = 16_777_216;
    /// @notice Seconds after its commitment during which a result may be revealed (H-2). At most
    ///         WINDOW_BASE, so once a result's window has passed every earlier commitment has been
    ///         revealed or can no longer be: the earliest commitment of a claim is known.
    uint64 internal constant REVEAL_PERIOD = 600;
    /// @notice Floor of both bonds (L-2).
    uint128 internal constant MIN_BOND = 0.01 ether;
    /// @notice challengerBond ≤ submitterBond ≤ BOND_RATIO · challengerBond (L-2).
    uint128 internal constant BOND_RATIO = 4;

    /// @notice ⌈log2 x⌉ for x ≥ 1 (0 for x ≤ 1).
    function ceilLog2(uint256 x) internal pure returns (uint256 r) {
        while ((uint256(1) << r) < x) r++;
    }

    /// @notice The most moves one party makes in a game over `nodes` nodes with step cap `stepCap`:
    ///         ⌈log2 n⌉ level-0 rounds, K level-1 rounds, and the transition or the step (§6.4).
    function maxMoves(uint256 nodes, uint256 stepCap) internal pure returns (uint256) {
        return ceilLog2(nodes) + stepCap + 1;
    }

    /// @notice The clock floor: a whole game's worth of worst-case inclusions for one party (H-1).
    function minClock(uint256 nodes, uint256 stepCap) internal pure returns (uint256) {
        return maxMoves(nodes, stepCap) * INCLUSION_LATENCY;
    }

    /// @notice The window floor: enough to re-run every node at its step cap and then challenge (H-1).
    function minWindow(uint256 nodes, uint256 stepCap) internal pure returns (uint256) {
        uint256 steps = nodes << stepCap;
        return WINDOW_BASE + (steps + RERUN_STEPS_PER_SECOND - 1) / RERUN_STEPS_PER_SECOND;
    }

    /// @notice Whether two bonds meet the floor and the ratio: 0 yes, 4 floor, 5 ratio
    ///         (the `InvalidParams` reason codes of TaskRegistry).
    function bondsReason(uint128 submitterBond, uint128 challengerBond) internal pure returns (uint8) {
        if (submitterBond < MIN_BOND || challengerBond < MIN_BOND) return 4;
        if (challengerBond > submitterBond || uint256(submitterBond) > uint256(BOND_RATIO) * challengerBond) return 5;
        return 0;
    }

    /// @notice How a rejected bond is split (§6.3): half to the payee, a quarter to the
    ///         requester, the rest burned, so a liar that controls both recipients still loses
    ///         at least a quarter (M-1).
    function split(uint256 bond) internal pure returns (uint256 payee, uint256 requester, uint256 burned) {
        payee = bond / 2;
        requester = bond / 4;
        burned = bond - payee - requester;
    }
}
