// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {ModelSpec} from "../src/lib/GameTypes.sol";
import {SparseTree} from "./utils/SparseTree.sol";

/// @notice Specification of ModelRegistry, docs/SPEC.md §6.2: permissionless, immutable records
///         keyed by the hash of the whole spec; the commitment must be the 4-leaf tree of its
///         parts; every cheap range check has its own InvalidModel reason.
contract ModelRegistry_Test is Test {
    ModelRegistry internal models;

    event ModelRegistered(bytes32 indexed id, bytes32 indexed commitment, address indexed registrant, ModelSpec spec);

    function setUp() public {
        models = new ModelRegistry();
    }

    function _spec() internal pure returns (ModelSpec memory m) {
        m.weightRoot = keccak256("w");
        m.graphRoot = keccak256("g");
        m.programsRoot = keccak256("p");
        m.commitment = _tree4(m.weightRoot, m.graphRoot, m.programsRoot);
        m.arch = 1;
        m.nF = 40;
        m.jArgmax = 39;
        m.nWeights = 12;
        m.nPrograms = 12;
        m.stepCap = 22;
        m.vocab = 65;
        m.context = 64;
        m.uri = "ipfs://model";
    }

    function _mlp() internal pure returns (ModelSpec memory m) {
        m = _spec();
        m.arch = 2;
        m.nF = 1;
        m.jArgmax = 0;
        m.inputBytes = 784;
        m.vocab = 10;
        m.context = 1;
    }

    /// @dev The 4-leaf tree (a, b, c, 0) from the generic sparse-tree builder.
    function _tree4(bytes32 a, bytes32 b, bytes32 c) internal pure returns (bytes32) {
        uint256[] memory idx = new uint256[](3);
        bytes32[] memory val = new bytes32[](3);
        (idx[0], idx[1], idx[2]) = (0, 1, 2);
        (val[0], val[1], val[2]) = (a, b, c);
        return SparseTree.root(idx, val, 2);
    }

    function _expectInvalid(ModelSpec memory m, uint8 reason) internal {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.InvalidModel.selector, reason));
        models.register(m);
    }

    // -- commitment -------------------------------------------------------------------------------

    function test_commitmentOf_isTheRootOfTheFourLeafTree() public view {
        bytes32 w = keccak256("w");
        bytes32 g = keccak256("g");
        bytes32 p = keccak256("p");
        bytes32 byHand = keccak256(
            abi.encodePacked(keccak256(abi.encodePacked(w, g)), keccak256(abi.encodePacked(p, bytes32(0))))
        );
        assertEq(models.commitmentOf(w, g, p), byHand);
        assertEq(models.commitmentOf(w, g, p), _tree4(w, g, p));
    }

    function testFuzz_commitmentOf_matchesTheSparseTree(bytes32 w, bytes32 g, bytes32 p) public view {
        assertEq(models.commitmentOf(w, g, p), _tree4(w, g, p));
    }

    function test_commitmentOf_isOrderSensitive() public view {
        assertTrue(models.commitmentOf(keccak256("a"), keccak256("b"), 0) != models.commitmentOf(keccak256("b"), keccak256("a"), 0));
    }

    function test_register_revertsCommitmentMismatchWithBothRoots() public {
        ModelSpec memory m = _spec();
        bytes32 expected = m.commitment;
        m.commitment = keccak256("not the parts");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.CommitmentMismatch.selector, expected, m.commitment));
        models.register(m);
    }

    function test_register_revertsCommitmentMismatchWhenAPartChanges() public {
        ModelSpec memory m = _spec();
        m.programsRoot = keccak256("other programs");
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistry.CommitmentMismatch.selector,
                _tree4(m.weightRoot, m.graphRoot, m.programsRoot),
                m.commitment
            )
        );
        models.register(m);
    }

    // -- register ---------------------------------------------------------------------------------

    function test_register_storesTheRecordUnderTheHashOfTheSpecAndEmits() public {
        ModelSpec memory m = _spec();
        bytes32 id = keccak256(abi.encode(m));
        address registrant = makeAddr("registrant");
        vm.expectEmit(address(models));
        emit ModelRegistered(id, m.commitment, registrant, m);
        vm.prank(registrant);
        assertEq(models.register(m), id);
        assertTrue(models.exists(id));
        assertEq(keccak256(abi.encode(models.model(id))), id);
    }

    function test_register_acceptsAnMLPWithItsInputWidth() public {
        bytes32 id = models.register(_mlp());
        assertEq(models.model(id).inputBytes, 784);
        assertEq(models.model(id).arch, models.ARCH_MLP());
    }

    function test_register_isPermissionlessAndSameCommitmentWithOtherSizesIsAnotherRecord() public {
        ModelSpec memory m = _spec();
        vm.prank(makeAddr("x"));
        bytes32 a = models.register(m);
        m.stepCap = 23;
        vm.prank(makeAddr("y"));
        bytes32 b = models.register(m);
        assertTrue(a != b);
        assertEq(models.model(a).stepCap, 22);
        assertEq(models.model(b).stepCap, 23);
    }

    function test_register_revertsModelExistsOnTheSameSpec() public {
        ModelSpec memory m = _spec();
        bytes32 id = models.register(m);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelExists.selector, id));
        vm.prank(makeAddr("anyone"));
        models.register(m);
    }

    function test_register_revertsInvalidModel0ForAnUnknownArch() public {
        ModelSpec memory m = _spec();
        m.arch = 0;
        _expectInvalid(m, 0);
        m.arch = 3;
        _expectInvalid(m, 0);
    }

    function test_register_revertsInvalidModel1ForNoNodes() public {
        ModelSpec memory m = _spec();
        m.nF = 0;
        m.jArgmax = 0;
        _expectInvalid(m, 1);
    }

    function test_register_revertsInvalidModel2ForAnArgmaxOutsideF() public {
        ModelSpec memory m = _spec();
        m.jArgmax = m.nF;
        _expectInvalid(m, 2);
        m.jArgmax = m.nF - 1; // the last node is fine
        models.register(m);
    }

    function test_register_revertsInvalidModel3ForAStepCapOutside1To48() public {
        ModelSpec memory m = _spec();
        m.stepCap = 0;
        _expectInvalid(m, 3);
        m.stepCap = 49;
        _expectInvalid(m, 3);
        m.stepCap = 48;
        models.register(m);
        m.stepCap = 1;
        models.register(m);
    }

    function test_register_revertsInvalidModel4ForAnEmptyVocabulary() public {
        ModelSpec memory m = _spec();
        m.vocab = 0;
        _expectInvalid(m, 4);
    }

    function test_register_revertsInvalidModel5ForNoContext() public {
        ModelSpec memory m = _spec();
        m.context = 0;
        _expectInvalid(m, 5);
    }

    function test_register_revertsInvalidModel6ForAnEmptyTree() public {
        ModelSpec memory m = _spec();
        m.nWeights = 0;
        _expectInvalid(m, 6);
        m.nWeights = 1;
        m.nPrograms = 0;
        _expectInvalid(m, 6);
    }

    function test_register_revertsInvalidModel7ForALlamaWithAnInputWidth() public {
        ModelSpec memory m = _spec();
        m.inputBytes = 1;
        _expectInvalid(m, 7);
    }

    function test_register_revertsInvalidModel7ForAnMLPInputWidthOutside1To2Pow28() public {
        ModelSpec memory m = _mlp();
        m.inputBytes = 0;
        _expectInvalid(m, 7);
        m.inputBytes = uint32(1 << 28) + 1;
        _expectInvalid(m, 7);
        m.inputBytes = uint32(1 << 28);
        models.register(m);
    }

    function test_register_aRevertedRegistrationStoresNothing() public {
        ModelSpec memory m = _spec();
        m.vocab = 0;
        bytes32 id = keccak256(abi.encode(m));
        _expectInvalid(m, 4);
        assertFalse(models.exists(id));
    }

    // -- reads ------------------------------------------------------------------------------------

    function test_model_revertsUnknownModelWithTheId() public {
        bytes32 id = keccak256("nothing");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownModel.selector, id));
        models.model(id);
        assertFalse(models.exists(id));
    }

    function test_version_isSemver() public view {
        assertEq(models.version(), "0.1.0");
    }
}
