// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DisputeGame} from "../src/DisputeGame.sol";
import {TaskRegistry} from "../src/TaskRegistry.sol";
import {NodeLink} from "../src/NodeLink.sol";
import {MerklePath} from "../src/lib/MerklePath.sol";
import {ModelSpec, TransitionProof} from "../src/lib/GameTypes.sol";
import {Outcome} from "../src/lib/ITaskGame.sol";
import {console} from "forge-std/console.sol";
import {Vm} from "forge-std/Vm.sol";
import {GameTestBase} from "./harness/GameTestBase.sol";
import {GameHarness} from "./harness/GameHarness.sol";
import {SparseTree} from "./utils/SparseTree.sol";

/// @notice Specification of DisputeGame, docs/SPEC.md §6.4–§6.5: opening, the bisection moves
///         and their access rules, rounds, stages, chess clocks, timeouts and their bond
///         movements, abandonment, terminal games, and the transition's "bad proof changes
///         nothing". The default game is bob's against alice's result on a 9-node task.
contract DisputeGame_Test is GameTestBase {
    bytes32 internal constant LIE = keccak256("S_n that is a lie");

    uint256 internal taskId;
    uint256 internal resultId;
    uint256 internal gameId;

    function setUp() public override {
        super.setUp();
        (taskId, resultId, gameId) = _openGame(LIE);
    }

    function _expectStage(uint256 id, DisputeGame.Stage stage) internal view {
        assertEq(uint8(games.game(id).stage), uint8(stage), "stage");
    }

    function _expectWrongStage(DisputeGame.Stage stage) internal {
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongStage.selector, stage));
    }

    function _expectNotYourTurn(address expected) internal {
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.NotYourTurn.selector, expected));
    }

    /// @notice Play honest-challenger moves until the default game reaches Transition at [0, 1].
    function _toTransition() internal {
        while (games.game(gameId).stage == DisputeGame.Stage.Bisect) {
            _bisect(gameId, keccak256("mid"));
            _respond(gameId, false);
        }
    }

    /// @notice An MLP task (n = 1) with alice's result S_1 = accumulator([output]) and bob's game.
    function _singleNodeGame(bytes32 output) internal returns (uint256 id) {
        bytes32[] memory out = new bytes32[](1);
        out[0] = output;
        uint256 t = _createTask(mlp, new bytes(MLP_INPUT), 1);
        uint256 r = _submit(t, alice, bytes.concat(bytes4(uint32(3))), SparseTree.accumulator(out));
        id = _challenge(r, bob);
    }

    // -- open -------------------------------------------------------------------------------------

    function test_open_revertsOnlyRegistryForAnyoneElse() public {
        vm.prank(alice);
        vm.expectRevert(DisputeGame.OnlyRegistry.selector);
        games.open(resultId, taskId, bob, alice, 9, LIE, CLOCK);
    }

    function test_open_startsLevel0Over0ToNFromTheEmptyAccumulatorToSn() public view {
        DisputeGame.Game memory g = games.game(gameId);
        assertEq(uint8(g.stage), uint8(DisputeGame.Stage.Bisect));
        assertEq(g.level, games.LEVEL_NODES());
        assertEq(g.lo, 0);
        assertEq(g.hi, 9);
        assertEq(g.loHash, SparseTree.zero(32));
        assertEq(g.hiHash, LIE);
        assertEq(g.round, 0);
        assertEq(g.submitterClock, CLOCK);
        assertEq(g.challengerClock, CLOCK);
        assertEq(g.lastMove, block.timestamp);
        assertEq(g.taskId, taskId);
        assertFalse(g.midPending);
        assertTrue(games.submitterToMove(gameId));
        assertEq(games.gameCount(), 1);
    }

    function test_open_aSingleNodeTaskOpensStraightInTransition() public {
        uint256 id = _singleNodeGame(keccak256("out"));
        DisputeGame.Game memory g = games.game(id);
        assertEq(uint8(g.stage), uint8(DisputeGame.Stage.Transition));
        assertEq(g.lo, 0);
        assertEq(g.hi, 1);
        assertTrue(games.submitterToMove(id));
        _expectWrongStage(DisputeGame.Stage.Transition);
        vm.prank(alice);
        games.bisect(id, 0, keccak256("mid"));
    }

    // -- bisect and respond -----------------------------------------------------------------------

    function test_bisect_postsTheClaimAtTheMidpointAndEmits() public {
        bytes32 claim = keccak256("S_4");
        vm.expectEmit(address(games));
        emit DisputeGame.MidpointPosted(gameId, 0, 0, 4, claim);
        vm.prank(alice);
        games.bisect(gameId, 0, claim);
        DisputeGame.Game memory g = games.game(gameId);
        assertEq(g.midHash, claim);
        assertTrue(g.midPending);
        assertEq(g.round, 1);
        assertFalse(games.submitterToMove(gameId));
    }

    function test_respond_agreeMovesLoToTheMidpointAndEmits() public {
        bytes32 claim = keccak256("S_4");
        _bisect(gameId, claim);
        vm.expectEmit(address(games));
        emit DisputeGame.Responded(gameId, 0, 1, true, 4, 9);
        vm.prank(bob);
        games.respond(gameId, 1, true);
        DisputeGame.Game memory g = games.game(gameId);
        (uint64 lo, uint64 hi, bytes32 loHash, bytes32 hiHash) = (g.lo, g.hi, g.loHash, g.hiHash);
        assertEq(lo, 4);
        assertEq(hi, 9);
        assertEq(loHash, claim);
        assertEq(hiHash, LIE);
        assertFalse(g.midPending);
        assertEq(g.round, 2);
        assertTrue(games.submitterToMove(gameId));
    }

    function test_respond_disagreeMovesHiToTheMidpoint() public {
        bytes32 claim = keccak256("S_4");
        _bisect(gameId, claim);
        _respond(gameId, false);
        DisputeGame.Game memory g = games.game(gameId);
        assertEq(g.lo, 0);
        assertEq(g.hi, 4);
        assertEq(g.loHash, SparseTree.zero(32));
        assertEq(g.hiHash, claim);
    }

    function test_respond_anIntervalOfOneNodeEndsLevel0InTransition() public {
        _toTransition();
        DisputeGame.Game memory g = games.game(gameId);
        assertEq(uint8(g.stage), uint8(DisputeGame.Stage.Transition));
        assertEq(g.lo, 0);
        assertEq(g.hi, 1);
        // 9 → 4 → 2 → 1: three pairs of moves.
        assertEq(g.round, 6);
        assertTrue(games.submitterToMove(gameId));
    }

    function test_bisect_revertsNotYourTurnForTheChallengerAndForAThirdParty() public {
        _expectNotYourTurn(alice);
        vm.prank(bob);
        games.bisect(gameId, 0, keccak256("x"));
        _expectNotYourTurn(alice);
        vm.prank(carol);
        games.bisect(gameId, 0, keccak256("x"));
    }

    function test_respond_revertsNotYourTurnForTheSubmitterAndForAThirdParty() public {
        _bisect(gameId, keccak256("x"));
        _expectNotYourTurn(bob);
        vm.prank(alice);
        games.respond(gameId, 1, true);
        _expectNotYourTurn(bob);
        vm.prank(carol);
        games.respond(gameId, 1, true);
    }

    function test_moves_revertStaleRoundWithTheExpectedAndGivenRound() public {
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.StaleRound.selector, 0, 1));
        games.bisect(gameId, 1, keccak256("x"));
        games.bisect(gameId, 0, keccak256("x"));
        vm.stopPrank();
        vm.startPrank(bob);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.StaleRound.selector, 1, 0));
        games.respond(gameId, 0, true);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.StaleRound.selector, 1, 2));
        games.respond(gameId, 2, true);
        games.respond(gameId, 1, true);
        vm.stopPrank();
        // A replay of the submitter's first move is stale.
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.StaleRound.selector, 2, 0));
        games.bisect(gameId, 0, keccak256("x"));
    }

    function test_moves_revertWrongStageOutOfOrder() public {
        // No midpoint to answer yet.
        _expectWrongStage(DisputeGame.Stage.Bisect);
        vm.prank(bob);
        games.respond(gameId, 0, true);
        // No transition and no step during the bisection.
        TransitionProof memory p;
        _expectWrongStage(DisputeGame.Stage.Bisect);
        vm.prank(alice);
        games.transition(gameId, 0, p);
        _expectWrongStage(DisputeGame.Stage.Bisect);
        games.step(gameId, new bytes(226), "", false);
        // A second midpoint before the answer.
        _bisect(gameId, keccak256("x"));
        _expectWrongStage(DisputeGame.Stage.Bisect);
        vm.prank(alice);
        games.bisect(gameId, 1, keccak256("y"));
    }

    function test_moves_revertUnknownGame() public {
        uint256 none = 99;
        bytes memory err = abi.encodeWithSelector(DisputeGame.UnknownGame.selector, none);
        vm.expectRevert(err);
        games.bisect(none, 0, 0);
        vm.expectRevert(err);
        games.respond(none, 0, true);
        TransitionProof memory p;
        vm.expectRevert(err);
        games.transition(none, 0, p);
        vm.expectRevert(err);
        games.step(none, new bytes(226), "", false);
        vm.expectRevert(err);
        games.timeout(none);
        vm.expectRevert(err);
        games.abandon(none);
        vm.expectRevert(err);
        games.game(none);
        vm.expectRevert(err);
        games.submitterToMove(none);
    }

    // -- clocks and timeouts ----------------------------------------------------------------------

    function test_clocks_aMoveCostsOnlyItsMoverTheTimeSinceTheLastMoveThenAddsTheIncrement() public {
        vm.warp(block.timestamp + 100);
        _bisect(gameId, keccak256("x"));
        vm.warp(block.timestamp + 30);
        _respond(gameId, true);
        vm.warp(block.timestamp + 7);
        _bisect(gameId, keccak256("y"));
        DisputeGame.Game memory g = games.game(gameId);
        // Each move adds 30 s (one worst-case inclusion) to its mover's clock.
        assertEq(g.submitterClock, CLOCK - 107 + 2 * 30);
        assertEq(g.challengerClock, CLOCK - 30 + 30);
        assertEq(g.lastMove, block.timestamp);
    }

    function test_bisect_revertsClockExpiredOncePastTheSubmittersClock() public {
        uint256 opened = block.timestamp;
        vm.warp(opened + CLOCK + 1);
        vm.prank(alice);
        vm.expectRevert(DisputeGame.ClockExpired.selector);
        games.bisect(gameId, 0, keccak256("x"));
        // The whole clock may be used; the move's increment is all that is left.
        vm.warp(opened + CLOCK);
        _bisect(gameId, keccak256("x"));
        assertEq(games.game(gameId).submitterClock, 30);
    }

    function test_respond_revertsClockExpiredOncePastTheChallengersClock() public {
        _bisect(gameId, keccak256("x"));
        vm.warp(block.timestamp + CLOCK + 1);
        vm.prank(bob);
        vm.expectRevert(DisputeGame.ClockExpired.selector);
        games.respond(gameId, 1, true);
    }

    function test_timeout_revertsClockRunningWithTheSecondsLeft() public {
        vm.warp(block.timestamp + 10);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.ClockRunning.selector, CLOCK - 10));
        games.timeout(gameId);
        vm.warp(block.timestamp + CLOCK - 10);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.ClockRunning.selector, 0));
        games.timeout(gameId);
    }

    function test_timeout_ofTheSubmitterAwardsTheChallengerItsBondAndHalfTheSubmitters() public {
        vm.warp(block.timestamp + CLOCK + 1);
        vm.expectEmit(address(games));
        emit DisputeGame.GameResolved(gameId, DisputeGame.Stage.ChallengerWon, DisputeGame.Reason.Timeout);
        vm.expectEmit(address(registry));
        emit TaskRegistry.GameSettled(resultId, bob, Outcome.ChallengerWon);
        vm.expectEmit(address(registry));
        emit TaskRegistry.ResultRejected(resultId, bob);
        vm.prank(carol); // anyone
        games.timeout(gameId);
        _expectStage(gameId, DisputeGame.Stage.ChallengerWon);
        assertEq(registry.credits(bob), CBOND + SBOND / 2);
        assertEq(registry.credits(requester), SBOND / 4);
        assertEq(registry.credits(alice), 0);
        assertEq(uint8(registry.result(resultId).status), uint8(TaskRegistry.ResultStatus.Rejected));
        assertEq(registry.result(resultId).liveGames, 0);
        assertEq(registry.totalLocked(), REWARD);
        assertEq(address(registry).balance, registry.totalLocked() + registry.totalCredits());
    }

    function test_timeout_ofTheChallengerAwardsTheSubmitterTheChallengersBond() public {
        _bisect(gameId, keccak256("x"));
        vm.warp(block.timestamp + CLOCK + 1);
        vm.expectEmit(address(games));
        emit DisputeGame.GameResolved(gameId, DisputeGame.Stage.SubmitterWon, DisputeGame.Reason.Timeout);
        vm.expectEmit(address(registry));
        emit TaskRegistry.GameSettled(resultId, bob, Outcome.SubmitterWon);
        games.timeout(gameId);
        _expectStage(gameId, DisputeGame.Stage.SubmitterWon);
        assertEq(registry.credits(alice), CBOND);
        assertEq(registry.credits(bob), 0);
        assertTrue(registry.resultPending(resultId));
        assertEq(registry.result(resultId).liveGames, 0);
        // The surviving result then finalizes for the reward and its own bond.
        vm.warp(registry.result(resultId).submittedAt + WINDOW);
        registry.finalize(resultId);
        assertEq(registry.credits(alice), CBOND + REWARD + SBOND);
    }

    function test_timeout_inTransitionRunsTheSubmittersClock() public {
        _toTransition();
        vm.warp(block.timestamp + games.game(gameId).submitterClock + 1);
        games.timeout(gameId);
        _expectStage(gameId, DisputeGame.Stage.ChallengerWon);
    }

    function test_timeout_isCallableAtMostTwoClocksPlusTheIncrementsAfterOpening() public {
        // The slowest legal play: the submitter keeps one second, the challenger spends its
        // whole clock; the submitter's move added 30 s, so the game is decidable from
        // 2·clock + 30 + 1 on, and not a second earlier (the bound, 2·(clock + moves·30), is above).
        uint256 opened = block.timestamp;
        vm.warp(opened + CLOCK - 1);
        _bisect(gameId, keccak256("x"));
        vm.warp(opened + 2 * CLOCK - 1);
        _respond(gameId, true);
        vm.warp(opened + 2 * CLOCK + 30);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.ClockRunning.selector, 0));
        games.timeout(gameId);
        vm.warp(opened + 2 * CLOCK + 30 + 1);
        games.timeout(gameId);
        _expectStage(gameId, DisputeGame.Stage.ChallengerWon);
    }

    // -- terminal games and abandonment -----------------------------------------------------------

    function test_everyCall_revertsGameOverOnceTheGameIsResolved() public {
        vm.warp(block.timestamp + CLOCK + 1);
        games.timeout(gameId);
        bytes memory snapshot = _gameBytes(gameId);
        vm.prank(alice);
        vm.expectRevert(DisputeGame.GameOver.selector);
        games.bisect(gameId, 0, keccak256("x"));
        vm.prank(bob);
        vm.expectRevert(DisputeGame.GameOver.selector);
        games.respond(gameId, 0, true);
        TransitionProof memory p;
        vm.prank(alice);
        vm.expectRevert(DisputeGame.GameOver.selector);
        games.transition(gameId, 0, p);
        vm.expectRevert(DisputeGame.GameOver.selector);
        games.step(gameId, new bytes(226), "", false);
        vm.expectRevert(DisputeGame.GameOver.selector);
        games.timeout(gameId);
        vm.expectRevert(DisputeGame.GameOver.selector);
        games.abandon(gameId);
        vm.expectRevert(DisputeGame.GameOver.selector);
        games.submitterToMove(gameId);
        assertEq(_gameBytes(gameId), snapshot);
    }

    function test_abandon_revertsResultStillPendingWhileTheResultCanLose() public {
        vm.expectRevert(DisputeGame.ResultStillPending.selector);
        games.abandon(gameId);
        _expectStage(gameId, DisputeGame.Stage.Bisect);
    }

    function test_abandon_refundsTheChallengerOnceAnotherGameRejectedTheResult() public {
        uint256 second = _challenge(resultId, dave);
        vm.warp(block.timestamp + CLOCK + 1);
        games.timeout(gameId); // bob wins: the result is rejected
        vm.expectEmit(address(games));
        emit DisputeGame.GameResolved(second, DisputeGame.Stage.Abandoned, DisputeGame.Reason.Abandoned);
        vm.expectEmit(address(registry));
        emit TaskRegistry.GameSettled(resultId, dave, Outcome.Refund);
        vm.prank(carol);
        games.abandon(second);
        _expectStage(second, DisputeGame.Stage.Abandoned);
        assertEq(registry.credits(dave), CBOND);
        assertEq(registry.result(resultId).liveGames, 0);
        assertEq(registry.totalLocked(), REWARD);
    }

    function test_timeout_ofAGameWhoseResultIsAlreadyRejectedIsARefund() public {
        uint256 second = _challenge(resultId, dave);
        _bisect(second, keccak256("x")); // dave to move in the second game
        vm.warp(block.timestamp + CLOCK + 1);
        games.timeout(gameId); // bob wins the first: rejected
        vm.expectEmit(address(registry));
        emit TaskRegistry.GameSettled(resultId, dave, Outcome.Refund);
        games.timeout(second); // dave overdrew, but there is nothing left to win for alice
        assertEq(registry.credits(dave), CBOND);
        assertEq(registry.credits(alice), 0);
    }

    // -- transition: bad proofs change nothing ----------------------------------------------------

    function _proof(bytes32 outputRoot, bytes memory accPath, bytes memory descriptor)
        internal
        pure
        returns (TransitionProof memory p)
    {
        p.outputRoot = outputRoot;
        p.accPath = accPath;
        p.descriptor = descriptor;
        p.graphPath = hex"00000000";
        p.programPath = hex"00000000";
        p.inputLeaves = new bytes32[](0);
        p.inputPaths = new bytes[](0);
        p.finalState = new bytes(226);
        p.regionPath = hex"00000000";
    }

    function _expectTransitionReverts(uint256 id, TransitionProof memory p, bytes memory err) internal {
        bytes memory snapshot = _gameBytes(id);
        uint32 round = _round(id);
        vm.prank(alice);
        vm.expectRevert(err);
        games.transition(id, round, p);
        assertEq(_gameBytes(id), snapshot, "a reverted transition changes nothing");
    }

    function test_transition_revertsInconsistentTransitionForAnOutputThatIsNotLeafIOfSi1() public {
        bytes32 output = keccak256("out");
        uint256 id = _singleNodeGame(output);
        bytes32[] memory out = new bytes32[](1);
        out[0] = output;
        bytes memory accPath = SparseTree.accumulatorPath(out, 0);
        _expectTransitionReverts(
            id,
            _proof(keccak256("other"), accPath, new bytes(124)),
            abi.encodeWithSelector(NodeLink.InconsistentTransition.selector)
        );
    }

    function test_transition_revertsInvalidPathLengthForAnAccumulatorPathOfTheWrongLength() public {
        uint256 id = _singleNodeGame(keccak256("out"));
        // Mask bit 0 clear: one sibling expected, none given.
        _expectTransitionReverts(
            id,
            _proof(keccak256("out"), hex"fffffffe", new bytes(124)),
            abi.encodeWithSelector(MerklePath.InvalidPathLength.selector, 36, 4)
        );
    }

    function test_transition_revertsInvalidDescriptorForAGarbageDescriptorBehindAConsistentOutput() public {
        bytes32 output = keccak256("out");
        uint256 id = _singleNodeGame(output);
        bytes32[] memory out = new bytes32[](1);
        out[0] = output;
        bytes memory accPath = SparseTree.accumulatorPath(out, 0);
        _expectTransitionReverts(
            id, _proof(output, accPath, hex"deadbeef"), abi.encodeWithSelector(NodeLink.InvalidDescriptor.selector, 0)
        );
        // Well-formed but not F's leaf 0.
        _expectTransitionReverts(
            id, _proof(output, accPath, new bytes(124)), abi.encodeWithSelector(NodeLink.InvalidProof.selector, 0, 0)
        );
    }

    function test_transition_revertsNotYourTurnForTheChallengerAndStaleRound() public {
        uint256 id = _singleNodeGame(keccak256("out"));
        TransitionProof memory p;
        _expectNotYourTurn(alice);
        vm.prank(bob);
        games.transition(id, 0, p);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.StaleRound.selector, 0, 1));
        games.transition(id, 1, p);
    }

    function test_transition_revertsClockExpiredOncePastTheSubmittersClock() public {
        uint256 id = _singleNodeGame(keccak256("out"));
        vm.warp(block.timestamp + CLOCK + 1);
        TransitionProof memory p;
        vm.prank(alice);
        vm.expectRevert(DisputeGame.ClockExpired.selector);
        games.transition(id, 0, p);
    }
}

