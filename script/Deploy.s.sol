// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Script, console} from "forge-std/Script.sol";
import {MIPS} from "../src/MIPS.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {NodeLink} from "../src/NodeLink.sol";
import {TaskRegistry} from "../src/TaskRegistry.sol";

/// @title Deploy
/// @notice OPML's contracts for Foundry users:
///         `forge script script/Deploy.s.sol --rpc-url URL --broadcast --private-key KEY`
///         (or `--account NAME` for a cast wallet). Same contracts, same order and so, from the
///         same account and nonce, the same addresses and bytecode as `ape run deploy`
///         (offchain/deployment.py's ORDER; tests/test_deploy.py compares the two):
///         MIPS, ModelRegistry, NodeLink, TaskRegistry, whose constructor creates the DisputeGame.
/// @dev    Models are NOT registered here: a model's spec (roots, graph, step cap) is derived
///         from its model file by the Python side (offchain/game/model.py). Registration is
///         permissionless; `ape run deploy` registers the shipped models on its own deployment.
contract Deploy is Script {
    function run() external returns (MIPS mips, ModelRegistry models, NodeLink link, TaskRegistry tasks) {
        vm.startBroadcast();
        mips = new MIPS();
        models = new ModelRegistry();
        link = new NodeLink();
        tasks = new TaskRegistry(models, link, mips);
        vm.stopBroadcast();
        console.log("MIPS         ", address(mips));
        console.log("ModelRegistry", address(models));
        console.log("NodeLink     ", address(link));
        console.log("TaskRegistry ", address(tasks));
        console.log("DisputeGame  ", address(tasks.games()));
    }
}
