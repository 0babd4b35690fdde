// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {MIPS} from "../../src/MIPS.sol";
import {NodeLink} from "../../src/NodeLink.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {TaskRegistry} from "../../src/TaskRegistry.sol";
import {DisputeGame} from "../../src/DisputeGame.sol";
import {ModelSpec} from "../../src/lib/GameTypes.sol";
import {GameHarness} from "./GameHarness.sol";
import {SparseTree} from "../utils/SparseTree.sol";

/// @notice The game's contracts wired as deployed (docs/SPEC.md §6), a few actors, two small
///         synthetic models and the moves every game test repeats. No real model data: roots
///         are labels, and the accumulator S_n is built by SparseTree from labelled node outputs.
abstract contract GameTestBase is Test {
    ModelRegistry internal models;
    NodeLink internal link;
    MIPS internal mips;
    TaskRegistry internal registry;
    DisputeGame internal games;

    address internal requester = makeAddr("requester");
    address internal alice = makeAddr("alice"); // submits
    address internal bob = makeAddr("bob"); // challenges
    address internal carol = makeAddr("carol"); // anyone else
    address internal dave = makeAddr("dave"); // a second submitter or challenger

    uint128 internal constant REWARD = 3 ether;
    uint128 internal constant SBOND = 1 ether;
    uint128 internal constant CBOND = 0.4 ether;
    uint64 internal constant WINDOW = 1 days;
    uint64 internal constant CLOCK = 1 hours;
    uint64 internal constant DEADLINE_IN = 2 days;

    uint32 internal constant V = 100; // vocabulary of the LLaMA test model
    uint32 internal constant S = 8; // its context
    uint32 internal constant NF = 3; // its nodes per token
    uint32 internal constant J_ARGMAX = 2; // its argmax node
    uint32 internal constant MLP_INPUT = 10; // input width of the MLP test model

    /// @notice A LLaMA-kind model: nF = 3, argmax node 2, V = 100, S = 8, K = 20.
    bytes32 internal llama;
    /// @notice An MLP-kind model: one node, 10 input bytes, 10 classes, K = 20.
    bytes32 internal mlp;

    function setUp() public virtual {
        models = new ModelRegistry();
        link = new NodeLink();
        mips = new MIPS();
        registry = new TaskRegistry(models, link, mips);
        games = registry.games();
        llama = models.register(_llamaSpec(NF, J_ARGMAX));
        mlp = models.register(_mlpSpec());
        vm.warp(1_700_000_000);
        address[5] memory actors = [requester, alice, bob, carol, dave];
        for (uint256 k = 0; k < actors.length; k++) {
            vm.deal(actors[k], 100 ether);
        }
    }

    // -- models -----------------------------------------------------------------------------------

    /// @notice The commitment (§5.3) as the 4-leaf tree (weights, graph, programs, 0).
    function _commitment(bytes32 w, bytes32 g, bytes32 p) internal pure returns (bytes32) {
        uint256[] memory idx = new uint256[](4);
        bytes32[] memory val = new bytes32[](4);
        (idx[0], idx[1], idx[2], idx[3]) = (0, 1, 2, 3);
        (val[0], val[1], val[2]) = (w, g, p);
        return SparseTree.root(idx, val, 2);
    }

    function _llamaSpec(uint32 nF, uint32 jArgmax) internal pure returns (ModelSpec memory m) {
        m.weightRoot = keccak256("weights");
        m.graphRoot = keccak256(abi.encode("graph", nF, jArgmax));
        m.programsRoot = keccak256("programs");
        m.commitment = _commitment(m.weightRoot, m.graphRoot, m.programsRoot);
        m.arch = 1;
        m.nF = nF;
        m.jArgmax = jArgmax;
        m.nWeights = 9;
        m.nPrograms = 12;
        m.stepCap = 20;
        m.vocab = V;
        m.context = S;
        m.inputBytes = 0;
        m.uri = "ipfs://llama";
    }

    function _mlpSpec() internal pure returns (ModelSpec memory m) {
        m = _llamaSpec(1, 0);
        m.graphRoot = keccak256("mlp graph");
        m.commitment = _commitment(m.weightRoot, m.graphRoot, m.programsRoot);
        m.arch = 2;
        m.vocab = 10;
        m.context = 1;
        m.inputBytes = MLP_INPUT;
        m.uri = "ipfs://mlp";
    }

    /// @notice Register a LLaMA-kind model with `nF` nodes per token and a large context.
    function _registerWide(uint32 nF, uint32 context) internal returns (bytes32) {
        ModelSpec memory m = _llamaSpec(nF, 0);
        m.context = context;
        return models.register(m);
    }

    // -- tokens, tasks and results ----------------------------------------------------------------

    /// @notice Canonical i32 big-endian bytes of `tokens`.
    function _enc(uint32[] memory tokens) internal pure returns (bytes memory b) {
        for (uint256 k = 0; k < tokens.length; k++) {
            b = bytes.concat(b, bytes4(tokens[k]));
        }
    }

    function _enc2(uint32 a, uint32 b) internal pure returns (bytes memory) {
        return bytes.concat(bytes4(a), bytes4(b));
    }

    /// @notice The default prompt [11, 12] (P = 2).
    function _prompt() internal pure returns (bytes memory) {
        return _enc2(11, 12);
    }

    function _createTask(bytes32 model, bytes memory input, uint32 n) internal returns (uint256) {
        vm.prank(requester);
        return registry.createTask{value: REWARD}(
            model, input, n, uint64(block.timestamp) + DEADLINE_IN, WINDOW, CLOCK, SBOND, CBOND
        );
    }

    /// @notice A LLaMA task of prompt [11, 12] and N = 2: n = 3·nF = 9 nodes.
    function _createTask() internal returns (uint256) {
        return _createTask(llama, _prompt(), 2);
    }

    /// @notice The salt `who` uses in these tests (any value works; the commitment hides the claim).
    function _salt(address who) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", who));
    }

    /// @notice The commitment of §6.3: keccak256(tokens ‖ S_n ‖ submitter ‖ salt), packed.
    function _commitment(bytes memory tokens, bytes32 sN, address who, bytes32 salt) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(tokens, sN, who, salt));
    }

    function _commit(uint256 taskId, address who, bytes memory tokens, bytes32 sN) internal returns (uint256) {
        vm.prank(who);
        return registry.commitResult{value: SBOND}(taskId, _commitment(tokens, sN, who, _salt(who)));
    }

    function _reveal(uint256 resultId, address who, bytes memory tokens, bytes32 sN) internal {
        vm.prank(who);
        registry.revealResult(resultId, tokens, sN, _salt(who));
    }

    /// @notice Commit, then reveal in the next block (a reveal must come a block after its commitment).
    function _submit(uint256 taskId, address who, bytes memory tokens, bytes32 sN) internal returns (uint256 resultId) {
        resultId = _commit(taskId, who, tokens, sN);
        vm.roll(block.number + 1);
        _reveal(resultId, who, tokens, sN);
    }

    function _challenge(uint256 resultId, address who) internal returns (uint256) {
        vm.prank(who);
        return registry.challenge{value: CBOND}(resultId);
    }

    /// @notice A default task, alice's result with claim `sN` and tokens [5, 6], bob's game on it.
    function _openGame(bytes32 sN) internal returns (uint256 taskId, uint256 resultId, uint256 gameId) {
        taskId = _createTask();
        resultId = _submit(taskId, alice, _enc2(5, 6), sN);
        gameId = _challenge(resultId, bob);
    }

    // -- game moves -------------------------------------------------------------------------------

    function _round(uint256 gameId) internal view returns (uint32) {
        return games.game(gameId).round;
    }

    function _bisect(uint256 gameId, bytes32 claim) internal {
        DisputeGame.Game memory g = games.game(gameId);
        vm.prank(g.submitter);
        games.bisect(gameId, g.round, claim);
    }

    function _respond(uint256 gameId, bool agree) internal {
        DisputeGame.Game memory g = games.game(gameId);
        vm.prank(g.challenger);
        games.respond(gameId, g.round, agree);
    }

    /// @notice Replace the game contract's code by the harness (same immutables, same storage).
    function _useHarness() internal returns (GameHarness h) {
        GameHarness impl = new GameHarness(registry, link, mips);
        vm.etch(address(games), address(impl).code);
        h = GameHarness(address(games));
    }

    /// @notice The whole of a game's state, for "changes nothing" checks.
    function _gameBytes(uint256 gameId) internal view returns (bytes memory) {
        return abi.encode(games.game(gameId));
    }
}