/// @notice Level 1 (the MIPS steps of one node) and the final `step`, reached through GameHarness
///         as a proven transition would reach it, and decided by a real MIPS step of a NOP.
contract DisputeGame_Level1_Test is GameTestBase {
    uint32 internal constant PC = 0x00400000;

    GameHarness internal harness;
    uint256 internal resultId;
    uint256 internal gameId;

    function setUp() public override {
        super.setUp();
        (, resultId, gameId) = _openGame(keccak256("lie"));
        harness = _useHarness();
    }

    /// @notice A running state at PC over an all-zero memory (so the instruction is a NOP).
    function _preState() internal pure returns (bytes memory s) {
        bytes memory regs = new bytes(128);
        s = abi.encodePacked(SparseTree.zero(27), bytes32(0), uint32(0), PC, PC + 4, uint32(0), uint32(0));
        s = abi.encodePacked(s, uint32(0x90000000), uint8(0), uint8(0), uint64(0), regs);
    }

    /// @notice SPEC §2.1: keccak of the packed state, top byte the status (3: running).
    function _stateHash(bytes memory s) internal pure returns (bytes32) {
        return bytes32((uint256(keccak256(s)) & ~(uint256(0xff) << 248)) | (uint256(3) << 248));
    }

    /// @notice The 896-byte proof of the zero instruction word at PC: the leaf, then 27 zero siblings.
    function _nopProof() internal pure returns (bytes memory p) {
        p = abi.encodePacked(bytes32(0));
        for (uint256 h = 0; h < 27; h++) {
            p = abi.encodePacked(p, SparseTree.zero(h));
        }
    }

    function test_harness_keepsTheGamesStateAndBindings() public view {
        DisputeGame.Game memory g = games.game(gameId);
        assertEq(g.level, 0);
        assertEq(g.hi, 9);
        assertEq(g.challenger, bob);
        assertEq(address(games.registry()), address(registry));
        assertEq(address(games.link()), address(link));
        assertEq(address(games.mips()), address(mips));
    }

    function test_level1_bisectionOverStepsEndsInStepNotTransition() public {
        harness.forceLevel1(gameId, 5, keccak256("start"), keccak256("final"));
        while (games.game(gameId).stage == DisputeGame.Stage.Bisect) {
            _bisect(gameId, keccak256(abi.encode("state", games.game(gameId).round)));
            _respond(gameId, true);
        }
        DisputeGame.Game memory g = games.game(gameId);
        assertEq(uint8(g.stage), uint8(DisputeGame.Stage.Step));
        assertEq(g.level, 1);
        assertEq(g.lo, 4);
        assertEq(g.hi, 5);
        assertFalse(games.submitterToMove(gameId));
    }

    function test_level1_movesEmitTheirLevel() public {
        harness.forceLevel1(gameId, 6, keccak256("start"), keccak256("final"));
        uint32 round = _round(gameId);
        vm.expectEmit(address(games));
        emit DisputeGame.MidpointPosted(gameId, 1, round, 3, keccak256("s3"));
        _bisect(gameId, keccak256("s3"));
        vm.expectEmit(address(games));
        emit DisputeGame.Responded(gameId, 1, round + 1, false, 0, 3);
        _respond(gameId, false);
    }

    function test_step_revertsPreStateMismatchForAStateThatIsNotTheAgreedOne() public {
        bytes memory pre = _preState();
        bytes32 agreed = keccak256("agreed state");
        harness.forceLevel1(gameId, 1, agreed, keccak256("final"));
        bytes memory snapshot = _gameBytes(gameId);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.PreStateMismatch.selector, agreed, _stateHash(pre)));
        games.step(gameId, pre, _nopProof(), false);
        assertEq(_gameBytes(gameId), snapshot);
    }

    function test_gas_step_ofANop() public {
        bytes memory pre = _preState();
        harness.forceLevel1(gameId, 1, _stateHash(pre), keccak256("claim"));
        bytes memory proof = _nopProof();
        games.step(gameId, pre, proof, false);
        console.log("step (NOP, full proof): execution", uint256(vm.lastCallGas().gasTotalUsed));
    }

    function test_step_aPostStateEqualToTheClaimWinsForTheSubmitter() public {
        bytes memory pre = _preState();
        bytes32 post = mips.step(pre, _nopProof(), 0);
        harness.forceLevel1(gameId, 1, _stateHash(pre), post);
        vm.expectEmit(address(games));
        emit DisputeGame.StepVerified(gameId, 0, _stateHash(pre), post);
        vm.expectEmit(address(games));
        emit DisputeGame.GameResolved(gameId, DisputeGame.Stage.SubmitterWon, DisputeGame.Reason.Step);
        vm.prank(carol); // anyone
        games.step(gameId, pre, _nopProof(), false);
        assertEq(registry.credits(alice), CBOND);
        assertTrue(registry.resultPending(resultId));
    }

    function test_step_anyOtherPostStateWinsForTheChallengerAlsoWithACompactProof() public {
        bytes memory pre = _preState();
        harness.forceLevel1(gameId, 1, _stateHash(pre), keccak256("a wrong post-state"));
        // Compact form (§2.8): the leaf, then a mask of 27 zero siblings, then none.
        bytes memory compact = abi.encodePacked(bytes32(0), uint32((1 << 27) - 1));
        vm.expectEmit(address(games));
        emit DisputeGame.GameResolved(gameId, DisputeGame.Stage.ChallengerWon, DisputeGame.Reason.Step);
        games.step(gameId, pre, compact, true);
        assertEq(registry.credits(bob), CBOND + SBOND / 2);
        assertFalse(registry.resultPending(resultId));
    }

    function test_step_runsTheChallengersClockAndItsTimeoutAwardsTheSubmitter() public {
        bytes memory pre = _preState();
        harness.forceLevel1(gameId, 1, _stateHash(pre), keccak256("claim"));
        vm.warp(block.timestamp + CLOCK + 1);
        vm.expectRevert(DisputeGame.ClockExpired.selector);
        games.step(gameId, pre, _nopProof(), false);
        games.timeout(gameId);
        _expectStageIs(DisputeGame.Stage.SubmitterWon);
        assertEq(registry.credits(alice), CBOND);
    }

    function _expectStageIs(DisputeGame.Stage stage) internal view {
        assertEq(uint8(games.game(gameId).stage), uint8(stage));
    }
}

