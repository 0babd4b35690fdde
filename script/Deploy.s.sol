// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Script, console} from "forge-std/Script.sol";
import {MIPS} from "../src/MIPS.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {NodeLink} from "../src/NodeLink.sol";
import {TaskRegistry} from "../src/TaskRegistry.sol";
import {ModelSpec} from "../src/lib/GameTypes.sol";

/// @title Deploy
/// @notice OPML's contracts for Foundry users:
///         `forge script script/Deploy.s.sol --rpc-url URL --broadcast --private-key KEY`
///         (or `--account NAME` for a cast wallet). Same contracts, same order, same model
///         registrations and so, from the same account and nonce, the same addresses, bytecode
///         and records as `ape run deploy` (offchain/chain/deployment.py's ORDER; tests/test_deploy.py
///         compares the two): MIPS, ModelRegistry, NodeLink, TaskRegistry (whose constructor
///         creates the DisputeGame), then the shipped models.
/// @dev    A model's spec (roots, graph, step cap) is derived from its model file in Python, so
///         the specs come ABI-encoded from deployments/shipped-models.json, which
///         `python -m offchain.chain.deployment --write-specs` writes and the tests check. This script
///         writes no deployments file: `ape run deploy` does, for the agents.
contract Deploy is Script {
    string internal constant SPECS = "deployments/shipped-models.json";

    function run() external returns (MIPS mips, ModelRegistry models, NodeLink link, TaskRegistry tasks) {
        bytes[] memory specs = vm.parseJsonBytesArray(vm.readFile(SPECS), ".specs");
        string[] memory names = vm.parseJsonStringArray(vm.readFile(SPECS), ".names");
        vm.startBroadcast();
        mips = new MIPS();
        models = new ModelRegistry();
        link = new NodeLink();
        tasks = new TaskRegistry(models, link, mips);
        bytes32[] memory ids = new bytes32[](specs.length);
        for (uint256 i = 0; i < specs.length; i++) {
            ids[i] = models.register(abi.decode(specs[i], (ModelSpec)));
        }
        vm.stopBroadcast();
        console.log("MIPS         ", address(mips));
        console.log("ModelRegistry", address(models));
        console.log("NodeLink     ", address(link));
        console.log("TaskRegistry ", address(tasks));
        console.log("DisputeGame  ", address(tasks.games()));
        for (uint256 i = 0; i < ids.length; i++) {
            console.log("model", names[i], vm.toString(ids[i]));
        }
    }
}
