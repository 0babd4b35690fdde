// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test, console} from "forge-std/Test.sol";
import {MIPS} from "../src/MIPS.sol";
import {NodeLink} from "../src/NodeLink.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {TaskRegistry} from "../src/TaskRegistry.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {ModelSpec, TransitionProof} from "../src/lib/GameTypes.sol";
import {GameBounds} from "../src/lib/GameBounds.sol";

/// @notice Whole two-level games replayed from vectors that `scripts/make_game_vectors.py`
///         generates with the Python tooling: a real node of a shipped model with a real wrong
///         output, bisected to the node, linked on chain, bisected to the instruction, and
///         decided by one MIPS step. The challenger must win, and the bonds must move.
contract GameVectorsTest is Test {
    MIPS mips;
    ModelRegistry models;
    TaskRegistry tasks;
    DisputeGame games;
    address requester = makeAddr("requester");
    address submitter = makeAddr("submitter");
    address challenger = makeAddr("challenger");
    uint128 constant REWARD = 1 ether;
    uint128 constant SUBMITTER_BOND = 2 ether;
    uint128 constant CHALLENGER_BOND = 1 ether;
    uint64 constant WINDOW = 1 hours;
    uint64 constant CLOCK = 1 hours;

    function setUp() public {
        mips = new MIPS();
        models = new ModelRegistry();
        tasks = new TaskRegistry(models, new NodeLink(), mips);
        games = tasks.games();
        vm.deal(requester, 10 ether);
        vm.deal(submitter, 10 ether);
        vm.deal(challenger, 10 ether);
    }

    function test_shakespeareLieAtOneNodeLosesTheTwoLevelGame() public {
        _play("test/vectors/game_shakespeare.json");
    }

    function test_smollm2LieAtOneNodeLosesTheTwoLevelGame() public {
        _play("test/vectors/game_smollm2.json");
    }

    function test_mnistSinglePhaseWrongDigitLosesInTheVM() public {
        _play("test/vectors/game_mnist.json");
    }

    function _spec(string memory json) internal pure returns (ModelSpec memory m) {
        m.weightRoot = vm.parseJsonBytes32(json, ".model.weightRoot");
        m.graphRoot = vm.parseJsonBytes32(json, ".model.graphRoot");
        m.programsRoot = vm.parseJsonBytes32(json, ".model.programsRoot");
        m.commitment = vm.parseJsonBytes32(json, ".model.commitment");
        m.arch = uint8(vm.parseJsonUint(json, ".model.arch"));
        m.nF = uint32(vm.parseJsonUint(json, ".model.nF"));
        m.jArgmax = uint32(vm.parseJsonUint(json, ".model.jArgmax"));
        m.nWeights = uint32(vm.parseJsonUint(json, ".model.nWeights"));
        m.nPrograms = uint32(vm.parseJsonUint(json, ".model.nPrograms"));
        m.stepCap = uint8(vm.parseJsonUint(json, ".model.stepCap"));
        m.vocab = uint32(vm.parseJsonUint(json, ".model.vocab"));
        m.context = uint32(vm.parseJsonUint(json, ".model.context"));
        m.inputBytes = uint32(vm.parseJsonUint(json, ".model.inputBytes"));
        m.uri = vm.parseJsonString(json, ".model.uri");
    }

    function _transition(string memory json) internal pure returns (TransitionProof memory p) {
        p.outputRoot = vm.parseJsonBytes32(json, ".transition.outputRoot");
        p.accPath = vm.parseJsonBytes(json, ".transition.accPath");
        p.descriptor = vm.parseJsonBytes(json, ".transition.descriptor");
        p.graphPath = vm.parseJsonBytes(json, ".transition.graphPath");
        p.region0Root = vm.parseJsonBytes32(json, ".transition.region0Root");
        p.entry = uint32(vm.parseJsonUint(json, ".transition.entry"));
        p.programPath = vm.parseJsonBytes(json, ".transition.programPath");
        p.inputLeaves = vm.parseJsonBytes32Array(json, ".transition.inputLeaves");
        p.inputPaths = vm.parseJsonBytesArray(json, ".transition.inputPaths");
        p.finalState = vm.parseJsonBytes(json, ".transition.finalState");
        p.regionPath = vm.parseJsonBytes(json, ".transition.regionPath");
    }

    /// @dev Plays one level's recorded moves; returns the round after them and the gas they used.
    function _bisect(uint256 gameId, uint32 round, string memory json, string memory level)
        internal
        returns (uint32, uint256 gas)
    {
        bytes32[] memory mids = vm.parseJsonBytes32Array(json, string.concat(".", level, ".midHashes"));
        bool[] memory agrees = vm.parseJsonBoolArray(json, string.concat(".", level, ".agrees"));
        assertEq(mids.length, agrees.length);
        for (uint256 k = 0; k < mids.length; k++) {
            uint256 g0 = gasleft();
            vm.prank(submitter);
            games.bisect(gameId, round++, mids[k]);
            vm.prank(challenger);
            games.respond(gameId, round++, agrees[k]);
            gas += g0 - gasleft();
        }
        return (round, gas);
    }

    function _play(string memory file) internal {
        string memory json = vm.readFile(file);
        (uint256 resultId, uint256 gameId) = _open(json);
        (uint32 round, uint256 gas2) = _bisect(gameId, 0, json, "phase2");
        DisputeGame.Game memory g = games.game(gameId);
        assertEq(uint8(g.stage), uint8(DisputeGame.Stage.Transition), "phase 2 ends in the transition");
        assertEq(g.lo, vm.parseJsonUint(json, ".node"), "phase 2 finds the lying node");

        uint256 g0 = gasleft();
        vm.prank(submitter);
        games.transition(gameId, round++, _transition(json));
        uint256 gasT = g0 - gasleft();
        g = games.game(gameId);
        assertEq(g.loHash, vm.parseJsonBytes32(json, ".expectedStartHash"), "the chain derives Python's start state");

        uint256 gas1;
        (round, gas1) = _bisect(gameId, round, json, "phase1");
        g = games.game(gameId);
        assertEq(uint8(g.stage), uint8(DisputeGame.Stage.Step));
        assertEq(g.lo, vm.parseJsonUint(json, ".step.lo"), "phase 1 finds the step");

        bytes memory pre = vm.parseJsonBytes(json, ".step.preState");
        bytes memory proof = vm.parseJsonBytes(json, ".step.proofCompact");
        g0 = gasleft();
        games.step(gameId, pre, proof, true);
        uint256 gasS = g0 - gasleft();
        _assertChallengerWon(gameId, resultId);
        console.log("execution gas: phase 2 moves %d, transition %d", gas2, gasT);
        console.log("execution gas: phase 1 moves %d, step %d", gas1, gasS);
    }

    function _max(uint256 a, uint256 b) internal pure returns (uint256) {
        return a > b ? a : b;
    }

    function _open(string memory json) internal returns (uint256 resultId, uint256 gameId) {
        ModelSpec memory spec = _spec(json);
        bytes32 modelId = models.register(spec);
        bytes memory input = vm.parseJsonBytes(json, ".input");
        uint32 n = uint32(vm.parseJsonUint(json, ".N"));
        // A real model's task has tens of thousands of nodes: its floors (§6.10) exceed the toy's hour.
        uint256 nodes = spec.arch == 2 ? 1 : (input.length / 4 + n - 1) * spec.nF;
        uint64 window = uint64(_max(WINDOW, GameBounds.minWindow(nodes, spec.stepCap)));
        uint64 clock = uint64(_max(CLOCK, GameBounds.minClock(nodes, spec.stepCap)));
        vm.prank(requester);
        uint256 taskId = tasks.createTask{value: REWARD}(
            modelId, input, n, uint64(block.timestamp + 1 days), window, clock, SUBMITTER_BOND, CHALLENGER_BOND
        );
        bytes memory tokens = vm.parseJsonBytes(json, ".tokens");
        bytes32 sN = vm.parseJsonBytes32(json, ".finalState");
        bytes32 salt = keccak256("vector salt");
        vm.prank(submitter);
        resultId = tasks.commitResult{value: SUBMITTER_BOND}(taskId, keccak256(abi.encodePacked(tokens, sN, submitter, salt)));
        vm.roll(block.number + 1);
        tasks.revealResult(resultId, tokens, sN, salt);
        vm.prank(challenger);
        gameId = tasks.challenge{value: CHALLENGER_BOND}(resultId);
    }

    function _assertChallengerWon(uint256 gameId, uint256 resultId) internal view {
        assertEq(uint8(games.game(gameId).stage), uint8(DisputeGame.Stage.ChallengerWon), "the step decides for the challenger");
        // The challenger takes its bond back and half the submitter's; the requester a quarter;
        // the rest is burned (§6.3).
        assertEq(tasks.credits(challenger), CHALLENGER_BOND + SUBMITTER_BOND / 2);
        assertEq(tasks.credits(requester), SUBMITTER_BOND / 4);
        assertEq(tasks.credits(address(0)), SUBMITTER_BOND - SUBMITTER_BOND / 2 - SUBMITTER_BOND / 4);
        assertEq(tasks.credits(submitter), 0);
        assertEq(uint8(tasks.result(resultId).status), uint8(TaskRegistry.ResultStatus.Rejected));
        assertEq(address(tasks).balance, tasks.totalCredits() + tasks.totalLocked());
    }
}