/// @notice Both bisections against scripted players. The truth is a function index → hash
///         (level 0 fixes index 0 at S_0 = zero[32]; level 1 at the agreed start state). A lying
///         submitter's claims differ from the truth on a fuzzed set of indices that always holds
///         the end; an honest challenger agrees iff a claim is the truth. Property: the game ends
///         at one step (Transition at level 0, Step at level 1) at (lo, lo + 1) with the agreed
///         claim true and the disputed claim false, in ⌊log2 n⌋ … ⌈log2 n⌉ pairs of moves.
///         A lying challenger against an honest submitter ends with both endpoints true.
contract DisputeGame_Bisection_Test is GameTestBase {
    uint8 internal constant LIE_FROM_L = 0; // true before L, false from L on
    uint8 internal constant LIE_AT_L_AND_END = 1; // one interior lie, and the end
    uint8 internal constant LIE_EVERYWHERE = 2; // every index but the agreed start
    uint8 internal constant LIE_AT_END = 3; // agrees everywhere but the end
    uint8 internal constant LIE_SCATTERED = 4; // a seeded random set, and the end

    struct Script {
        uint256 seed;
        uint8 level;
        uint8 mode;
        uint64 l;
        uint64 n;
    }

    function _truth(Script memory s, uint256 i) internal pure returns (bytes32) {
        if (s.level == 0 && i == 0) return SparseTree.zero(32);
        return keccak256(abi.encode("truth", s.seed, s.level, i));
    }

    function _lies(Script memory s, uint256 i) internal pure returns (bool) {
        if (i == 0) return false; // the agreed start is computed or proven, never claimed
        if (i == s.n) return s.mode != 255; // 255: the honest submitter
        if (s.mode == LIE_FROM_L) return i >= s.l;
        if (s.mode == LIE_AT_L_AND_END) return i == s.l;
        if (s.mode == LIE_EVERYWHERE) return true;
        if (s.mode == LIE_SCATTERED) return uint256(keccak256(abi.encode("mask", s.seed, i))) & 1 == 1;
        return false;
    }

    function _claim(Script memory s, uint256 i) internal pure returns (bytes32) {
        return _lies(s, i) ? keccak256(abi.encode("lie", s.seed, s.level, i)) : _truth(s, i);
    }

    function _log2Floor(uint256 n) internal pure returns (uint256 k) {
        while (n >> (k + 1) != 0) k++;
    }

    /// @notice A game over n nodes: a model of nF = n and a task of one prompt token and N = 1.
    ///         The model's step cap is 1, so that even n = 2^32 nodes is a task the registry
    ///         admits (its re-run bound n·2^K fits the window, §6.3); level 0 does not read K.
    function _gameOverNodes(uint64 n, bytes32 sN) internal returns (uint256) {
        ModelSpec memory m = _llamaSpec(uint32(n), 0);
        m.context = 4;
        m.stepCap = 1;
        bytes32 model = models.register(m);
        uint256 t = _createTask(model, bytes.concat(bytes4(uint32(1))), 1);
        uint256 r = _submit(t, alice, bytes.concat(bytes4(uint32(2))), sN);
        return _challenge(r, bob);
    }

    /// @notice Play the submitter's script against a challenger that answers `honest ? truth :
    ///         bit k of answers`; return the pairs of moves played.
    function _play(uint256 id, Script memory s, bool honest, uint256 answers) internal returns (uint256 pairs) {
        while (games.game(id).stage == DisputeGame.Stage.Bisect) {
            DisputeGame.Game memory g = games.game(id);
            uint64 mid = (g.lo + g.hi) / 2;
            _bisect(id, _claim(s, mid));
            bool agree = honest ? _claim(s, mid) == _truth(s, mid) : (answers >> (pairs % 256)) & 1 == 1;
            _respond(id, agree);
            pairs++;
            if (honest) {
                g = games.game(id);
                assertEq(g.loHash, _truth(s, g.lo), "the agreed end stays true");
                assertTrue(g.hiHash != _truth(s, g.hi), "the disputed end stays false");
            }
        }
    }

    function _expectFoundTheLie(uint256 id, Script memory s, uint256 pairs, DisputeGame.Stage end) internal view {
        DisputeGame.Game memory g = games.game(id);
        assertEq(uint8(g.stage), uint8(end), "ends at one step");
        assertEq(g.hi, g.lo + 1, "one step");
        assertEq(g.loHash, _truth(s, g.lo), "agreed claim is true");
        assertEq(g.loHash, _claim(s, g.lo), "agreed claim is the submitter's");
        assertEq(g.hiHash, _claim(s, g.hi), "disputed claim is the submitter's");
        assertTrue(g.hiHash != _truth(s, g.hi), "disputed claim is false");
        assertLe(pairs, _log2Ceil(s.n), "at most ceil(log2 n) pairs");
        assertGe(pairs, _log2Floor(s.n), "at least floor(log2 n) pairs");
    }

    function _log2Ceil(uint256 n) internal pure returns (uint256 d) {
        while ((uint256(1) << d) < n) d++;
    }

    function _script(uint256 seed, uint8 level, uint8 mode, uint64 l, uint64 n) internal pure returns (Script memory s) {
        s = Script(seed, level, mode % 5, l, n);
        s.l = uint64(bound(l, 1, n));
    }

    // -- level 0: nodes ---------------------------------------------------------------------------

    function testFuzz_level0_aLyingSubmitterIsPinnedToItsFirstFalseStepByAnHonestChallenger(
        uint256 seed,
        uint8 mode,
        uint64 l,
        uint32 nodes
    ) public {
        uint64 n = uint64(bound(nodes, 1, type(uint32).max));
        Script memory s = _script(seed, 0, mode, l, n);
        uint256 id = _gameOverNodes(n, _claim(s, n));
        uint256 pairs = _play(id, s, true, 0);
        _expectFoundTheLie(id, s, pairs, DisputeGame.Stage.Transition);
        assertEq(games.game(id).round, 2 * pairs, "one round per move");
    }

    function testFuzz_level0_aLyingChallengerAgainstAnHonestSubmitterEndsBetweenTwoTrueClaims(
        uint256 seed,
        uint256 answers,
        uint32 nodes
    ) public {
        uint64 n = uint64(bound(nodes, 2, type(uint32).max));
        Script memory s = Script(seed, 0, 255, 1, n);
        uint256 id = _gameOverNodes(n, _truth(s, n));
        _play(id, s, false, answers);
        DisputeGame.Game memory g = games.game(id);
        assertEq(uint8(g.stage), uint8(DisputeGame.Stage.Transition));
        assertEq(g.hi, g.lo + 1);
        assertEq(g.loHash, _truth(s, g.lo));
        assertEq(g.hiHash, _truth(s, g.hi));
    }

    function test_level0_eachLieModeOnTheLargestTasks() public {
        for (uint8 mode = 0; mode < 5; mode++) {
            uint64 n = type(uint32).max - mode; // a model per mode (a record registers once)
            Script memory s = _script(7, 0, mode, n / 3, n);
            uint256 id = _gameOverNodes(n, _claim(s, n));
            _expectFoundTheLie(id, s, _play(id, s, true, 0), DisputeGame.Stage.Transition);
        }
    }

    // -- level 1: steps ---------------------------------------------------------------------------

    /// forge-config: default.fuzz.runs = 128
    function testFuzz_level1_aLyingSubmitterIsPinnedToItsFirstFalseStepThenStepChecksThePreState(
        uint256 seed,
        uint8 mode,
        uint64 l,
        uint64 steps
    ) public {
        GameHarness harness = _useHarness();
        (,, uint256 id) = _openGame(keccak256("lie"));
        uint64 n = uint64(bound(steps, 1, uint64(1) << 48));
        Script memory s = _script(seed, 1, mode, l, n);
        harness.forceLevel1(id, n, _truth(s, 0), _claim(s, n));
        uint32 round0 = _round(id);
        uint256 pairs = _play(id, s, true, 0);
        _expectFoundTheLie(id, s, pairs, DisputeGame.Stage.Step);
        assertEq(games.game(id).round, round0 + 2 * pairs);
        // A state that does not hash to the agreed loHash is refused before MIPS runs.
        bytes memory notAgreed = new bytes(226);
        bytes32 h = bytes32((uint256(keccak256(notAgreed)) & ~(uint256(0xff) << 248)) | (uint256(3) << 248));
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.PreStateMismatch.selector, _truth(s, games.game(id).lo), h));
        games.step(id, notAgreed, "", false);
    }

    /// forge-config: default.fuzz.runs = 128
    function testFuzz_level1_aLyingChallengerAgainstAnHonestSubmitterEndsBetweenTwoTrueStates(
        uint256 seed,
        uint256 answers,
        uint64 steps
    ) public {
        GameHarness harness = _useHarness();
        (,, uint256 id) = _openGame(keccak256("lie"));
        uint64 n = uint64(bound(steps, 2, uint64(1) << 48));
        Script memory s = Script(seed, 1, 255, 1, n);
        harness.forceLevel1(id, n, _truth(s, 0), _truth(s, n));
        _play(id, s, false, answers);
        DisputeGame.Game memory g = games.game(id);
        assertEq(uint8(g.stage), uint8(DisputeGame.Stage.Step));
        assertEq(g.hi, g.lo + 1);
        assertEq(g.loHash, _truth(s, g.lo));
        assertEq(g.hiHash, _truth(s, g.hi));
    }
}

