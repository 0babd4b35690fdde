// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TaskRegistry} from "../src/TaskRegistry.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {GameBounds} from "../src/lib/GameBounds.sol";
import {GameTestBase} from "./harness/GameTestBase.sol";
import {GameHarness} from "./harness/GameHarness.sol";
import {SparseTree} from "./utils/SparseTree.sol";
import {ModelSpec} from "../src/lib/GameTypes.sol";

/// @notice The attacks of issue 17 (docs/SPEC.md §6.10), each replayed end to end against the
///         v2 contracts. Every test plays the attacker's best line and ends by showing that it
///         does not profit: what the attacker and its puppets put in versus what they take out.
///         Level 1 is entered through GameHarness where a real transition would need model data
///         (a submitter move, so it is played at no cost to the liar), and the final step is a
///         real MIPS step of a NOP.
contract Attacks_Test is GameTestBase {
    uint64 internal constant L = GameBounds.INCLUSION_LATENCY;
    uint32 internal constant PC = 0x00400000;

    GameHarness internal harness;

    function setUp() public override {
        super.setUp();
        harness = _useHarness();
    }

    // -- helpers ----------------------------------------------------------------------------------

    /// @notice A running state at PC over an all-zero memory: its instruction is a NOP.
    function _preState() internal pure returns (bytes memory s) {
        bytes memory regs = new bytes(128);
        s = abi.encodePacked(SparseTree.zero(27), bytes32(0), uint32(0), PC, PC + 4, uint32(0), uint32(0));
        s = abi.encodePacked(s, uint32(0x90000000), uint8(0), uint8(0), uint64(0), regs);
    }

    function _stateHash(bytes memory s) internal pure returns (bytes32) {
        return bytes32((uint256(keccak256(s)) & ~(uint256(0xff) << 248)) | (uint256(3) << 248));
    }

    function _nopProof() internal pure returns (bytes memory p) {
        p = abi.encodePacked(bytes32(0));
        for (uint256 h = 0; h < 27; h++) {
            p = abi.encodePacked(p, SparseTree.zero(h));
        }
    }

    /// @notice The default task (n = 9 nodes, K = 20) at the shortest clock the registry allows.
    function _shortestClockTask() internal returns (uint256 taskId, uint64 clock) {
        clock = uint64(registry.minClock(9, 20));
        vm.prank(requester);
        taskId = registry.createTask{value: REWARD}(
            llama, _prompt(), 2, uint64(block.timestamp) + DEADLINE_IN, WINDOW, clock, SBOND, CBOND
        );
    }

    /// @notice The 9 node outputs of an S_n whose argmax leaf 8 holds token 7 (leaf 5 token 5).
    function _outputs() internal pure returns (bytes32[] memory out) {
        out = new bytes32[](9);
        for (uint256 i = 0; i < 9; i++) {
            out[i] = keccak256(abi.encode("output", i));
        }
        out[5] = bytes32(bytes4(uint32(5)));
        out[8] = bytes32(bytes4(uint32(7)));
    }

    function _proveTokenMismatch(uint256 resultId, address sender, address recipient) internal {
        bytes32[] memory out = _outputs();
        vm.prank(sender);
        registry.proveTokenMismatch(resultId, _enc2(5, 6), 1, out[8], SparseTree.accumulatorPath(out, 8), recipient);
    }

    /// @notice A party moves after `delay` seconds (its inclusion latency).
    function _after(uint256 delay) internal {
        vm.warp(block.timestamp + delay);
        vm.roll(block.number + 1);
    }

    // -- H-1: the clock decides instead of the computation ---------------------------------------

    /// @notice A liar answers every move in the same block; the honest challenger needs twice
    ///         the worst-case inclusion latency for each of its moves, on the shortest clock the
    ///         registry allows. Under v1 (60 s, no increment) it ran out after a handful of its
    ///         30 moves. Now each move repays L and the clock holds a whole game of L: the liar
    ///         can never claim a timeout, and the game is decided by the computation.
    function test_H1_sameBlockLiarCannotWinOnTime() public {
        (uint256 taskId, uint64 clock) = _shortestClockTask();
        uint256 resultId = _submit(taskId, alice, _enc2(5, 6), keccak256("a lie"));
        uint256 gameId = _challenge(resultId, bob);
        bytes memory pre = _preState();
        uint256 challengerMoves;
        // Level 0: the liar bisects at once; the challenger disputes each lie after 2·L.
        while (games.game(gameId).stage == DisputeGame.Stage.Bisect) {
            _bisect(gameId, keccak256(abi.encode("lie", _round(gameId))));
            _after(2 * L);
            _respond(gameId, false);
            challengerMoves++;
        }
        // The liar's transition (a submitter move at no cost to it) opens level 1 over 2^K steps
        // whose agreed start is the NOP state; every claim after it is a lie.
        harness.forceLevel1(gameId, uint64(1) << 20, _stateHash(pre), keccak256("a false final state"));
        while (games.game(gameId).stage == DisputeGame.Stage.Bisect) {
            _bisect(gameId, keccak256(abi.encode("lie", _round(gameId))));
            _after(2 * L);
            // The liar cannot end the game on time at any point of the challenger's move.
            DisputeGame.Game memory g = games.game(gameId);
            assertGt(g.challengerClock, 2 * L, "the challenger never runs short");
            vm.expectRevert();
            games.timeout(gameId);
            _respond(gameId, false);
            challengerMoves++;
        }
        // Disputing every claim halves [0, 9] down to [0, 1] in 3 rounds, then 2^20 steps in 20.
        assertEq(challengerMoves, 3 + 20, "every round of both levels was played");
        _after(2 * L);
        games.step(gameId, pre, _nopProof(), false);
        assertEq(uint8(games.game(gameId).stage), uint8(DisputeGame.Stage.ChallengerWon), "the computation decides");
        // The liar lost its bond; the honest challenger took half of it and its own bond back.
        assertEq(registry.credits(alice), 0);
        assertEq(registry.credits(bob), CBOND + SBOND / 2);
        // Its clock after 24 moves of 2·L each (23 responses and the step): clock − 24·2L + 24·L,
        // still positive on the floor of 25·L.
        assertEq(games.game(gameId).challengerClock, clock - 24 * L);
    }

    /// @notice The v1 terms of the attack (a 60 s clock, a 60 s window) are refused outright,
    ///         as is anything under the floors derived from the task; a requester can no longer
    ///         set up a short-clock task for a puppet challenger to take an honest bond on time.
    function test_H1_shortClockOrWindowTaskIsRefused() public {
        uint64 d = uint64(block.timestamp) + DEADLINE_IN;
        uint64 minClock = uint64(registry.minClock(9, 20));
        uint64 minWindow = uint64(registry.minWindow(9, 20));
        assertEq(minClock, (4 + 20 + 1) * L, "one worst-case inclusion per move of a party");
        vm.startPrank(requester);
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.InvalidParams.selector, 3));
        registry.createTask(llama, _prompt(), 2, d, WINDOW, 60, SBOND, CBOND);
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.InvalidParams.selector, 3));
        registry.createTask(llama, _prompt(), 2, d, WINDOW, minClock - 1, SBOND, CBOND);
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.InvalidParams.selector, 2));
        registry.createTask(llama, _prompt(), 2, d, 60, CLOCK, SBOND, CBOND);
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.InvalidParams.selector, 2));
        registry.createTask(llama, _prompt(), 2, d, minWindow - 1, CLOCK, SBOND, CBOND);
        vm.stopPrank();
    }

    /// @notice The puppet side of H-1: a requester's puppet challenges an honest result and
    ///         answers at once; the honest submitter takes 2·L per move on the shortest clock.
    ///         The puppet cannot win on time and, at the step, cannot win at all: it loses its bond.
    function test_H1_puppetChallengerCannotTimeOutAnHonestSubmitter() public {
        (uint256 taskId,) = _shortestClockTask();
        bytes memory pre = _preState();
        bytes32 post = mips.step(pre, _nopProof(), 0);
        uint256 resultId = _submit(taskId, alice, _enc2(5, 6), keccak256("the true S_n"));
        uint256 gameId = _challenge(resultId, dave); // the requester's puppet
        while (games.game(gameId).stage == DisputeGame.Stage.Bisect) {
            _after(2 * L);
            _bisect(gameId, keccak256(abi.encode("truth", _round(gameId))));
            _respond(gameId, false); // the puppet disputes everything, at once
        }
        // The transition stand-in is not a charged move, so it is posted at once here (a real
        // one at 2·L would cost the submitter L net, and its 24 moves at 2·L fit its 25·L).
        harness.forceLevel1(gameId, uint64(1) << 20, _stateHash(pre), post);
        while (games.game(gameId).stage == DisputeGame.Stage.Bisect) {
            _after(2 * L);
            DisputeGame.Game memory g = games.game(gameId);
            bytes32 claim = g.hi - g.lo == 2 ? post : keccak256(abi.encode("truth", g.round));
            _bisect(gameId, claim);
            _respond(gameId, false);
        }
        // At (0, 1) both ends are true; the step, whoever calls it, decides for the submitter.
        games.step(gameId, pre, _nopProof(), false);
        assertEq(uint8(games.game(gameId).stage), uint8(DisputeGame.Stage.SubmitterWon));
        assertEq(registry.credits(alice), CBOND, "the puppet's bond goes to the honest submitter");
        assertEq(registry.credits(dave), 0);
    }

    // -- H-2: copying a result steals the reward ---------------------------------------------------

    /// @notice A copier sees alice's reveal, commits and reveals the same claim, and delays
    ///         alice's result with a puppet game so that its own window ends first. It cannot
    ///         finalize ahead of the earliest commitment; alice is paid the reward and the
    ///         puppet's bond, and the copier gets back exactly its own bond.
    function test_H2_copierCannotFinalizeAheadOfTheEarliestCommitment() public {
        uint256 taskId = _createTask();
        bytes memory tokens = _enc2(5, 6);
        bytes32 sN = keccak256("the true S_n");
        uint256 honest = _submit(taskId, alice, tokens, sN);
        uint256 copy = _submit(taskId, dave, tokens, sN); // copied from alice's reveal
        uint256 puppetGame = _challenge(honest, carol); // dave's puppet delays alice
        _bisect(puppetGame, keccak256("mid")); // alice defends; the puppet stalls
        vm.warp(block.timestamp + WINDOW);
        assertEq(registry.result(honest).liveGames, 1);
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.EarlierCommitment.selector, honest));
        registry.finalize(copy);
        // The puppet lost on time; alice finalizes.
        games.timeout(puppetGame);
        registry.finalize(honest);
        registry.releaseBond(copy);
        assertEq(registry.credits(alice), REWARD + SBOND + CBOND);
        assertEq(registry.credits(dave), SBOND, "the copier recovers only its bond");
        assertEq(registry.credits(carol), 0, "the puppet lost its bond");
    }

    /// @notice A copier that front-runs alice's commitment with the same bytes cannot reveal it
    ///         (the commitment binds the submitter), and one that sees alice's reveal in the
    ///         mempool cannot commit and reveal ahead of it in the same block.
    function test_H2_copiedCommitmentCannotBeRevealedByTheCopier() public {
        uint256 taskId = _createTask();
        bytes memory tokens = _enc2(5, 6);
        bytes32 sN = keccak256("the true S_n");
        bytes32 c = _commitment(tokens, sN, alice, _salt(alice));
        vm.prank(dave);
        uint256 copied = registry.commitResult{value: SBOND}(taskId, c); // front-run, same bytes
        uint256 honest = _commit(taskId, alice, tokens, sN);
        vm.roll(block.number + 1);
        // Alice's reveal is public; the copier replays her preimage against its own commitment.
        _reveal(honest, alice, tokens, sN);
        vm.prank(dave);
        vm.expectRevert(TaskRegistry.CommitmentMismatch.selector);
        registry.revealResult(copied, tokens, sN, _salt(alice));
        // A fresh commit-and-reveal in one block is refused.
        vm.prank(carol);
        uint256 late = registry.commitResult{value: SBOND}(taskId, _commitment(tokens, sN, carol, _salt(carol)));
        vm.expectRevert(TaskRegistry.RevealTooEarly.selector);
        _reveal(late, carol, tokens, sN);
        // The copied commitment never reveals and forfeits its bond to the requester.
        vm.warp(uint256(registry.task(taskId).deadline) + GameBounds.REVEAL_PERIOD + 1);
        registry.releaseBond(copied);
        assertEq(registry.credits(dave), 0);
        assertEq(registry.credits(requester), SBOND);
        registry.finalize(honest);
        assertEq(registry.credits(alice), REWARD + SBOND);
    }

    // -- M-1: a liar chooses who catches it --------------------------------------------------------

    /// @notice The liar plants a token mismatch in its own S_n and has a puppet prove it after
    ///         an honest challenger opened its game. The payee is the earliest-opened live game:
    ///         the honest challenger, never the puppet.
    function test_M1_plantedTokenMismatchPaysTheEarliestHonestGame() public {
        uint256 taskId = _createTask();
        uint256 resultId = _submit(taskId, alice, _enc2(5, 6), SparseTree.accumulator(_outputs()));
        uint256 honestGame = _challenge(resultId, bob);
        _after(12);
        uint256 puppetGame = _challenge(resultId, carol);
        _after(12);
        _proveTokenMismatch(resultId, carol, carol);
        games.abandon(honestGame);
        games.abandon(puppetGame);
        assertEq(registry.credits(bob), CBOND + SBOND / 2, "the honest game is paid");
        assertEq(registry.credits(carol), CBOND, "the puppet only gets its bond back");
        assertEq(registry.credits(alice), 0);
        assertEq(registry.credits(requester), SBOND / 4);
    }

    /// @notice The liar is its own requester and opens a puppet game before anyone, then loses
    ///         it on time; the honest game ends as a refund. The liar cannot challenge itself
    ///         (TiedParty), and even owning every payee it loses the burned quarter of its bond.
    function test_M1_puppetGameAndSelfRequestStillCostTheLiar() public {
        uint256 before = alice.balance + dave.balance;
        vm.prank(alice); // requester = liar
        uint256 taskId = registry.createTask{value: REWARD}(
            llama, _prompt(), 2, uint64(block.timestamp) + DEADLINE_IN, WINDOW, CLOCK, SBOND, CBOND
        );
        uint256 resultId = _submit(taskId, alice, _enc2(5, 6), keccak256("a lie"));
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.TiedParty.selector, alice));
        _challenge(resultId, alice);
        uint256 puppetGame = _challenge(resultId, dave);
        uint256 honestGame = _challenge(resultId, bob);
        vm.warp(block.timestamp + CLOCK + 1);
        games.timeout(puppetGame); // the liar's chosen catcher
        games.abandon(honestGame);
        vm.warp(registry.task(taskId).deadline + 1);
        registry.refundTask(taskId);
        vm.prank(alice);
        registry.withdraw();
        vm.prank(dave);
        registry.withdraw();
        uint256 burned = SBOND - SBOND / 2 - SBOND / 4;
        assertEq(before - (alice.balance + dave.balance), burned, "lying costs the burned quarter");
        assertGt(burned, 0);
        assertEq(registry.credits(bob), CBOND);
        assertEq(registry.credits(address(0)), burned);
    }

    // -- M-2: a challenger's work can be copied ----------------------------------------------------

    /// @notice Carol proves a token mismatch; a copier front-runs her transaction, verbatim or
    ///         naming itself. Verbatim pays carol; rewritten needs a game of the copier's from an
    ///         earlier block, which it cannot open after seeing the proof.
    function test_M2_copiedTokenProofPaysTheNamedRecipient() public {
        uint256 taskId = _createTask();
        uint256 resultId = _submit(taskId, alice, _enc2(5, 6), SparseTree.accumulator(_outputs()));
        _challenge(resultId, carol);
        _after(12);
        // The copier sees carol's proof in the mempool, opens a game and rewrites the recipient.
        _challenge(resultId, dave);
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.NotAChallenger.selector, dave));
        _proveTokenMismatch(resultId, dave, dave);
        // Or it sends carol's calldata as is, ahead of her.
        _proveTokenMismatch(resultId, dave, carol);
        assertEq(registry.credits(carol), SBOND / 2, "the prover is paid");
        assertEq(registry.credits(dave), 0, "the copier is not");
    }

    /// @notice Bob plays the honest game; a copier opens a parallel game later, mirrors bob's
    ///         responses and calls the final step before bob. Its win rejects the result, but the
    ///         payee is the earliest-opened live game: bob's.
    function test_M2_mirroredGameWinsNothingForTheCopier() public {
        uint256 resultId = _submit(_createTask(), alice, _enc2(5, 6), keccak256("a lie"));
        uint256 honestGame = _challenge(resultId, bob);
        _after(12);
        uint256 mirror = _challenge(resultId, dave);
        bytes memory pre = _preState();
        uint256[2] memory ids = [honestGame, mirror];
        for (uint256 k = 0; k < 2; k++) {
            while (games.game(ids[k]).stage == DisputeGame.Stage.Bisect) {
                _bisect(ids[k], keccak256(abi.encode("lie", _round(ids[k]))));
                _respond(ids[k], false);
            }
            harness.forceLevel1(ids[k], 4, _stateHash(pre), keccak256("a false final state"));
            while (games.game(ids[k]).stage == DisputeGame.Stage.Bisect) {
                _bisect(ids[k], keccak256(abi.encode("lie", _round(ids[k]))));
                _respond(ids[k], false);
            }
        }
        vm.prank(dave);
        games.step(mirror, pre, _nopProof(), false); // the copier's step lands first
        games.abandon(honestGame);
        assertEq(registry.credits(bob), CBOND + SBOND / 2, "the honest challenger is paid");
        assertEq(registry.credits(dave), CBOND, "the copier only gets its bond back");
    }

    // -- L-1: a wrong result escapes ---------------------------------------------------------------

    /// @notice A wrong result revealed late: another result finalizes the task, but the wrong
    ///         one keeps its bond locked through its own window, in which bob catches it.
    function test_L1_wrongResultKeepsItsBondThroughItsWindow() public {
        uint256 taskId = _createTask();
        uint256 right = _submit(taskId, alice, _enc2(5, 6), keccak256("the true S_n"));
        vm.warp(block.timestamp + WINDOW - 10);
        uint256 wrong = _submit(taskId, dave, _enc2(5, 7), keccak256("a lie"));
        vm.warp(block.timestamp + 10);
        registry.finalize(right);
        vm.expectRevert(TaskRegistry.WindowOpen.selector);
        registry.releaseBond(wrong);
        uint256 gameId = _challenge(wrong, bob);
        vm.warp(block.timestamp + CLOCK + 1);
        games.timeout(gameId);
        assertEq(uint8(registry.result(wrong).status), uint8(TaskRegistry.ResultStatus.Rejected));
        assertEq(registry.credits(dave), 0, "the wrong result's bond did not escape");
        assertEq(registry.credits(bob), CBOND + SBOND / 2);
    }

    // -- L-2: bonds can be useless -----------------------------------------------------------------

    /// @notice 1 gwei bonds, and a challenger bond no one can afford against a tiny submitter
    ///         bond, are refused; at the floor and ratio a puppet game locks at least a quarter of
    ///         the bond it attacks.
    function test_L2_uselessOrLopsidedBondsAreRefused() public {
        uint64 d = uint64(block.timestamp) + DEADLINE_IN;
        vm.startPrank(requester);
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.InvalidParams.selector, 4));
        registry.createTask(llama, _prompt(), 2, d, WINDOW, CLOCK, 1 gwei, 1 gwei);
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.InvalidParams.selector, 5));
        registry.createTask(llama, _prompt(), 2, d, WINDOW, CLOCK, 0.01 ether, 10 ether);
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.InvalidParams.selector, 5));
        registry.createTask(llama, _prompt(), 2, d, WINDOW, CLOCK, 10 ether, 0.01 ether);
        uint256 taskId = registry.createTask(llama, _prompt(), 2, d, WINDOW, CLOCK, 4 ether, 1 ether);
        vm.stopPrank();
        TaskRegistry.Task memory t = registry.task(taskId);
        assertGe(uint256(t.challengerBond) * GameBounds.BOND_RATIO, t.submitterBond);
        assertGe(t.challengerBond, GameBounds.MIN_BOND);
    }

    // -- the property behind H-1, fuzzed -----------------------------------------------------------

    /// @notice The liar's move after `delay`: false if its clock cannot pay for it (it then stays
    ///         silent and loses on time).
    function _liarMoves(uint256 gameId, uint256 delay) internal returns (bool) {
        DisputeGame.Game memory g = games.game(gameId);
        if (delay > g.submitterClock) return false;
        _after(delay);
        _bisect(gameId, keccak256(abi.encode("lie", g.round)));
        return true;
    }

    /// @notice A wrong result always loses its bond to an honest challenger that plays within
    ///         the floors: any task size, any step cap, the shortest clock the registry allows, a
    ///         liar that moves at any pace, and a challenger that takes up to 2·L per move.
    /// forge-config: default.fuzz.runs = 64
    function testFuzz_aWrongResultAlwaysLosesToAnHonestChallengerWithinTheFloors(
        uint32 nodes,
        uint8 stepCap,
        uint256 delays
    ) public {
        // Up to 2^20 nodes of 2^20 steps: 2^16 s of re-run, well inside MAX_WINDOW.
        uint64 n = uint64(bound(nodes, 1, 1 << 20));
        uint64 k = uint64(bound(stepCap, 1, 20));
        ModelSpec memory m = _llamaSpec(uint32(n), 0);
        (m.context, m.stepCap) = (4, uint8(k));
        bytes32 model = models.register(m);
        uint64 clock = uint64(registry.minClock(n, k));
        vm.prank(requester);
        uint256 taskId = registry.createTask{value: REWARD}(
            model, bytes.concat(bytes4(uint32(1))), 1, uint64(block.timestamp) + DEADLINE_IN,
            uint64(registry.minWindow(n, k)), clock, SBOND, CBOND
        );
        uint256 resultId = _submit(taskId, alice, bytes.concat(bytes4(uint32(2))), keccak256("a lie"));
        uint256 gameId = _challenge(resultId, bob);
        bytes memory pre = _preState();
        bool liarPlays = true;
        uint256 move;
        for (uint8 level = 0; level < 2 && liarPlays; level++) {
            if (level == 1) harness.forceLevel1(gameId, uint64(1) << k, _stateHash(pre), keccak256("a false final state"));
            while (liarPlays && games.game(gameId).stage == DisputeGame.Stage.Bisect) {
                liarPlays = _liarMoves(gameId, uint256(keccak256(abi.encode(delays, move++))) % (3 * L + 1));
                if (!liarPlays) break;
                _after(uint256(keccak256(abi.encode(delays, move++))) % (2 * L + 1));
                _respond(gameId, false); // reverts, failing the test, if the honest clock ran out
            }
        }
        if (liarPlays) {
            _after(uint256(keccak256(abi.encode(delays, move++))) % (2 * L + 1));
            games.step(gameId, pre, _nopProof(), false);
        } else {
            vm.warp(block.timestamp + games.game(gameId).submitterClock + 1);
            games.timeout(gameId);
        }
        assertEq(uint8(games.game(gameId).stage), uint8(DisputeGame.Stage.ChallengerWon));
        assertEq(registry.credits(bob), CBOND + SBOND / 2, "the honest challenger is paid");
        assertEq(registry.credits(alice), 0, "the liar loses its bond");
    }

    /// @notice A liar that opens many puppet games and wins them cannot make the honest
    ///         rejection walk them: each settlement moves the earliest-live pointer past itself.
    function test_M1_puppetGamesTheLiarWinsLeaveNoWalkForTheHonestRejection() public {
        uint256 resultId = _submit(_createTask(), alice, _enc2(5, 6), keccak256("a lie"));
        uint256[] memory puppets = new uint256[](8);
        for (uint256 k = 0; k < puppets.length; k++) {
            address puppet = makeAddr(string(abi.encode("puppet", k)));
            vm.deal(puppet, CBOND);
            puppets[k] = _challenge(resultId, puppet);
        }
        uint256 honestGame = _challenge(resultId, bob);
        for (uint256 k = 0; k < puppets.length; k++) {
            _bisect(puppets[k], keccak256("mid")); // the liar moves; its puppets stall
        }
        _bisect(honestGame, keccak256("mid"));
        _respond(honestGame, false);
        vm.warp(block.timestamp + CLOCK + 1);
        for (uint256 k = 0; k < puppets.length; k++) {
            games.timeout(puppets[k]); // the liar wins each puppet game on time
        }
        assertEq(registry.result(resultId).firstLive, puppets.length, "the pointer is already at the honest game");
        // The liar stalls in the honest game too; its timeout pays bob, the earliest live game.
        vm.warp(block.timestamp + games.game(honestGame).submitterClock + 1);
        games.timeout(honestGame);
        assertEq(registry.credits(bob), CBOND + SBOND / 2);
    }
}
