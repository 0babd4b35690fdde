// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {NodeContext} from "./GameTypes.sol";

/// @notice How a game ends for the task registry's books (docs/SPEC.md §6.3).
enum Outcome {
    SubmitterWon,
    ChallengerWon, // on time: the submitter did not play, its claim is not shown wrong
    Refund,
    Disproved // by MIPS.step: the claim itself is wrong, for every result that makes it (§6.11)
}

/// @title ITaskGame
/// @notice What DisputeGame needs of TaskRegistry: the chain's view of a task, and settlement.
interface ITaskGame {
    /// @notice The node context of a task's model and input, with the node fields left zero.
    /// @param taskId The task.
    /// @return ctx   The context.
    function nodeContext(uint256 taskId) external view returns (NodeContext memory ctx);

    /// @notice Whether a result can still lose (not rejected, not finalized).
    /// @param resultId The result.
    /// @return True iff pending.
    function resultPending(uint256 resultId) external view returns (bool);

    /// @notice Settle a finished game's bonds. Only the registry's own DisputeGame may call it.
    /// @param gameId     The game.
    /// @param resultId   The result the game was about.
    /// @param challenger The game's challenger.
    /// @param outcome    How the game ended.
    function settleGame(uint256 gameId, uint256 resultId, address challenger, Outcome outcome) external;
}