/// @notice One call per test from a prepared state, so `forge snapshot` and `--gas-report` show
///         each entry point's own cost with cold storage, as in a transaction of its own.
contract Game_Gas_Test is GameTestBase {
    uint256 internal task;
    uint256 internal result;
    uint256 internal fresh; // bob's game: the submitter to move
    uint256 internal answering; // dave's game: a midpoint posted
    uint256 internal overdrawn; // a game whose submitter ran out of clock
    uint256 internal abandoned; // a game on a rejected result
    uint256 internal lying; // a pending result whose token 1 contradicts S_n
    uint256 internal finalizable;
    uint256 internal racer; // a pending result of a finalized task
    uint256 internal refundable;
    uint256 internal committed; // an unrevealed commitment, a block old
    bytes32[] internal outputs;

    function _quickTask(uint64 deadlineIn, uint64 window, uint64 clock) internal returns (uint256) {
        vm.prank(requester);
        return registry.createTask{value: REWARD}(
            llama, _prompt(), 2, uint64(block.timestamp) + deadlineIn, window, clock, SBOND, CBOND
        );
    }

    function setUp() public override {
        super.setUp();
        for (uint256 i = 0; i < 9; i++) {
            outputs.push(keccak256(abi.encode("output", i)));
        }
        outputs[5] = bytes32(bytes4(uint32(5)));
        outputs[8] = bytes32(bytes4(uint32(7)));
        bytes32 sN = SparseTree.accumulator(outputs);
        (task, result, fresh) = _openGame(keccak256("lie"));
        answering = _challenge(result, dave);
        _bisect(answering, keccak256("mid"));
        lying = _submit(task, dave, _enc2(5, 6), sN);
        uint256 rejected = _submit(task, carol, _enc2(5, 6), sN);
        abandoned = _challenge(rejected, bob);
        vm.deal(makeAddr("prover"), 10 ether);
        _challenge(lying, makeAddr("prover"));
        vm.roll(block.number + 1);
        vm.prank(carol);
        registry.proveTokenMismatch(rejected, _enc2(5, 6), 1, outputs[8], SparseTree.accumulatorPath(outputs, 8), bob);

        // The shortest clock and window the registry allows for a 9-node task (§6.3).
        uint64 shortest = uint64(registry.minClock(9, 20));
        uint64 narrowest = uint64(registry.minWindow(9, 20));
        uint256 shortClock = _quickTask(DEADLINE_IN, WINDOW, shortest);
        overdrawn = _challenge(_submit(shortClock, alice, _enc2(5, 6), sN), bob);
        uint256 shortWindow = _quickTask(DEADLINE_IN, narrowest, CLOCK);
        finalizable = _submit(shortWindow, alice, _enc2(5, 6), sN);
        uint256 raced = _quickTask(DEADLINE_IN, narrowest, CLOCK);
        uint256 winner = _submit(raced, alice, _enc2(5, 6), sN);
        racer = _submit(raced, dave, _enc2(5, 6), sN);
        refundable = _quickTask(30, WINDOW, CLOCK);
        vm.warp(block.timestamp + shortest + 1);
        registry.finalize(winner);
        committed = _commit(task, requester, _enc2(5, 6), sN);
        vm.roll(block.number + 1);
    }

    /// @notice A transaction's gas for a call: 21000, calldata (16 per non-zero byte, 4 per zero
    ///         byte; the EIP-7623 floor of 10 per token is lower for these calls), and the call's
    ///         execution gas as measured.
    function _txGas(bytes memory data, uint256 execution) internal pure returns (uint256 total) {
        total = 21000 + execution;
        for (uint256 k = 0; k < data.length; k++) {
            total += data[k] == 0 ? 4 : 16;
        }
    }

    /// @notice Call `to` as `from`, require success, log and return the call's transaction gas.
    function _measure(string memory name, address from, address to, uint256 value, bytes memory data)
        internal
        returns (uint256 total)
    {
        vm.prank(from);
        (bool ok,) = to.call{value: value}(data);
        assertTrue(ok, name);
        uint256 execution = vm.lastCallGas().gasTotalUsed;
        total = _txGas(data, execution);
        console.log(name, execution, total);
    }

    function test_gas_register() public {
        _measure("register", carol, address(models), 0, abi.encodeCall(models.register, (_llamaSpec(77, 0))));
    }

    function test_gas_createTask() public {
        bytes memory data = abi.encodeCall(
            registry.createTask,
            (llama, _prompt(), 2, uint64(block.timestamp) + DEADLINE_IN, WINDOW, CLOCK, SBOND, CBOND)
        );
        _measure("createTask", requester, address(registry), REWARD, data);
    }

    function test_gas_commitResult() public {
        bytes memory data = abi.encodeCall(registry.commitResult, (task, keccak256("commitment")));
        _measure("commitResult", makeAddr("committer"), address(registry), SBOND, _fund(data));
    }

    function test_gas_revealResult() public {
        bytes memory data =
            abi.encodeCall(registry.revealResult, (committed, _enc2(5, 6), SparseTree.accumulator(outputs), _salt(requester)));
        _measure("revealResult", requester, address(registry), 0, data);
    }

    function _fund(bytes memory data) internal returns (bytes memory) {
        vm.deal(makeAddr("committer"), 10 ether);
        return data;
    }

    function test_gas_challenge() public {
        _measure("challenge", carol, address(registry), CBOND, abi.encodeCall(registry.challenge, (result)));
    }

    function test_gas_proveTokenMismatch() public {
        bytes memory data = abi.encodeCall(
            registry.proveTokenMismatch,
            (lying, _enc2(5, 6), 1, outputs[8], SparseTree.accumulatorPath(outputs, 8), makeAddr("prover"))
        );
        _measure("proveTokenMismatch", makeAddr("prover"), address(registry), 0, data);
    }

    function test_gas_bisect_isAtMost60kAsATransaction() public {
        bytes memory data = abi.encodeCall(games.bisect, (fresh, 0, keccak256("S_4")));
        assertLe(_measure("bisect", alice, address(games), 0, data), 60_000);
    }

    function test_gas_respond_isAtMost60kAsATransaction() public {
        bytes memory data = abi.encodeCall(games.respond, (answering, 1, true));
        assertLe(_measure("respond", dave, address(games), 0, data), 60_000);
    }

    function test_gas_timeout() public {
        _measure("timeout", carol, address(games), 0, abi.encodeCall(games.timeout, (overdrawn)));
    }

    function test_gas_abandon() public {
        _measure("abandon", carol, address(games), 0, abi.encodeCall(games.abandon, (abandoned)));
    }

    function test_gas_finalize() public {
        _measure("finalize", carol, address(registry), 0, abi.encodeCall(registry.finalize, (finalizable)));
    }

    function test_gas_releaseBond() public {
        _measure("releaseBond", carol, address(registry), 0, abi.encodeCall(registry.releaseBond, (racer)));
    }

    function test_gas_refundTask() public {
        _measure("refundTask", carol, address(registry), 0, abi.encodeCall(registry.refundTask, (refundable)));
    }

    function test_gas_withdraw() public {
        _measure("withdraw", alice, address(registry), 0, abi.encodeCall(registry.withdraw, ()));
        assertEq(registry.credits(alice), 0);
    }
}

