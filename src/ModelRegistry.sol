// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ModelSpec} from "./lib/GameTypes.sol";

/// @title ModelRegistry
/// @notice Permissionless, immutable registry of models (docs/SPEC.md §6.2). A record commits a
///         model's weights, per-token graph and programs, and the sizes the game derives tree
///         depths and bounds from. What is cheap is checked here; `opml model verify` checks the
///         rest off chain before anyone serves or watches the model.
/// @dev    Who may call: `register`, anyone, any time. The id is keccak256(abi.encode(spec)), so
///         nobody can pre-empt an honest record by registering the same commitment with other sizes.
contract ModelRegistry {
    /// @notice Semantic version of this contract.
    string public constant version = "0.1.0";
    /// @notice Architectures (§6.2).
    uint8 public constant ARCH_LLAMA = 1;
    uint8 public constant ARCH_MLP = 2;
    /// @notice Bounds a record must meet.
    uint256 public constant MAX_NODES_PER_TOKEN = 1 << 32;
    uint8 public constant MAX_STEP_CAP = 48;
    uint256 public constant MAX_INPUT_BYTES = 1 << 28;

    /// @notice A model was registered.
    /// @param id         The record's id.
    /// @param commitment The model commitment (§5.3).
    /// @param registrant Who registered it.
    /// @param spec       The whole record.
    event ModelRegistered(bytes32 indexed id, bytes32 indexed commitment, address indexed registrant, ModelSpec spec);

    /// @notice The commitment is not the root of (weightRoot, graphRoot, programsRoot, 0).
    /// @param expected The root of the parts.
    /// @param given    The commitment given.
    error CommitmentMismatch(bytes32 expected, bytes32 given);
    /// @notice A field is out of its range.
    /// @param reason 0 arch, 1 nF, 2 jArgmax, 3 stepCap, 4 vocab, 5 context, 6 tree sizes, 7 inputBytes.
    error InvalidModel(uint8 reason);
    /// @notice The same record is registered already.
    /// @param id Its id.
    error ModelExists(bytes32 id);
    /// @notice No model has this id.
    /// @param id The id asked for.
    error UnknownModel(bytes32 id);

    mapping(bytes32 id => ModelSpec) internal _models;

    /// @notice Register a model. Permissionless; the record can never change.
    /// @param spec The record (§6.2).
    /// @return id  keccak256(abi.encode(spec)).
    function register(ModelSpec calldata spec) external returns (bytes32 id) {
        bytes32 expected = commitmentOf(spec.weightRoot, spec.graphRoot, spec.programsRoot);
        if (spec.commitment != expected) revert CommitmentMismatch(expected, spec.commitment);
        if (spec.arch != ARCH_LLAMA && spec.arch != ARCH_MLP) revert InvalidModel(0);
        if (spec.nF == 0) revert InvalidModel(1);
        if (spec.jArgmax >= spec.nF) revert InvalidModel(2);
        if (spec.stepCap == 0 || spec.stepCap > MAX_STEP_CAP) revert InvalidModel(3);
        if (spec.vocab == 0) revert InvalidModel(4);
        if (spec.context == 0) revert InvalidModel(5);
        if (spec.nWeights == 0 || spec.nPrograms == 0) revert InvalidModel(6);
        if (spec.arch == ARCH_MLP ? spec.inputBytes == 0 || spec.inputBytes > MAX_INPUT_BYTES : spec.inputBytes != 0) {
            revert InvalidModel(7);
        }
        id = keccak256(abi.encode(spec));
        if (_models[id].nF != 0) revert ModelExists(id);
        _models[id] = spec;
        emit ModelRegistered(id, spec.commitment, msg.sender, spec);
    }

    /// @notice A registered record.
    /// @param id The record's id.
    /// @return spec The record; reverts UnknownModel if there is none.
    function model(bytes32 id) external view returns (ModelSpec memory spec) {
        spec = _models[id];
        if (spec.nF == 0) revert UnknownModel(id);
    }

    /// @notice Whether a record exists.
    /// @param id The record's id.
    /// @return True iff registered.
    function exists(bytes32 id) external view returns (bool) {
        return _models[id].nF != 0;
    }

    /// @notice The model commitment (§5.3): root of the 4-leaf tree (weights, graph, programs, 0).
    /// @param weightRoot   The weight tree's root.
    /// @param graphRoot    F's root.
    /// @param programsRoot The program tree's root.
    /// @return The commitment.
    function commitmentOf(bytes32 weightRoot, bytes32 graphRoot, bytes32 programsRoot) public pure returns (bytes32) {
        return keccak256(
            abi.encodePacked(
                keccak256(abi.encodePacked(weightRoot, graphRoot)),
                keccak256(abi.encodePacked(programsRoot, bytes32(0)))
            )
        );
    }
}
