// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";
import {TaskRegistry} from "../src/TaskRegistry.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {GameTestBase} from "./harness/GameTestBase.sol";
import {GameHarness} from "./harness/GameHarness.sol";
import {GameBounds} from "../src/lib/GameBounds.sol";
import {SparseTree} from "./utils/SparseTree.sol";

/// @notice Drives the registry and its game with random sequences of every public move by a few
///         actors: tasks, results, challenges, bisection moves, level-1 games (via the harness),
///         time, timeouts, abandonment, finalization, bond release, refunds and withdrawals.
///         It records each task and result when it ends, and each game's opening, for the
///         invariants to check against later.
contract GameHandler is Test {
    TaskRegistry internal registry;
    DisputeGame internal games;
    GameHarness internal harness;
    bytes32[] internal models;
    address[] internal actors;

    uint256[] public taskIds;
    uint256[] public resultIds;
    uint256[] public gameIds;
    mapping(uint256 gameId => uint256) public openedAt;
    /// @notice The latest time a game can still be undecidable: 2·(clock + moves·increment) after opening.
    mapping(uint256 gameId => uint256) public boundOf;
    /// @notice A task as it was when it ended (finalized or refunded).
    mapping(uint256 taskId => bytes) public endedTask;
    /// @notice A result as it was when it was rejected.
    mapping(uint256 resultId => bytes) public rejectedResult;

    constructor(TaskRegistry registry_, GameHarness harness_, bytes32[] memory models_, address[] memory actors_) {
        registry = registry_;
        games = registry_.games();
        harness = harness_;
        models = models_;
        actors = actors_;
    }

    function taskCount() external view returns (uint256) {
        return taskIds.length;
    }

    function resultCount() external view returns (uint256) {
        return resultIds.length;
    }

    function gameCount() external view returns (uint256) {
        return gameIds.length;
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function actor(uint256 k) external view returns (address) {
        return actors[k];
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    /// @notice Record what just ended, so the invariants can check it never changes again.
    function _observe() internal {
        for (uint256 k = 0; k < taskIds.length; k++) {
            uint256 id = taskIds[k];
            TaskRegistry.Task memory t = registry.task(id);
            if (t.status != TaskRegistry.TaskStatus.Open && endedTask[id].length == 0) endedTask[id] = abi.encode(t);
        }
        for (uint256 k = 0; k < resultIds.length; k++) {
            uint256 id = resultIds[k];
            TaskRegistry.Result memory r = registry.result(id);
            if (r.status == TaskRegistry.ResultStatus.Rejected && rejectedResult[id].length == 0) {
                rejectedResult[id] = abi.encode(r);
            }
        }
    }

    // -- choosing what to act on ----------------------------------------------------------------

    uint8 internal constant LIVE = 0;
    uint8 internal constant SUBMITTER_BISECTS = 1;
    uint8 internal constant CHALLENGER_RESPONDS = 2;
    uint8 internal constant IN_TRANSITION = 3;
    uint8 internal constant RESULT_DECIDED = 4;
    uint8 internal constant OVERDRAWN = 5;
    uint8 internal constant AT_NOP_STEP = 6;

    function _gameIs(uint256 gameId, uint8 want) internal view returns (bool) {
        DisputeGame.Game memory g = games.game(gameId);
        if (uint8(g.stage) >= uint8(DisputeGame.Stage.SubmitterWon)) return false;
        if (want == SUBMITTER_BISECTS) return g.stage == DisputeGame.Stage.Bisect && !g.midPending;
        if (want == CHALLENGER_RESPONDS) return g.stage == DisputeGame.Stage.Bisect && g.midPending;
        if (want == IN_TRANSITION) return g.stage == DisputeGame.Stage.Transition;
        if (want == RESULT_DECIDED) return !registry.resultPending(g.resultId);
        if (want == AT_NOP_STEP) {
            return g.stage == DisputeGame.Stage.Step && g.loHash == _stateHash(_nopState())
                && block.timestamp - g.lastMove <= g.challengerClock;
        }
        if (want == OVERDRAWN) {
            uint64 left = games.submitterToMove(gameId) ? g.submitterClock : g.challengerClock;
            return block.timestamp - g.lastMove > left;
        }
        return true;
    }

    /// @notice The first game from a seeded start that is in the wanted state (else discard the call).
    function _game(uint256 seed, uint8 want) internal view returns (uint256) {
        for (uint256 k = 0; k < gameIds.length; k++) {
            uint256 id = gameIds[(seed + k) % gameIds.length];
            if (_gameIs(id, want)) return id;
        }
        vm.assume(false);
        return 0;
    }

    /// @notice The first pending result from a seeded start (else discard the call).
    function _pendingResult(uint256 seed) internal view returns (uint256) {
        for (uint256 k = 0; k < resultIds.length; k++) {
            uint256 id = resultIds[(seed + k) % resultIds.length];
            if (registry.resultPending(id)) return id;
        }
        vm.assume(false);
        return 0;
    }

    /// @notice The first open task from a seeded start (else discard the call).
    function _openTask(uint256 seed) internal view returns (uint256) {
        for (uint256 k = 0; k < taskIds.length; k++) {
            uint256 id = taskIds[(seed + k) % taskIds.length];
            if (registry.task(id).status == TaskRegistry.TaskStatus.Open) return id;
        }
        vm.assume(false);
        return 0;
    }

    // -- actions ----------------------------------------------------------------------------------

    function createTask(uint256 who, uint8 promptLen, uint8 newTokens, uint64 deadlineIn, uint64 window, uint64 clock)
        external
    {
        uint256 p = bound(promptLen, 1, 3);
        bytes memory prompt;
        for (uint256 k = 0; k < p; k++) {
            prompt = bytes.concat(prompt, bytes4(uint32(k + 1)));
        }
        deadlineIn = uint64(bound(deadlineIn, 1 hours, 3 days));
        // At least the floors of every task here (n ≤ 15, K = 20: 615 s and 750 s).
        window = uint64(bound(window, 1 hours, 1 days));
        clock = uint64(bound(clock, 1 hours, 6 hours));
        uint128 reward = uint128(bound(uint256(keccak256(abi.encode(who, window))), 0, 5 ether));
        // A third of the tasks ask for a quorum of 2 or 3 (§6.11).
        bytes memory args = abi.encode(
            models[who % models.length], prompt, uint32(bound(newTokens, 1, 3)), uint64(block.timestamp) + deadlineIn,
            window, clock, 0.3 ether + reward / 7, 0.1 ether + reward / 11
        );
        bytes memory data = clock % 3 == 0
            ? bytes.concat(registry.createQuorumTask.selector, args, abi.encode(uint8(2 + who % 2)))
            : bytes.concat(registry.createTask.selector, args);
        vm.prank(_actor(who));
        (bool ok, bytes memory ret) = address(registry).call{value: reward}(data);
        assertTrue(ok, "createTask within the bounds");
        taskIds.push(abi.decode(ret, (uint256)));
        _observe();
    }

    /// @notice A claim's preimage, kept for a later reveal.
    struct Preimage {
        bytes tokens;
        bytes32 finalState;
        bytes32 salt;
    }

    /// @notice Commitments made by `commitOnly`, not yet revealed.
    uint256[] public unrevealedIds;
    mapping(uint256 resultId => Preimage) internal _preimage;

    /// @notice A task's one correct claim (the "truth"), or a lie from a seed.
    function _claim(uint256 taskId, bool truthful, bytes32 lie) internal view returns (bytes memory tokens, bytes32 sN) {
        sN = truthful ? keccak256(abi.encode("truth", taskId)) : lie;
        uint256 n = registry.task(taskId).newTokens;
        for (uint256 k = 0; k < n; k++) {
            tokens = bytes.concat(tokens, bytes4(uint32(uint256(sN) >> (8 * k)) % 100));
        }
    }

    function _commit(uint256 who, uint256 taskId, bool truthful, bytes32 lie) internal returns (uint256 resultId) {
        (bytes memory tokens, bytes32 sN) = _claim(taskId, truthful, lie);
        address submitter = _actor(who);
        bytes32 salt = keccak256(abi.encode(who, taskId));
        uint128 bond = registry.task(taskId).submitterBond; // before the prank, which the next call takes
        vm.prank(submitter);
        resultId = registry.commitResult{value: bond}(taskId, keccak256(abi.encodePacked(tokens, sN, submitter, salt)));
        _preimage[resultId] = Preimage(tokens, sN, salt);
        resultIds.push(resultId);
    }

    function _reveal(uint256 resultId) internal {
        Preimage storage p = _preimage[resultId];
        registry.revealResult(resultId, p.tokens, p.finalState, p.salt);
    }

    /// @notice Commit, then reveal a block later: the truth or a lie.
    function submitResult(uint256 who, uint256 taskSeed, bool truthful, bytes32 lie) external {
        uint256 resultId = _commit(who, _openTask(taskSeed), truthful, lie);
        vm.roll(block.number + 1);
        _reveal(resultId);
        _observe();
    }

    /// @notice Commit only; `reveal` or `forfeit` may follow.
    function commitOnly(uint256 who, uint256 taskSeed, bool truthful, bytes32 lie) external {
        unrevealedIds.push(_commit(who, _openTask(taskSeed), truthful, lie));
        vm.roll(block.number + 1);
        _observe();
    }

    function _committed(uint256 seed) internal view returns (uint256) {
        for (uint256 k = 0; k < unrevealedIds.length; k++) {
            uint256 id = unrevealedIds[(seed + k) % unrevealedIds.length];
            if (registry.result(id).status == TaskRegistry.ResultStatus.Committed) return id;
        }
        vm.assume(false);
        return 0;
    }

    function reveal(uint256 seed) external {
        _reveal(_committed(seed));
        _observe();
    }

    function forfeit(uint256 seed) external {
        registry.releaseBond(_committed(seed));
        _observe();
    }

    function challenge(uint256 who, uint256 resultSeed) external {
        uint256 resultId = _pendingResult(resultSeed);
        TaskRegistry.Task memory t = registry.task(registry.result(resultId).taskId);
        address challenger = _actor(who);
        if (challenger == registry.result(resultId).submitter) challenger = _actor(who + 1);
        vm.prank(challenger);
        uint256 gameId = registry.challenge{value: t.challengerBond}(resultId);
        gameIds.push(gameId);
        openedAt[gameId] = block.timestamp;
        // Every model here has K = 20, and the harness enters level 1 with at most 2^20 steps.
        uint256 moves = GameBounds.maxMoves(t.nodes, 20);
        boundOf[gameId] = block.timestamp + 2 * (uint256(t.clock) + moves * GameBounds.CLOCK_INCREMENT);
        _observe();
    }

    function bisect(uint256 gameSeed, bytes32 claim, uint256 delay) external {
        uint256 gameId = _game(gameSeed, SUBMITTER_BISECTS);
        vm.warp(block.timestamp + bound(delay, 0, 1 hours));
        DisputeGame.Game memory g = games.game(gameId);
        vm.prank(g.submitter);
        games.bisect(gameId, g.round, claim);
        _observe();
    }

    function respond(uint256 gameSeed, bool agree, uint256 delay) external {
        uint256 gameId = _game(gameSeed, CHALLENGER_RESPONDS);
        vm.warp(block.timestamp + bound(delay, 0, 1 hours));
        DisputeGame.Game memory g = games.game(gameId);
        vm.prank(g.challenger);
        games.respond(gameId, g.round, agree);
        _observe();
    }

    /// @notice Stand-in for a proven transition: a game in Transition enters level 1.
    function enterLevel1(uint256 gameSeed, uint64 steps) external {
        uint256 gameId = _game(gameSeed, IN_TRANSITION);
        // Half the time one step, so that `step` can decide (and disprove) from the NOP start.
        uint64 n = steps % 2 == 0 ? 1 : uint64(bound(steps, 1, 1 << 20));
        harness.forceLevel1(gameId, n, _stateHash(_nopState()), keccak256("final"));
    }

    /// @notice A running state at 0x00400000 over an all-zero memory: its instruction is a NOP.
    function _nopState() internal pure returns (bytes memory st) {
        uint32 pc = 0x00400000;
        st = abi.encodePacked(SparseTree.zero(27), bytes32(0), uint32(0), pc, pc + 4, uint32(0), uint32(0));
        st = abi.encodePacked(st, uint32(0x90000000), uint8(0), uint8(0), uint64(0), new bytes(128));
    }

    function _stateHash(bytes memory st) internal pure returns (bytes32) {
        return bytes32((uint256(keccak256(st)) & ~(uint256(0xff) << 248)) | (uint256(3) << 248));
    }

    /// @notice The final step of a game still at its NOP start: MIPS decides; a claim it shows
    ///         wrong is disproven for every result making it (§6.11).
    function step(uint256 gameSeed) external {
        uint256 gameId = _game(gameSeed, AT_NOP_STEP);
        bytes memory proof = abi.encodePacked(bytes32(0), uint32((1 << 27) - 1)); // the zero word, 27 zero siblings
        games.step(gameId, _nopState(), proof, true);
        _observe();
    }

    /// @notice Slash a pending result whose claim was disproven on another result.
    function slashDisproven(uint256 resultSeed) external {
        registry.slashDisproven(_pendingResult(resultSeed));
        _observe();
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + bound(secs, 1, 12 hours));
    }

    function timeout(uint256 gameSeed) external {
        games.timeout(_game(gameSeed, OVERDRAWN));
        _observe();
    }

    function abandon(uint256 gameSeed) external {
        games.abandon(_game(gameSeed, RESULT_DECIDED));
        _observe();
    }

    function finalize(uint256 resultSeed) external {
        registry.finalize(_pendingResult(resultSeed));
        _observe();
    }

    function releaseBond(uint256 resultSeed) external {
        registry.releaseBond(_pendingResult(resultSeed));
        _observe();
    }

    function refundTask(uint256 taskSeed) external {
        registry.refundTask(_openTask(taskSeed));
        _observe();
    }

    function withdraw(uint256 who) external {
        address a = _actor(who);
        for (uint256 k = 0; k < actors.length && registry.credits(a) == 0; k++) {
            a = _actor(who + k);
        }
        uint256 before = a.balance;
        uint256 credit = registry.credits(a);
        vm.prank(a);
        registry.withdraw();
        assertEq(a.balance, before + credit, "the whole credit arrives");
    }
}

/// @notice Invariants of the registry and its games (docs/SPEC.md §6.3–§6.5) under random play.
contract Invariants_Test is StdInvariant, GameTestBase {
    GameHandler internal handler;

    function setUp() public override {
        super.setUp();
        GameHarness harness = _useHarness();
        address[] memory actors = new address[](4);
        (actors[0], actors[1], actors[2], actors[3]) = (requester, alice, bob, dave);
        for (uint256 k = 0; k < actors.length; k++) {
            vm.deal(actors[k], 1_000_000 ether);
        }
        // The test LLaMA (n = 3 … 15 nodes) and a one-node-per-token model (n = 1 … 5).
        bytes32[] memory ms = new bytes32[](2);
        (ms[0], ms[1]) = (llama, _registerWide(1, S));
        handler = new GameHandler(registry, harness, ms, actors);
        // Moves need live games, so the calls that make them are weighted up by repetition.
        bytes4[] memory selectors = new bytes4[](24);
        selectors[0] = GameHandler.createTask.selector;
        selectors[1] = GameHandler.submitResult.selector;
        selectors[2] = GameHandler.submitResult.selector;
        selectors[3] = GameHandler.challenge.selector;
        selectors[4] = GameHandler.challenge.selector;
        selectors[5] = GameHandler.bisect.selector;
        selectors[6] = GameHandler.bisect.selector;
        selectors[7] = GameHandler.respond.selector;
        selectors[8] = GameHandler.respond.selector;
        selectors[9] = GameHandler.enterLevel1.selector;
        selectors[10] = GameHandler.warp.selector;
        selectors[11] = GameHandler.timeout.selector;
        selectors[12] = GameHandler.timeout.selector;
        selectors[13] = GameHandler.abandon.selector;
        selectors[14] = GameHandler.finalize.selector;
        selectors[15] = GameHandler.releaseBond.selector;
        selectors[16] = GameHandler.refundTask.selector;
        selectors[17] = GameHandler.withdraw.selector;
        selectors[18] = GameHandler.createTask.selector;
        selectors[19] = GameHandler.commitOnly.selector;
        selectors[20] = GameHandler.reveal.selector;
        selectors[21] = GameHandler.forfeit.selector;
        selectors[22] = GameHandler.step.selector;
        selectors[23] = GameHandler.slashDisproven.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// @notice All ETH held is withdrawable credit or locked (rewards of open tasks, live bonds).
    function invariant_balanceIsCreditsPlusLocked() public view {
        assertEq(address(registry).balance, registry.totalCredits() + registry.totalLocked());
    }

    /// @notice Locked is exactly the rewards of open tasks, the bonds of pending results and the
    ///         challenger bonds of live games; credits are exactly the actors' credits.
    function invariant_lockedAndCreditsAreTheirParts() public view {
        uint256 locked;
        for (uint256 k = 0; k < handler.taskCount(); k++) {
            TaskRegistry.Task memory t = registry.task(handler.taskIds(k));
            if (t.status == TaskRegistry.TaskStatus.Open) locked += t.reward;
        }
        for (uint256 k = 0; k < handler.resultCount(); k++) {
            TaskRegistry.Result memory r = registry.result(handler.resultIds(k));
            if (r.status == TaskRegistry.ResultStatus.Pending || r.status == TaskRegistry.ResultStatus.Committed) {
                locked += registry.task(r.taskId).submitterBond;
            }
        }
        for (uint256 k = 0; k < handler.gameCount(); k++) {
            DisputeGame.Game memory g = games.game(handler.gameIds(k));
            if (uint8(g.stage) < uint8(DisputeGame.Stage.SubmitterWon)) {
                locked += registry.task(g.taskId).challengerBond;
            }
        }
        assertEq(registry.totalLocked(), locked, "locked");
        uint256 credits = registry.credits(address(0)); // burned
        for (uint256 k = 0; k < handler.actorCount(); k++) {
            credits += registry.credits(handler.actor(k));
        }
        assertEq(registry.totalCredits(), credits, "credits");
    }

    /// @notice A finalized or refunded task never changes again; only its count of pending
    ///         results may still fall as the losing racers' bonds are released or lost.
    function invariant_anEndedTaskNeverChanges() public view {
        for (uint256 k = 0; k < handler.taskCount(); k++) {
            uint256 id = handler.taskIds(k);
            bytes memory then = handler.endedTask(id);
            if (then.length == 0) continue;
            TaskRegistry.Task memory was = abi.decode(then, (TaskRegistry.Task));
            TaskRegistry.Task memory cur = registry.task(id);
            assertLe(cur.pendingResults, was.pendingResults, "pending results only fall");
            assertLe(cur.unrevealed, was.unrevealed, "unrevealed commitments only fall (forfeited)");
            cur.pendingResults = was.pendingResults;
            cur.unrevealed = was.unrevealed;
            assertEq(abi.encode(cur), then, "an ended task never changes");
        }
    }

    /// @notice A rejected result never changes again; only its count of live games may fall as
    ///         they end with refunds.
    function invariant_aRejectedResultNeverChanges() public view {
        for (uint256 k = 0; k < handler.resultCount(); k++) {
            uint256 id = handler.resultIds(k);
            bytes memory then = handler.rejectedResult(id);
            if (then.length == 0) continue;
            TaskRegistry.Result memory was = abi.decode(then, (TaskRegistry.Result));
            TaskRegistry.Result memory cur = registry.result(id);
            assertLe(cur.liveGames, was.liveGames, "live games only fall");
            cur.liveGames = was.liveGames;
            assertEq(abi.encode(cur), then, "a rejected result never changes");
        }
    }

    /// @notice Every live game can be decided by `timeout` once 2·(clock + moves·increment) has
    ///         passed since it opened (§6.4).
    function invariant_everyLiveGameIsDecidableWithinItsBound() public {
        for (uint256 k = 0; k < handler.gameCount(); k++) {
            uint256 id = handler.gameIds(k);
            DisputeGame.Game memory g = games.game(id);
            if (uint8(g.stage) >= uint8(DisputeGame.Stage.SubmitterWon)) continue;
            if (block.timestamp <= handler.boundOf(id)) continue;
            uint256 snap = vm.snapshotState();
            games.timeout(id); // must not revert
            assertTrue(uint8(games.game(id).stage) >= uint8(DisputeGame.Stage.SubmitterWon));
            vm.revertToState(snap);
        }
    }

    /// @notice H-2 (SPEC §6.10): a finalized task's winner is the earliest surviving commitment
    ///         of its claim: every lower-id result of the task that revealed the same claim was
    ///         rejected (a pending one blocks `finalize`, and releases come only after it).
    function invariant_theWinnerIsTheEarliestSurvivingCommitmentOfItsClaim() public view {
        for (uint256 k = 0; k < handler.taskCount(); k++) {
            uint256 taskId = handler.taskIds(k);
            TaskRegistry.Task memory t = registry.task(taskId);
            if (t.status != TaskRegistry.TaskStatus.Finalized) continue;
            TaskRegistry.Result memory w = registry.result(t.winningResult);
            for (uint256 j = 0; j < handler.resultCount(); j++) {
                uint256 id = handler.resultIds(j);
                if (id >= t.winningResult) continue;
                TaskRegistry.Result memory r = registry.result(id);
                if (r.taskId != taskId || r.finalState != w.finalState || r.tokensHash != w.tokensHash) continue;
                if (r.status == TaskRegistry.ResultStatus.Committed || r.status == TaskRegistry.ResultStatus.Forfeited) {
                    continue; // never revealed: no claim
                }
                assertEq(uint8(r.status), uint8(TaskRegistry.ResultStatus.Rejected), "an earlier commitment was passed over");
            }
        }
    }

    /// @notice M-1 (SPEC §6.10): exactly the burned quarter of every rejected bond sits in the
    ///         burn account, so lying always costs at least that much, whoever the payees are.
    function invariant_theBurnIsTheRestOfEveryRejectedBond() public view {
        uint256 burned;
        for (uint256 k = 0; k < handler.resultCount(); k++) {
            TaskRegistry.Result memory r = registry.result(handler.resultIds(k));
            if (r.status != TaskRegistry.ResultStatus.Rejected) continue;
            uint256 b = registry.task(r.taskId).submitterBond;
            burned += b - b / 2 - b / 4;
        }
        assertEq(registry.credits(address(0)), burned);
    }
}