/// @notice A proven transition on a synthetic one-node model (no real model data): a descriptor
///         with no inputs and a 4-byte output in region 8, one program, and a final state whose
///         memory holds the output. The transition charges the submitter's clock, emits the
///         link, and starts level 1 at (0, startHash, steps, hash(finalState)), which then
///         bisects down to Step like any level. Bad final states revert with NodeLink's errors.
contract DisputeGame_Transition_Test is GameTestBase {
    uint32 internal constant ENTRY = 0x00400000;
    uint64 internal constant STEPS = 5;
    bytes32 internal constant REGION0 = keccak256("region 0 of the program");
    bytes32 internal constant OUTPUT = bytes32(bytes4(0x01020304)); // tensor root of 4 output bytes

    uint256 internal task;
    uint256 internal gameId;

    /// @notice Descriptor (§5.1): program 0, op 7, no position, out_len 4, region 8, no inputs, p = 0.
    function _descriptor() internal pure returns (bytes memory d) {
        d = new bytes(124);
        d[7] = bytes1(uint8(7)); // word 1: op id
        d[15] = bytes1(uint8(4)); // word 3: out_base
        d[23] = bytes1(uint8(8)); // word 5: the output region
    }

    /// @notice Tensor root of a descriptor (§1.1): its 32-byte chunks, zero-padded, as a tree.
    function _tensorRoot(bytes memory data) internal pure returns (bytes32) {
        uint256 n = (data.length + 31) / 32;
        uint256[] memory idx = new uint256[](n);
        bytes32[] memory val = new bytes32[](n);
        bytes memory padded = bytes.concat(data, new bytes(32 * n - data.length));
        for (uint256 k = 0; k < n; k++) {
            idx[k] = k;
            bytes32 chunk;
            assembly {
                chunk := mload(add(add(padded, 32), mul(k, 32)))
            }
            val[k] = chunk;
        }
        uint256 depth;
        while ((uint256(1) << depth) < n) depth++;
        return SparseTree.root(idx, val, depth);
    }

    /// @notice The memory root with only region 8 set: OUTPUT folded to height 23, at region 8.
    function _memRootWithOutput() internal pure returns (bytes32 node) {
        node = OUTPUT;
        for (uint256 h = 0; h < 23; h++) {
            node = keccak256(abi.encodePacked(node, SparseTree.zero(h)));
        }
        for (uint256 h = 0; h < 4; h++) {
            bytes32 z = SparseTree.zero(23 + h);
            node = (8 >> h) & 1 == 1 ? keccak256(abi.encodePacked(z, node)) : keccak256(abi.encodePacked(node, z));
        }
    }

    function _finalState(bytes32 memRoot, uint8 exited, uint64 steps) internal pure returns (bytes memory s) {
        s = abi.encodePacked(memRoot, bytes32(0), uint32(0), ENTRY + 8, ENTRY + 12, uint32(0), uint32(0));
        s = abi.encodePacked(s, uint32(0x90000000), uint8(0), exited, steps, new bytes(128));
    }

    function _exitZeroHash(bytes memory s) internal pure returns (bytes32) {
        return bytes32(uint256(keccak256(s)) & ~(uint256(0xff) << 248)); // status 0: exited with 0
    }

    function _proof(bytes memory finalState) internal pure returns (TransitionProof memory p) {
        p.outputRoot = OUTPUT;
        p.accPath = hex"ffffffff"; // leaf 0 of an otherwise empty accumulator
        p.descriptor = _descriptor();
        p.graphPath = hex"00000000"; // n_f = 1: F is its one leaf
        p.region0Root = REGION0;
        p.entry = ENTRY;
        p.programPath = hex"00000000"; // one program
        p.inputLeaves = new bytes32[](0);
        p.inputPaths = new bytes[](0);
        p.finalState = finalState;
        // Regions 9, 10–11, 12–15 and 0–7 are all zero, but their roots are zero[23 + h], which
        // the mask (zero[h], §6.1) cannot express: the four siblings go in full.
        p.regionPath = abi.encodePacked(
            uint32(0), SparseTree.zero(23), SparseTree.zero(24), SparseTree.zero(25), SparseTree.zero(26)
        );
    }

    function setUp() public override {
        super.setUp();
        ModelSpec memory m = _mlpSpec();
        m.graphRoot = _tensorRoot(_descriptor());
        m.programsRoot = keccak256(abi.encodePacked(REGION0, bytes32(uint256(ENTRY) << 224)));
        m.nPrograms = 1;
        m.nWeights = 1;
        m.inputBytes = 4;
        m.commitment = _commitment(m.weightRoot, m.graphRoot, m.programsRoot);
        bytes32 model = models.register(m);
        task = _createTask(model, hex"0a0b0c0d", 1);
        bytes32[] memory out = new bytes32[](1);
        out[0] = OUTPUT;
        uint256 r = _submit(task, alice, bytes.concat(bytes4(uint32(3))), SparseTree.accumulator(out));
        gameId = _challenge(r, bob);
    }

    function test_transition_startsLevel1AtTheDerivedStartStateAndTheClaimedFinalState() public {
        bytes memory fin = _finalState(_memRootWithOutput(), 1, STEPS);
        TransitionProof memory p = _proof(fin);
        bytes32 start = link.startHash(registry.nodeContext(task), p);
        vm.warp(block.timestamp + 40);
        vm.expectEmit(address(games));
        emit DisputeGame.TransitionProven(gameId, 0, OUTPUT, start, _exitZeroHash(fin), STEPS);
        vm.prank(alice);
        games.transition(gameId, 0, p);
        DisputeGame.Game memory g = games.game(gameId);
        assertEq(uint8(g.stage), uint8(DisputeGame.Stage.Bisect));
        assertEq(g.level, games.LEVEL_STEPS());
        assertEq(g.node, 0);
        assertEq(g.lo, 0);
        assertEq(g.hi, STEPS);
        assertEq(g.loHash, start);
        assertEq(g.hiHash, _exitZeroHash(fin));
        assertEq(g.round, 1);
        assertEq(g.submitterClock, CLOCK - 40 + 30);
        // The start state is a running program at its entry (status 3), not the caller's word.
        assertEq(uint8(uint256(start) >> 248), 3);
        // Level 1 bisects to Step like any level.
        while (games.game(gameId).stage == DisputeGame.Stage.Bisect) {
            _bisect(gameId, keccak256(abi.encode("state", games.game(gameId).round)));
            _respond(gameId, false);
        }
        g = games.game(gameId);
        assertEq(uint8(g.stage), uint8(DisputeGame.Stage.Step));
        assertEq(g.lo, 0);
        assertEq(g.hi, 1);
        assertEq(g.loHash, start);
    }

    function test_transition_aFinalStateOfOneStepOpensLevel1InStep() public {
        vm.prank(alice);
        games.transition(gameId, 0, _proof(_finalState(_memRootWithOutput(), 1, 1)));
        assertEq(uint8(games.game(gameId).stage), uint8(DisputeGame.Stage.Step));
    }

    function _expectTransitionReverts(TransitionProof memory p, bytes memory err) internal {
        bytes memory snapshot = _gameBytes(gameId);
        vm.prank(alice);
        vm.expectRevert(err);
        games.transition(gameId, 0, p);
        assertEq(_gameBytes(gameId), snapshot, "a reverted transition changes nothing");
    }

    function test_transition_revertsInvalidFinalStateUnlessExitedWithCodeZero() public {
        _expectTransitionReverts(
            _proof(_finalState(_memRootWithOutput(), 0, STEPS)), abi.encodeWithSelector(NodeLink.InvalidFinalState.selector)
        );
        bytes memory fin = _finalState(_memRootWithOutput(), 1, STEPS);
        fin[88] = bytes1(uint8(1)); // exit code 1
        _expectTransitionReverts(_proof(fin), abi.encodeWithSelector(NodeLink.InvalidFinalState.selector));
    }

    function test_transition_revertsStepCapExceededForZeroStepsOrMoreThanTwoPowK() public {
        uint256 cap = uint256(1) << 20;
        _expectTransitionReverts(
            _proof(_finalState(_memRootWithOutput(), 1, 0)),
            abi.encodeWithSelector(NodeLink.StepCapExceeded.selector, 0, cap)
        );
        _expectTransitionReverts(
            _proof(_finalState(_memRootWithOutput(), 1, uint64(cap) + 1)),
            abi.encodeWithSelector(NodeLink.StepCapExceeded.selector, uint64(cap) + 1, cap)
        );
        vm.prank(alice);
        games.transition(gameId, 0, _proof(_finalState(_memRootWithOutput(), 1, uint64(cap))));
    }

    function test_transition_revertsInvalidProofWhenTheOutputRegionDoesNotHoldTheOutput() public {
        _expectTransitionReverts(
            _proof(_finalState(SparseTree.zero(27), 1, STEPS)), abi.encodeWithSelector(NodeLink.InvalidProof.selector, 5, 8)
        );
    }

    function test_transition_revertsInvalidProofForAProgramThatIsNotTheCommittedOne() public {
        TransitionProof memory p = _proof(_finalState(_memRootWithOutput(), 1, STEPS));
        p.entry = ENTRY + 4;
        _expectTransitionReverts(p, abi.encodeWithSelector(NodeLink.InvalidProof.selector, 1, 0));
    }

    /// @notice The transition's own cost on this input-free node: a lower bound for real nodes,
    ///         whose input proofs the vector tests add.
    function test_gas_transition_ofANodeWithoutInputs() public {
        TransitionProof memory p = _proof(_finalState(_memRootWithOutput(), 1, STEPS));
        vm.prank(alice);
        games.transition(gameId, 0, p);
        console.log("transition (no inputs): execution", uint256(vm.lastCallGas().gasTotalUsed));
    }
}
