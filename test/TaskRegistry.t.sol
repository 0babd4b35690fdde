// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TaskRegistry} from "../src/TaskRegistry.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {Outcome} from "../src/lib/ITaskGame.sol";
import {ModelSpec, NodeContext} from "../src/lib/GameTypes.sol";
import {GameTestBase} from "./harness/GameTestBase.sol";
import {SparseTree} from "./utils/SparseTree.sol";

/// @notice An account that cannot take ETH: its credits can never be withdrawn.
contract NoReceive {
    function call(address target, bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }
}

/// @notice Specification of TaskRegistry, docs/SPEC.md §6.3: task creation and its bounds, results,
///         challenges, the one-shot token proof, finalization, bond release, refunds and pull
///         payments. Every named error is checked with its arguments; every state change's event
///         is checked once. The default task is prompt [11, 12] (P = 2), N = 2 on a model of
///         nF = 3 with argmax node 2, so n = 9 and token k is argmax leaf (1 + k)·3 + 2 of S_n.
contract TaskRegistry_Test is GameTestBase {
    /// @notice The 9 node outputs behind the default result's S_n: labels, except the argmax
    ///         leaves 5 and 8, which hold tokens 5 and 7 (tensor roots of i32 [1]).
    function _outputs() internal pure returns (bytes32[] memory out) {
        out = new bytes32[](9);
        for (uint256 i = 0; i < 9; i++) {
            out[i] = keccak256(abi.encode("output", i));
        }
        out[5] = _tokenRoot(5);
        out[8] = _tokenRoot(7);
    }

    function _tokenRoot(uint32 token) internal pure returns (bytes32) {
        return bytes32(bytes4(token));
    }

    function _sN() internal pure returns (bytes32) {
        return SparseTree.accumulator(_outputs());
    }

    /// @notice The default task with alice's result: tokens [5, 6], so token 1 contradicts leaf 8.
    function _taskAndResult() internal returns (uint256 taskId, uint256 resultId) {
        taskId = _createTask();
        resultId = _submit(taskId, alice, _enc2(5, 6), _sN());
    }

    function _expectParams(uint8 reason) internal {
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.InvalidParams.selector, reason));
    }

    function _expectInput(uint8 reason) internal {
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.InvalidInput.selector, reason));
    }

    function _create(bytes32 model, bytes memory input, uint32 n, uint64 deadline, uint64 window, uint64 clock)
        internal
        returns (uint256)
    {
        vm.prank(requester);
        return registry.createTask{value: REWARD}(model, input, n, deadline, window, clock, SBOND, CBOND);
    }

    function _deadline() internal view returns (uint64) {
        return uint64(block.timestamp) + DEADLINE_IN;
    }

    // -- createTask -------------------------------------------------------------------------------

    function test_createTask_storesTheTaskWithPAndNAndTheNodeCountAndEmits() public {
        bytes memory prompt = _prompt();
        bytes32 root = bytes32(bytes.concat(prompt, new bytes(24))); // one leaf: the 8 bytes, zero-padded
        vm.expectEmit(address(registry));
        emit TaskRegistry.TaskCreated(1, requester, llama, prompt, 2, root, REWARD);
        uint256 taskId = _createTask();
        assertEq(taskId, 1);
        assertEq(registry.taskCount(), 1);
        TaskRegistry.Task memory t = registry.task(taskId);
        assertEq(t.requester, requester);
        assertEq(uint8(t.status), uint8(TaskRegistry.TaskStatus.Open));
        assertEq(t.promptLength, 2);
        assertEq(t.newTokens, 2);
        assertEq(t.nodes, 9);
        assertEq(t.reward, REWARD);
        assertEq(t.submitterBond, SBOND);
        assertEq(t.challengerBond, CBOND);
        assertEq(t.window, WINDOW);
        assertEq(t.clock, CLOCK);
        assertEq(t.deadline, uint64(block.timestamp) + DEADLINE_IN);
        assertEq(t.model, llama);
        assertEq(t.inputRoot, root);
    }

    function test_createTask_storesThePromptTreeRootOverSeveralLeaves() public {
        // 9 tokens = 36 bytes = 2 leaves: the root is keccak(leaf0 ‖ leaf1) with the tail zero.
        uint32[] memory p = new uint32[](9);
        for (uint256 k = 0; k < 9; k++) {
            p[k] = uint32(90 + k);
        }
        bytes memory prompt = _enc(p);
        bytes32 leaf0;
        bytes32 leaf1 = bytes32(bytes4(uint32(98)));
        assembly {
            leaf0 := mload(add(prompt, 32))
        }
        bytes32 model = _registerWide(NF, 64);
        uint256 taskId = _createTask(model, prompt, 1);
        assertEq(registry.task(taskId).inputRoot, keccak256(abi.encodePacked(leaf0, leaf1)));
        assertEq(registry.task(taskId).promptLength, 9);
        assertEq(registry.task(taskId).nodes, 9 * NF);
    }

    function test_createTask_storesTheMLPInputRootWithPAndNOne() public {
        bytes memory input = hex"00010203040506070809";
        uint256 taskId = _createTask(mlp, input, 1);
        TaskRegistry.Task memory t = registry.task(taskId);
        assertEq(t.promptLength, 1);
        assertEq(t.nodes, 1);
        assertEq(t.inputRoot, bytes32(bytes.concat(input, new bytes(22))));
    }

    function test_createTask_locksTheRewardAsValue() public {
        _createTask();
        assertEq(address(registry).balance, REWARD);
        assertEq(registry.totalLocked(), REWARD);
        assertEq(registry.totalCredits(), 0);
    }

    function test_createTask_revertsUnknownModel() public {
        bytes32 id = keccak256("no such model");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownModel.selector, id));
        _create(id, _prompt(), 1, _deadline(), WINDOW, CLOCK);
    }

    function test_createTask_revertsInvalidParams0ForNoNewTokens() public {
        _expectParams(0);
        _create(llama, _prompt(), 0, _deadline(), WINDOW, CLOCK);
    }

    function test_createTask_revertsInvalidParams0ForAnMLPWithMoreThanOneOutput() public {
        _expectParams(0);
        _create(mlp, new bytes(MLP_INPUT), 2, _deadline(), WINDOW, CLOCK);
    }

    function test_createTask_revertsInvalidParams1ForADeadlineNotInTheFuture() public {
        _expectParams(1);
        _create(llama, _prompt(), 1, uint64(block.timestamp), WINDOW, CLOCK);
        _create(llama, _prompt(), 1, uint64(block.timestamp) + 1, WINDOW, CLOCK);
    }

    function test_createTask_revertsInvalidParams2ForAWindowOutsideItsBounds() public {
        // The floor grows with the task: 600 s + its n·2^K steps at 2^24 a second, rounded up;
        // this task has n = 2·3 = 6 nodes and K = 20: 6/16 of a second.
        uint64 lo = uint64(registry.minWindow(6, 20));
        assertEq(lo, 601);
        assertEq(registry.minWindow(1 << 10, 30), 600 + (1 << 16));
        uint64 hi = registry.MAX_WINDOW();
        _expectParams(2);
        _create(llama, _prompt(), 1, _deadline(), lo - 1, CLOCK);
        _expectParams(2);
        _create(llama, _prompt(), 1, _deadline(), hi + 1, CLOCK);
        _create(llama, _prompt(), 1, _deadline(), lo, CLOCK);
        _create(llama, _prompt(), 1, _deadline(), hi, CLOCK);
    }

    function test_createTask_revertsInvalidParams3ForAClockOutsideItsBounds() public {
        // The floor is one worst-case inclusion (30 s) per move: ⌈log2 6⌉ + K + 1 = 3 + 20 + 1 moves.
        uint64 lo = uint64(registry.minClock(6, 20));
        assertEq(lo, 24 * 30);
        uint64 hi = registry.MAX_CLOCK();
        _expectParams(3);
        _create(llama, _prompt(), 1, _deadline(), WINDOW, lo - 1);
        _expectParams(3);
        _create(llama, _prompt(), 1, _deadline(), WINDOW, hi + 1);
        _create(llama, _prompt(), 1, _deadline(), WINDOW, lo);
        _create(llama, _prompt(), 1, _deadline(), WINDOW, hi);
    }

    function test_createTask_revertsInvalidParams4ForEitherBondBelowTheMinimum() public {
        uint128 min = 0.01 ether;
        uint64 d = _deadline();
        vm.startPrank(requester);
        _expectParams(4);
        registry.createTask(llama, _prompt(), 1, d, WINDOW, CLOCK, min - 1, CBOND);
        _expectParams(4);
        registry.createTask(llama, _prompt(), 1, d, WINDOW, CLOCK, SBOND, min - 1);
        registry.createTask(llama, _prompt(), 1, d, WINDOW, CLOCK, min, min);
        vm.stopPrank();
    }

    function test_createTask_revertsInvalidParams5ForBondsOutsideTheRatio() public {
        uint64 d = _deadline();
        vm.startPrank(requester);
        // A challenger never risks more than the submitter.
        _expectParams(5);
        registry.createTask(llama, _prompt(), 1, d, WINDOW, CLOCK, 1 ether, 1 ether + 1);
        // A game locks at least a quarter of the bond it attacks.
        _expectParams(5);
        registry.createTask(llama, _prompt(), 1, d, WINDOW, CLOCK, 4 ether + 1, 1 ether);
        registry.createTask(llama, _prompt(), 1, d, WINDOW, CLOCK, 4 ether, 1 ether);
        registry.createTask(llama, _prompt(), 1, d, WINDOW, CLOCK, 1 ether, 1 ether);
        vm.stopPrank();
    }

    function test_createTask_revertsInvalidInput0ForAnEmptyOrRaggedPrompt() public {
        _expectInput(0);
        _create(llama, "", 1, _deadline(), WINDOW, CLOCK);
        _expectInput(0);
        _create(llama, hex"0000000b00", 1, _deadline(), WINDOW, CLOCK);
    }

    function test_createTask_revertsInvalidInput0WhenPPlusNMinus1ExceedsTheContext() public {
        // P = 2, S = 8: N = 7 fills the context exactly, N = 8 overflows it.
        _create(llama, _prompt(), S - 1, _deadline(), WINDOW, CLOCK);
        _expectInput(0);
        _create(llama, _prompt(), S, _deadline(), WINDOW, CLOCK);
    }

    function test_createTask_revertsInvalidInput1ForAPromptTokenAtOrAboveV() public {
        _create(llama, _enc2(0, V - 1), 1, _deadline(), WINDOW, CLOCK);
        _expectInput(1);
        _create(llama, _enc2(0, V), 1, _deadline(), WINDOW, CLOCK);
        // A negative i32 reads as a large u32: out of range too.
        _expectInput(1);
        _create(llama, _enc2(type(uint32).max, 0), 1, _deadline(), WINDOW, CLOCK);
    }

    function test_createTask_revertsInvalidInput2BeyondTwoPow32Nodes() public {
        // Step cap 1, so that 2^32 nodes re-run within the window floor (§6.3).
        ModelSpec memory m = _llamaSpec(uint32(1 << 31), 0);
        m.context = 64;
        m.stepCap = 1;
        bytes32 wide = models.register(m);
        // (P + N − 1)·nF = 2·2^31 = 2^32 nodes fits the accumulator; 3·2^31 does not.
        _create(wide, _enc2(1, 2), 1, _deadline(), WINDOW, CLOCK);
        _expectInput(2);
        _create(wide, _enc2(1, 2), 2, _deadline(), WINDOW, CLOCK);
    }

    function test_createTask_revertsInvalidInput0ForAnMLPInputOfTheWrongWidth() public {
        _expectInput(0);
        _create(mlp, new bytes(MLP_INPUT - 1), 1, _deadline(), WINDOW, CLOCK);
        _expectInput(0);
        _create(mlp, new bytes(MLP_INPUT + 1), 1, _deadline(), WINDOW, CLOCK);
    }

    function test_createTask_aRevertedCreationLeavesNoTaskAndNoETH() public {
        uint256 before = requester.balance;
        _expectInput(1);
        _create(llama, _enc2(0, V), 1, _deadline(), WINDOW, CLOCK);
        assertEq(registry.taskCount(), 0);
        assertEq(requester.balance, before);
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.UnknownTask.selector, 1));
        registry.task(1);
    }

    // -- commitResult and revealResult -----------------------------------------------------------

    function test_commitResult_locksTheBondHidesTheClaimAndEmits() public {
        uint256 taskId = _createTask();
        bytes32 c = _commitment(_enc2(5, 6), _sN(), alice, _salt(alice));
        vm.expectEmit(address(registry));
        emit TaskRegistry.ResultCommitted(1, taskId, alice, c);
        uint256 resultId = _commit(taskId, alice, _enc2(5, 6), _sN());
        TaskRegistry.Result memory r = registry.result(resultId);
        assertEq(uint8(r.status), uint8(TaskRegistry.ResultStatus.Committed));
        assertEq(r.commitment, c);
        assertEq(r.committedBlock, block.number);
        assertEq(r.finalState, bytes32(0));
        assertEq(registry.task(taskId).unrevealed, 1);
        assertEq(registry.task(taskId).pendingResults, 1);
        assertEq(registry.totalLocked(), REWARD + SBOND);
        assertFalse(registry.resultPending(resultId));
    }

    function test_revealResult_storesTheResultStartsTheWindowAndEmits() public {
        uint256 taskId = _createTask();
        bytes memory tokens = _enc2(5, 6);
        uint256 resultId = _commit(taskId, alice, tokens, _sN());
        vm.roll(block.number + 1);
        vm.warp(block.timestamp + 12);
        vm.expectEmit(address(registry));
        emit TaskRegistry.ResultRevealed(resultId, taskId, alice, tokens, _sN());
        vm.prank(carol); // anyone who knows the salt
        registry.revealResult(resultId, tokens, _sN(), _salt(alice));
        TaskRegistry.Result memory r = registry.result(resultId);
        assertEq(r.taskId, taskId);
        assertEq(r.submitter, alice);
        assertEq(uint8(r.status), uint8(TaskRegistry.ResultStatus.Pending));
        assertEq(r.submittedAt, block.timestamp);
        assertEq(r.liveGames, 0);
        assertEq(r.finalState, _sN());
        assertEq(r.tokensHash, keccak256(tokens));
        assertEq(registry.resultOf(taskId, alice), resultId);
        assertEq(registry.earliestOf(taskId, keccak256(abi.encode(keccak256(tokens), _sN()))), resultId);
        assertEq(registry.task(taskId).unrevealed, 0);
        assertEq(registry.task(taskId).pendingResults, 1);
        assertEq(address(registry).balance, REWARD + SBOND);
        assertTrue(registry.resultPending(resultId));
    }

    function test_commitResult_severalSubmittersHoldLiveResultsAtOnce() public {
        uint256 taskId = _createTask();
        uint256 a = _submit(taskId, alice, _enc2(5, 6), keccak256("lie"));
        uint256 d = _submit(taskId, dave, _enc2(5, 7), _sN());
        assertTrue(a != d);
        assertEq(registry.task(taskId).pendingResults, 2);
        assertEq(registry.totalLocked(), REWARD + 2 * SBOND);
    }

    function test_commitResult_revertsWrongValueWithTheBondAndTheValue() public {
        uint256 taskId = _createTask();
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.WrongValue.selector, SBOND, SBOND - 1));
        registry.commitResult{value: SBOND - 1}(taskId, keccak256("c"));
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.WrongValue.selector, SBOND, SBOND + 1));
        registry.commitResult{value: SBOND + 1}(taskId, keccak256("c"));
        vm.stopPrank();
    }

    function test_commitResult_revertsPastDeadlineButAcceptsTheDeadlineItself() public {
        uint256 taskId = _createTask();
        uint64 deadline = registry.task(taskId).deadline;
        vm.warp(deadline + 1);
        vm.expectRevert(TaskRegistry.PastDeadline.selector);
        _commit(taskId, alice, _enc2(5, 6), _sN());
        vm.warp(deadline);
        _commit(taskId, alice, _enc2(5, 6), _sN());
    }

    function test_commitResult_revertsAlreadySubmittedWithTheFirstResult() public {
        uint256 taskId = _createTask();
        uint256 first = _submit(taskId, alice, _enc2(5, 6), _sN());
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.AlreadySubmitted.selector, first));
        _commit(taskId, alice, _enc2(5, 7), keccak256("another"));
    }

    function test_revealResult_revertsRevealTooEarlyInTheCommitmentsBlock() public {
        uint256 taskId = _createTask();
        uint256 resultId = _commit(taskId, alice, _enc2(5, 6), _sN());
        vm.expectRevert(TaskRegistry.RevealTooEarly.selector);
        _reveal(resultId, alice, _enc2(5, 6), _sN());
    }

    function test_revealResult_revertsCommitmentMismatchForAnyOtherPreimage() public {
        uint256 taskId = _createTask();
        uint256 resultId = _commit(taskId, alice, _enc2(5, 6), _sN());
        vm.roll(block.number + 1);
        vm.expectRevert(TaskRegistry.CommitmentMismatch.selector);
        _reveal(resultId, alice, _enc2(5, 7), _sN());
        vm.expectRevert(TaskRegistry.CommitmentMismatch.selector);
        registry.revealResult(resultId, _enc2(5, 6), _sN(), keccak256("other salt"));
        _reveal(resultId, alice, _enc2(5, 6), _sN());
    }

    function test_revealResult_revertsRevealClosedFrom600SecondsAfterTheCommitmentAndNotCommittedTwice() public {
        uint256 taskId = _createTask();
        uint256 committed = block.timestamp;
        uint256 resultId = _commit(taskId, alice, _enc2(5, 6), _sN());
        assertEq(registry.result(resultId).committedAt, committed);
        vm.roll(block.number + 1);
        vm.warp(committed + 600);
        vm.expectRevert(TaskRegistry.RevealClosed.selector);
        _reveal(resultId, alice, _enc2(5, 6), _sN());
        vm.warp(committed + 599);
        _reveal(resultId, alice, _enc2(5, 6), _sN());
        vm.expectRevert(TaskRegistry.NotCommitted.selector);
        _reveal(resultId, alice, _enc2(5, 6), _sN());
    }

    function _commitBad(uint256 taskId, bytes memory tokens) internal returns (uint256 resultId) {
        resultId = _commit(taskId, alice, tokens, _sN());
        vm.roll(block.number + 1);
    }

    function test_revealResult_revertsInvalidInput0UnlessExactlyNTokens() public {
        uint256 taskId = _createTask();
        bytes[3] memory bad =
            [bytes.concat(bytes4(uint32(5))), bytes.concat(_enc2(5, 6), bytes4(uint32(7))), bytes.concat(_enc2(5, 6), hex"00")];
        for (uint256 k = 0; k < bad.length; k++) {
            vm.deal(makeAddr(string(abi.encode(k))), SBOND);
            uint256 resultId = _commit(taskId, makeAddr(string(abi.encode(k))), bad[k], _sN());
            vm.roll(block.number + 1);
            _expectInput(0);
            _reveal(resultId, makeAddr(string(abi.encode(k))), bad[k], _sN());
        }
    }

    function test_revealResult_revertsInvalidInput1ForATokenAtOrAboveV() public {
        uint256 taskId = _createTask();
        uint256 resultId = _commitBad(taskId, _enc2(5, V));
        _expectInput(1);
        _reveal(resultId, alice, _enc2(5, V), _sN());
        _submit(taskId, dave, _enc2(5, V - 1), _sN());
    }

    function test_commitResult_revertsUnknownTask() public {
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.UnknownTask.selector, 7));
        _commit(7, alice, _enc2(5, 6), _sN());
    }

    function test_commitResult_revertsTaskNotOpenOnceTheTaskIsFinalized() public {
        (uint256 taskId, uint256 resultId) = _taskAndResult();
        vm.warp(block.timestamp + WINDOW);
        registry.finalize(resultId);
        vm.expectRevert(TaskRegistry.TaskNotOpen.selector);
        _commit(taskId, dave, _enc2(5, 6), _sN());
    }

    // -- challenge --------------------------------------------------------------------------------

    function test_challenge_opensAGameLocksTheBondAndEmits() public {
        (, uint256 resultId) = _taskAndResult();
        vm.expectEmit(address(games));
        emit DisputeGame.GameOpened(1, resultId, bob, alice, 9);
        vm.expectEmit(address(registry));
        emit TaskRegistry.Challenged(resultId, 1, bob);
        uint256 gameId = _challenge(resultId, bob);
        assertEq(gameId, 1);
        assertEq(registry.gameOf(resultId, bob), gameId);
        assertEq(registry.result(resultId).liveGames, 1);
        assertEq(registry.totalLocked(), REWARD + SBOND + CBOND);
        DisputeGame.Game memory g = games.game(gameId);
        assertEq(g.challenger, bob);
        assertEq(g.submitter, alice);
        assertEq(g.resultId, resultId);
        assertEq(g.hi, 9);
        assertEq(g.hiHash, _sN());
    }

    function test_challenge_manyChallengersEachOpenOneGameInOrderButNeverTheSubmitter() public {
        (, uint256 resultId) = _taskAndResult();
        uint256 g1 = _challenge(resultId, bob);
        uint256 g2 = _challenge(resultId, dave);
        uint256 g3 = _challenge(resultId, requester);
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.TiedParty.selector, alice));
        _challenge(resultId, alice);
        assertEq(registry.result(resultId).liveGames, 3);
        TaskRegistry.GameRef[] memory refs = registry.gamesOf(resultId);
        assertEq(refs.length, 3);
        assertEq(refs[0].gameId, g1);
        assertEq(refs[1].gameId, g2);
        assertEq(refs[2].challenger, requester);
        assertEq(games.game(g3).challenger, requester);
    }

    function test_challenge_revertsWindowClosedAtTheEndOfTheWindow() public {
        (, uint256 resultId) = _taskAndResult();
        uint256 end = block.timestamp + WINDOW;
        vm.warp(end);
        vm.expectRevert(TaskRegistry.WindowClosed.selector);
        _challenge(resultId, bob);
        vm.warp(end - 1);
        _challenge(resultId, bob);
    }

    function test_challenge_revertsWrongValueWithTheBondAndTheValue() public {
        (, uint256 resultId) = _taskAndResult();
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.WrongValue.selector, CBOND, 0));
        registry.challenge(resultId);
    }

    function test_challenge_revertsAlreadyChallengedWithTheGame() public {
        (, uint256 resultId) = _taskAndResult();
        uint256 gameId = _challenge(resultId, bob);
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.AlreadyChallenged.selector, gameId));
        _challenge(resultId, bob);
    }

    function test_challenge_revertsResultNotPendingOnceRejected() public {
        (, uint256 resultId) = _taskAndResult();
        _proveMismatch(resultId, carol);
        vm.expectRevert(TaskRegistry.ResultNotPending.selector);
        _challenge(resultId, bob);
    }

    function test_challenge_revertsUnknownResult() public {
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.UnknownResult.selector, 3));
        _challenge(3, bob);
    }

    // -- proveTokenMismatch -----------------------------------------------------------------------

    /// @notice `who` proves token 1 wrong, naming itself: it opens a game first if it has none
    ///         (a recipient must hold a live game opened in an earlier block).
    function _proveMismatch(uint256 resultId, address who) internal {
        if (registry.gameOf(resultId, who) == 0) {
            _challenge(resultId, who);
            vm.roll(block.number + 1);
        }
        bytes32[] memory out = _outputs();
        vm.prank(who);
        registry.proveTokenMismatch(resultId, _enc2(5, 6), 1, out[8], SparseTree.accumulatorPath(out, 8), who);
    }

    function test_proveTokenMismatch_rejectsTheResultAndSplitsTheBondHalfAQuarterAndABurnedQuarter() public {
        (uint256 taskId, uint256 resultId) = _taskAndResult();
        _challenge(resultId, carol);
        vm.roll(block.number + 1);
        vm.expectEmit(address(registry));
        emit TaskRegistry.Credited(carol, SBOND / 2);
        vm.expectEmit(address(registry));
        emit TaskRegistry.Credited(requester, SBOND / 4);
        vm.expectEmit(address(registry));
        emit TaskRegistry.Credited(address(0), SBOND - SBOND / 2 - SBOND / 4);
        vm.expectEmit(address(registry));
        emit TaskRegistry.ResultRejected(resultId, carol);
        _proveMismatch(resultId, carol);
        assertEq(uint8(registry.result(resultId).status), uint8(TaskRegistry.ResultStatus.Rejected));
        assertEq(registry.credits(carol), SBOND / 2);
        assertEq(registry.credits(requester), SBOND / 4);
        assertEq(registry.credits(address(0)), SBOND - SBOND / 2 - SBOND / 4);
        assertEq(registry.task(taskId).pendingResults, 0);
        assertEq(registry.totalLocked(), REWARD + CBOND); // carol's game, refunded by abandon
        assertFalse(registry.resultPending(resultId));
    }

    function test_proveTokenMismatch_revertsTokensMismatchForOtherTokens() public {
        (, uint256 resultId) = _taskAndResult();
        bytes32[] memory out = _outputs();
        vm.expectRevert(TaskRegistry.TokensMismatch.selector);
        registry.proveTokenMismatch(resultId, _enc2(5, 7), 1, out[8], SparseTree.accumulatorPath(out, 8), carol);
    }

    function test_proveTokenMismatch_revertsTokenIndexOutOfRangeAtN() public {
        (, uint256 resultId) = _taskAndResult();
        bytes32[] memory out = _outputs();
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.TokenIndexOutOfRange.selector, 2));
        registry.proveTokenMismatch(resultId, _enc2(5, 6), 2, out[8], SparseTree.accumulatorPath(out, 8), carol);
    }

    function test_proveTokenMismatch_revertsInvalidProofForAWrongLeafOrANeighbouringIndex() public {
        (, uint256 resultId) = _taskAndResult();
        bytes32[] memory out = _outputs();
        // A leaf that is not in S_n.
        vm.expectRevert(TaskRegistry.InvalidProof.selector);
        registry.proveTokenMismatch(resultId, _enc2(5, 6), 1, _tokenRoot(9), SparseTree.accumulatorPath(out, 8), carol);
        // A valid path of leaf 7 (a neighbour of the derived index 8).
        vm.expectRevert(TaskRegistry.InvalidProof.selector);
        registry.proveTokenMismatch(resultId, _enc2(5, 6), 1, out[7], SparseTree.accumulatorPath(out, 7), carol);
        // A valid path of leaf 8, claimed for token 0 (derived index 5).
        vm.expectRevert(TaskRegistry.InvalidProof.selector);
        registry.proveTokenMismatch(resultId, _enc2(5, 6), 0, out[8], SparseTree.accumulatorPath(out, 8), carol);
        assertTrue(registry.resultPending(resultId));
    }

    function test_proveTokenMismatch_revertsTokenMatchesWhenTheLeafIsTheToken() public {
        (, uint256 resultId) = _taskAndResult();
        bytes32[] memory out = _outputs();
        vm.expectRevert(TaskRegistry.TokenMatches.selector);
        registry.proveTokenMismatch(resultId, _enc2(5, 6), 0, out[5], SparseTree.accumulatorPath(out, 5), carol);
    }

    function test_proveTokenMismatch_revertsResultNotPendingTheSecondTime() public {
        (, uint256 resultId) = _taskAndResult();
        _challenge(resultId, dave);
        _proveMismatch(resultId, carol);
        bytes32[] memory out = _outputs();
        vm.expectRevert(TaskRegistry.ResultNotPending.selector);
        registry.proveTokenMismatch(resultId, _enc2(5, 6), 1, out[8], SparseTree.accumulatorPath(out, 8), dave);
    }

    function test_proveTokenMismatch_paysTheEarliestLiveGameAndEndsItWithARefund() public {
        (, uint256 resultId) = _taskAndResult();
        uint256 gameId = _challenge(resultId, bob);
        _challenge(resultId, carol);
        vm.roll(block.number + 1);
        vm.expectEmit(address(registry));
        emit TaskRegistry.ResultRejected(resultId, bob);
        _proveMismatch(resultId, carol);
        assertEq(registry.credits(carol), 0);
        assertEq(registry.credits(bob), SBOND / 2);
        vm.expectEmit(address(registry));
        emit TaskRegistry.GameSettled(resultId, bob, Outcome.Refund);
        games.abandon(gameId);
        assertEq(registry.credits(bob), SBOND / 2 + CBOND);
        assertEq(registry.result(resultId).liveGames, 1); // carol's own game, still to abandon
    }

    function test_proveTokenMismatch_revertsNotAChallengerUnlessTheRecipientHoldsALiveGameFromAnEarlierBlock() public {
        (, uint256 resultId) = _taskAndResult();
        bytes32[] memory out = _outputs();
        bytes memory path = SparseTree.accumulatorPath(out, 8);
        // No game at all (the submitter can never have one).
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.NotAChallenger.selector, alice));
        registry.proveTokenMismatch(resultId, _enc2(5, 6), 1, out[8], path, alice);
        // A game opened in this very block: a copier cannot open one after seeing the proof.
        _challenge(resultId, carol);
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.NotAChallenger.selector, carol));
        registry.proveTokenMismatch(resultId, _enc2(5, 6), 1, out[8], path, carol);
        vm.roll(block.number + 1);
        registry.proveTokenMismatch(resultId, _enc2(5, 6), 1, out[8], path, carol);
        assertEq(registry.credits(carol), SBOND / 2);
    }

    // -- finalize ---------------------------------------------------------------------------------

    function test_finalize_afterTheWindowCreditsRewardAndBondAndEmits() public {
        (uint256 taskId, uint256 resultId) = _taskAndResult();
        vm.warp(block.timestamp + WINDOW);
        vm.expectEmit(address(registry));
        emit TaskRegistry.Credited(alice, REWARD + SBOND);
        vm.expectEmit(address(registry));
        emit TaskRegistry.TaskFinalized(taskId, resultId, alice);
        vm.prank(carol); // anyone
        registry.finalize(resultId);
        TaskRegistry.Task memory t = registry.task(taskId);
        assertEq(uint8(t.status), uint8(TaskRegistry.TaskStatus.Finalized));
        assertEq(t.winningResult, resultId);
        assertEq(t.pendingResults, 0);
        assertEq(uint8(registry.result(resultId).status), uint8(TaskRegistry.ResultStatus.Finalized));
        assertEq(registry.credits(alice), REWARD + SBOND);
        assertEq(registry.totalLocked(), 0);
        assertEq(registry.totalCredits(), REWARD + SBOND);
    }

    function test_finalize_revertsWindowOpenUntilTheWindowEnds() public {
        (, uint256 resultId) = _taskAndResult();
        vm.warp(block.timestamp + WINDOW - 1);
        vm.expectRevert(TaskRegistry.WindowOpen.selector);
        registry.finalize(resultId);
    }

    function test_finalize_revertsGamesLiveWithTheCount() public {
        (, uint256 resultId) = _taskAndResult();
        _challenge(resultId, bob);
        _challenge(resultId, dave);
        vm.warp(block.timestamp + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.GamesLive.selector, 2));
        registry.finalize(resultId);
    }

    function test_finalize_revertsTaskNotOpenForASecondResult() public {
        (uint256 taskId, uint256 first) = _taskAndResult();
        uint256 second = _submit(taskId, dave, _enc2(5, 7), _sN());
        vm.warp(block.timestamp + WINDOW);
        registry.finalize(first);
        vm.expectRevert(TaskRegistry.TaskNotOpen.selector);
        registry.finalize(second);
    }

    function test_finalize_revertsResultNotPendingForARejectedResult() public {
        (, uint256 resultId) = _taskAndResult();
        _proveMismatch(resultId, carol);
        vm.warp(block.timestamp + WINDOW);
        vm.expectRevert(TaskRegistry.ResultNotPending.selector);
        registry.finalize(resultId);
    }

    function test_finalize_isNotHeldUpByAnUnrevealedCommitment() public {
        // A griefer's commitment that never reveals cannot delay the task to its deadline: by the
        // end of a result's window every earlier commitment's reveal period has ended, and a later
        // one can never be the earliest of the claim.
        (uint256 taskId, uint256 resultId) = _taskAndResult();
        _commit(taskId, dave, _enc2(5, 6), _sN());
        vm.warp(block.timestamp + WINDOW);
        assertLt(block.timestamp, registry.task(taskId).deadline);
        registry.finalize(resultId);
        assertEq(registry.credits(alice), REWARD + SBOND);
    }

    function test_finalize_revertsEarlierCommitmentForALaterCommitmentOfTheSameClaim() public {
        uint256 taskId = _createTask();
        uint256 first = _commit(taskId, alice, _enc2(5, 6), _sN());
        uint256 second = _commit(taskId, dave, _enc2(5, 6), _sN());
        vm.roll(block.number + 1);
        _reveal(second, dave, _enc2(5, 6), _sN());
        vm.warp(block.timestamp + 100);
        _reveal(first, alice, _enc2(5, 6), _sN());
        vm.warp(block.timestamp + WINDOW - 100);
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.EarlierCommitment.selector, first));
        registry.finalize(second);
        vm.warp(block.timestamp + 100);
        registry.finalize(first);
        assertEq(registry.credits(alice), REWARD + SBOND);
    }

    function test_finalize_revertsUnknownResult() public {
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.UnknownResult.selector, 1));
        registry.finalize(1);
    }

    // -- releaseBond ------------------------------------------------------------------------------

    function test_releaseBond_returnsALosingRacersBondOnceTheTaskIsFinalized() public {
        (uint256 taskId, uint256 first) = _taskAndResult();
        uint256 second = _submit(taskId, dave, _enc2(5, 7), _sN());
        vm.warp(block.timestamp + WINDOW);
        registry.finalize(first);
        vm.expectEmit(address(registry));
        emit TaskRegistry.Credited(dave, SBOND);
        vm.expectEmit(address(registry));
        emit TaskRegistry.BondReleased(second, dave);
        vm.prank(carol);
        registry.releaseBond(second);
        assertEq(uint8(registry.result(second).status), uint8(TaskRegistry.ResultStatus.Released));
        assertEq(registry.credits(dave), SBOND);
        assertEq(registry.task(taskId).pendingResults, 0);
        assertEq(registry.totalLocked(), 0);
        vm.expectRevert(TaskRegistry.ResultNotPending.selector);
        registry.releaseBond(second);
    }

    function test_releaseBond_revertsTaskNotOpenWhileTheTaskIsOpen() public {
        (, uint256 resultId) = _taskAndResult();
        vm.expectRevert(TaskRegistry.TaskNotOpen.selector);
        registry.releaseBond(resultId);
    }

    function test_releaseBond_revertsGamesLiveWhileAGameRuns() public {
        (uint256 taskId, uint256 first) = _taskAndResult();
        vm.warp(block.timestamp + 1);
        uint256 second = _submit(taskId, dave, _enc2(5, 7), _sN());
        vm.warp(block.timestamp + WINDOW - 1);
        registry.finalize(first);
        _challenge(second, bob);
        vm.warp(block.timestamp + 1);
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.GamesLive.selector, 1));
        registry.releaseBond(second);
    }

    function test_releaseBond_revertsWindowOpenUntilTheResultsOwnWindowEnds() public {
        (uint256 taskId, uint256 first) = _taskAndResult();
        vm.warp(block.timestamp + 1);
        uint256 second = _submit(taskId, dave, _enc2(5, 7), _sN());
        vm.warp(block.timestamp + WINDOW - 1);
        registry.finalize(first);
        vm.expectRevert(TaskRegistry.WindowOpen.selector);
        registry.releaseBond(second);
        vm.warp(block.timestamp + 1);
        registry.releaseBond(second);
        assertEq(registry.credits(dave), SBOND);
    }

    function test_releaseBond_forfeitsAnUnrevealedCommitmentToTheRequesterAfterTheRevealPeriod() public {
        uint256 taskId = _createTask();
        uint256 resultId = _commit(taskId, alice, _enc2(5, 6), _sN());
        uint256 closes = block.timestamp + 600;
        vm.warp(closes - 1);
        vm.expectRevert(TaskRegistry.RevealOpen.selector);
        registry.releaseBond(resultId);
        vm.warp(closes);
        vm.expectEmit(address(registry));
        emit TaskRegistry.BondForfeited(resultId, requester);
        registry.releaseBond(resultId);
        assertEq(uint8(registry.result(resultId).status), uint8(TaskRegistry.ResultStatus.Forfeited));
        assertEq(registry.credits(requester), SBOND);
        assertEq(registry.task(taskId).unrevealed, 0);
        vm.warp(registry.task(taskId).deadline + 1);
        registry.refundTask(taskId);
        assertEq(registry.credits(requester), SBOND + REWARD);
    }

    // -- refundTask -------------------------------------------------------------------------------

    function test_refundTask_creditsTheRequesterAfterTheDeadlineWithNoResult() public {
        uint256 taskId = _createTask();
        vm.warp(registry.task(taskId).deadline + 1);
        vm.expectEmit(address(registry));
        emit TaskRegistry.Credited(requester, REWARD);
        vm.expectEmit(address(registry));
        emit TaskRegistry.TaskRefunded(taskId);
        vm.prank(carol);
        registry.refundTask(taskId);
        assertEq(uint8(registry.task(taskId).status), uint8(TaskRegistry.TaskStatus.Refunded));
        assertEq(registry.credits(requester), REWARD);
        assertEq(registry.totalLocked(), 0);
        vm.expectRevert(TaskRegistry.TaskNotOpen.selector);
        registry.refundTask(taskId);
    }

    function test_refundTask_revertsNotRefundableUpToTheDeadline() public {
        uint256 taskId = _createTask();
        vm.warp(registry.task(taskId).deadline);
        vm.expectRevert(TaskRegistry.NotRefundable.selector);
        registry.refundTask(taskId);
    }

    function test_refundTask_revertsNotRefundableWhileAResultIsPending() public {
        (uint256 taskId,) = _taskAndResult();
        vm.warp(registry.task(taskId).deadline + 1);
        vm.expectRevert(TaskRegistry.NotRefundable.selector);
        registry.refundTask(taskId);
    }

    function test_refundTask_succeedsOnceEveryResultIsRejected() public {
        (uint256 taskId, uint256 resultId) = _taskAndResult();
        _proveMismatch(resultId, carol);
        vm.warp(registry.task(taskId).deadline + 1);
        registry.refundTask(taskId);
        assertEq(registry.credits(requester), REWARD + SBOND / 4);
    }

    function test_refundTask_revertsUnknownTask() public {
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.UnknownTask.selector, 4));
        registry.refundTask(4);
    }

    // -- withdraw ---------------------------------------------------------------------------------

    function test_withdraw_sendsTheWholeCreditAndEmits() public {
        (, uint256 resultId) = _taskAndResult();
        vm.warp(block.timestamp + WINDOW);
        registry.finalize(resultId);
        uint256 before = alice.balance;
        vm.expectEmit(address(registry));
        emit TaskRegistry.Withdrawn(alice, REWARD + SBOND);
        vm.prank(alice);
        registry.withdraw();
        assertEq(alice.balance, before + REWARD + SBOND);
        assertEq(registry.credits(alice), 0);
        assertEq(registry.totalCredits(), 0);
        assertEq(address(registry).balance, 0);
    }

    function test_withdraw_revertsNothingToWithdraw() public {
        vm.prank(carol);
        vm.expectRevert(TaskRegistry.NothingToWithdraw.selector);
        registry.withdraw();
        (, uint256 resultId) = _taskAndResult();
        vm.warp(block.timestamp + WINDOW);
        registry.finalize(resultId);
        vm.startPrank(alice);
        registry.withdraw();
        vm.expectRevert(TaskRegistry.NothingToWithdraw.selector);
        registry.withdraw();
        vm.stopPrank();
    }

    function test_withdraw_revertsTransferFailedAndKeepsTheCreditForAnAccountThatRefusesETH() public {
        NoReceive account = new NoReceive();
        vm.deal(address(account), REWARD);
        bytes memory create = abi.encodeCall(
            TaskRegistry.createTask,
            (llama, _prompt(), 1, uint64(block.timestamp) + DEADLINE_IN, WINDOW, CLOCK, SBOND, CBOND)
        );
        uint256 taskId = abi.decode(account.call{value: REWARD}(address(registry), create), (uint256));
        vm.warp(block.timestamp + DEADLINE_IN + 1);
        registry.refundTask(taskId);
        vm.expectRevert(TaskRegistry.TransferFailed.selector);
        account.call(address(registry), abi.encodeCall(TaskRegistry.withdraw, ()));
        assertEq(registry.credits(address(account)), REWARD);
        assertEq(address(registry).balance, REWARD);
    }

    // -- settleGame and the views -----------------------------------------------------------------

    function test_settleGame_revertsOnlyGameForAnyoneButTheRegistrysGame() public {
        (, uint256 resultId) = _taskAndResult();
        _challenge(resultId, bob);
        vm.prank(bob);
        vm.expectRevert(TaskRegistry.OnlyGame.selector);
        registry.settleGame(1, resultId, bob, Outcome.ChallengerWon);
        assertTrue(registry.resultPending(resultId));
    }

    function test_nodeContext_isTheModelsAndTheTasksCommittedData() public {
        uint256 taskId = _createTask();
        NodeContext memory c = registry.nodeContext(taskId);
        assertEq(c.weightRoot, keccak256("weights"));
        assertEq(c.nF, NF);
        assertEq(c.jArgmax, J_ARGMAX);
        assertEq(c.nWeights, 9);
        assertEq(c.nPrograms, 12);
        assertEq(c.arch, 1);
        assertEq(c.stepCap, 20);
        assertEq(c.promptLength, 2);
        assertEq(c.inputRoot, registry.task(taskId).inputRoot);
        assertEq(c.node, 0);
        assertEq(c.accBefore, 0);
    }

    function test_games_isBoundToThisRegistry() public view {
        assertEq(address(games.registry()), address(registry));
        assertEq(address(registry.models()), address(models));
        assertEq(registry.version(), "0.2.0");
    }
}
