// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TaskRegistry} from "../src/TaskRegistry.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {GameTestBase} from "./harness/GameTestBase.sol";
import {GameHarness} from "./harness/GameHarness.sol";
import {SparseTree} from "./utils/SparseTree.sol";

/// @notice The quorum fast path of docs/SPEC.md §6.11: a task asks for k submitters; its first k
///         commitments are the members; when all k reveal the same claim it is soft-final at
///         once (one event, and a view contracts can read). Bonds stay locked through the window,
///         so a soft-final claim proven wrong later (by a step or a token proof, never by a
///         timeout) slashes every submitter that made it. Disagreement goes to games, never to
///         a vote.
contract Quorum_Test is GameTestBase {
    uint32 internal constant PC = 0x00400000;
    address internal erin = makeAddr("erin");
    GameHarness internal harness;

    function setUp() public override {
        super.setUp();
        vm.deal(erin, 100 ether);
        harness = _useHarness();
    }

    function _quorumTask(uint8 k) internal returns (uint256) {
        vm.prank(requester);
        return registry.createQuorumTask{value: REWARD}(
            llama, _prompt(), 2, uint64(block.timestamp) + DEADLINE_IN, WINDOW, CLOCK, SBOND, CBOND, k
        );
    }

    function _claim(bytes memory tokens, bytes32 sN) internal pure returns (bytes32) {
        return keccak256(abi.encode(keccak256(tokens), sN));
    }

    /// @notice Each of `who` commits to (tokens, sN) in one block, then all reveal in the next.
    function _commitAll(uint256 taskId, address[] memory who, bytes32[] memory sN) internal returns (uint256[] memory ids) {
        ids = new uint256[](who.length);
        for (uint256 k = 0; k < who.length; k++) {
            ids[k] = _commit(taskId, who[k], _enc2(5, 6), sN[k]);
        }
        vm.roll(block.number + 1);
    }

    function _four(bytes32 a, bytes32 b, bytes32 c, bytes32 d)
        internal
        view
        returns (address[] memory who, bytes32[] memory sN)
    {
        who = new address[](4);
        (who[0], who[1], who[2], who[3]) = (alice, dave, carol, erin);
        sN = new bytes32[](4);
        (sN[0], sN[1], sN[2], sN[3]) = (a, b, c, d);
    }

    function test_quorum_allKMembersAgreeingIsSoftFinalAtOnceAndALaterLiarIsNoMember() public {
        uint256 taskId = _quorumTask(3);
        bytes32 truth = keccak256("the true S_n");
        (address[] memory who, bytes32[] memory sN) = _four(truth, truth, truth, keccak256("a lie"));
        uint256[] memory ids = _commitAll(taskId, who, sN);
        assertTrue(registry.quorumMember(ids[2]) && !registry.quorumMember(ids[3]), "the first k commitments");
        _reveal(ids[3], erin, _enc2(5, 6), sN[3]); // the liar reveals first: it is no member
        _reveal(ids[0], alice, _enc2(5, 6), truth);
        _reveal(ids[1], dave, _enc2(5, 6), truth);
        (bool soft,) = registry.softFinal(taskId);
        assertFalse(soft, "two of three");
        vm.expectEmit(address(registry));
        emit TaskRegistry.SoftFinal(taskId, _claim(_enc2(5, 6), truth), ids[2]);
        _reveal(ids[2], carol, _enc2(5, 6), truth);
        bytes32 claim;
        (soft, claim) = registry.softFinal(taskId);
        assertTrue(soft);
        assertEq(claim, _claim(_enc2(5, 6), truth));
        assertEq(registry.softFinalAt(taskId), block.timestamp, "in the block of the last member's reveal");
        // Soft finality changes no money: the earliest commitment still finalizes after its window.
        uint256 gameId = _challenge(ids[3], bob);
        vm.warp(block.timestamp + CLOCK + 1);
        games.timeout(gameId);
        vm.warp(block.timestamp + WINDOW);
        registry.finalize(ids[0]);
        assertEq(registry.credits(alice), REWARD + SBOND);
        assertEq(registry.credits(erin), 0, "the liar lost its bond in a game");
    }

    function test_quorum_disagreementIsNeverAVote() public {
        uint256 taskId = _quorumTask(3);
        bytes32 truth = keccak256("the true S_n");
        (address[] memory who, bytes32[] memory sN) = _four(truth, keccak256("a lie"), truth, truth);
        uint256[] memory ids = _commitAll(taskId, who, sN);
        for (uint256 k = 0; k < 4; k++) {
            _reveal(ids[k], who[k], _enc2(5, 6), sN[k]);
        }
        // Three of four revealed the truth, but one member disagrees: no soft finality.
        (bool soft,) = registry.softFinal(taskId);
        assertFalse(soft);
        assertEq(registry.softFinalAt(taskId), 0);
        assertEq(registry.memberVotes(taskId, _claim(_enc2(5, 6), truth)), 2);
    }

    function test_quorum_aSoftFinalLieProvenWrongSlashesEveryAgreeingSubmitter() public {
        uint256 taskId = _quorumTask(3);
        bytes32 lie = keccak256("a colluding lie");
        (address[] memory who, bytes32[] memory sN) = _four(lie, lie, lie, lie);
        uint256[] memory ids = _commitAll(taskId, who, sN);
        for (uint256 k = 0; k < 3; k++) {
            _reveal(ids[k], who[k], _enc2(5, 6), lie);
        }
        (bool soft, bytes32 claim) = registry.softFinal(taskId);
        assertTrue(soft, "three colluders agree");
        vm.expectRevert(TaskRegistry.NotDisproven.selector);
        registry.slashDisproven(ids[1]);
        // Bob disproves the claim on alice's result with a real MIPS step.
        uint256 gameId = _challenge(ids[0], bob);
        bytes memory pre = _preState();
        harness.forceLevel1(gameId, 1, _stateHash(pre), keccak256("a false post-state"));
        vm.expectEmit(address(registry));
        emit TaskRegistry.ClaimDisproven(taskId, claim, bob);
        games.step(gameId, pre, _nopProof(), false);
        (soft,) = registry.softFinal(taskId);
        assertFalse(soft, "a disproven claim is soft-final no more");
        // Anyone slashes the other agreeing submitters; the disprover is their payee.
        registry.slashDisproven(ids[1]);
        registry.slashDisproven(ids[2]);
        for (uint256 k = 0; k < 3; k++) {
            assertEq(uint8(registry.result(ids[k]).status), uint8(TaskRegistry.ResultStatus.Rejected));
            assertEq(registry.credits(who[k]), 0);
        }
        assertEq(registry.credits(bob), CBOND + 3 * (SBOND / 2));
        assertEq(registry.credits(requester), 3 * (SBOND / 4), "the requester is compensated by each");
        // The fourth, late, same lie can never finalize either.
        _reveal(ids[3], erin, _enc2(5, 6), lie);
        vm.warp(block.timestamp + WINDOW);
        vm.expectRevert(TaskRegistry.ClaimIsDisproven.selector);
        registry.finalize(ids[3]);
        registry.slashDisproven(ids[3]);
    }

    function test_quorum_aMemberLosingOnTimeDisprovesNothing() public {
        uint256 taskId = _quorumTask(2);
        bytes32 truth = keccak256("the true S_n");
        (address[] memory who, bytes32[] memory sN) = _four(truth, truth, truth, truth);
        uint256[] memory ids = _commitAll(taskId, who, sN);
        _reveal(ids[0], alice, _enc2(5, 6), truth);
        _reveal(ids[1], dave, _enc2(5, 6), truth);
        uint256 gameId = _challenge(ids[0], bob); // alice went offline
        vm.warp(block.timestamp + CLOCK + 1);
        games.timeout(gameId);
        (bool soft,) = registry.softFinal(taskId);
        assertTrue(soft, "a timeout shows nothing about the claim");
        vm.expectRevert(TaskRegistry.NotDisproven.selector);
        registry.slashDisproven(ids[1]);
    }

    function test_createQuorumTask_revertsInvalidQuorumOutside2To16() public {
        vm.startPrank(requester);
        uint64 d = uint64(block.timestamp) + DEADLINE_IN;
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.InvalidQuorum.selector, 1));
        registry.createQuorumTask(llama, _prompt(), 2, d, WINDOW, CLOCK, SBOND, CBOND, 1);
        vm.expectRevert(abi.encodeWithSelector(TaskRegistry.InvalidQuorum.selector, 17));
        registry.createQuorumTask(llama, _prompt(), 2, d, WINDOW, CLOCK, SBOND, CBOND, 17);
        vm.expectEmit(address(registry));
        emit TaskRegistry.QuorumRequested(1, 16);
        registry.createQuorumTask(llama, _prompt(), 2, d, WINDOW, CLOCK, SBOND, CBOND, 16);
        vm.stopPrank();
        assertEq(registry.quorumOf(1), 16);
    }

    // -- a real MIPS step of a NOP, as in DisputeGame.t.sol ------------------------------------------

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
}
