// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MerkleMemory} from "./lib/MerkleMemory.sol";
import {MerklePath} from "./lib/MerklePath.sol";
import {MIPSState} from "./lib/MIPSState.sol";
import {NodeContext, TransitionProof} from "./lib/GameTypes.sol";

/// @title NodeLink
/// @notice The checked link between the game's two levels (docs/SPEC.md §6.6): from the agreed
///         phase-2 state S_i and the disputed S_{i+1}, it proves the node's claimed output, reads
///         the node's descriptor and program from the model's commitments, proves every input
///         against the tree its reference names, and derives the node's VM start-state hash
///         itself. It also checks the submitter's claimed final state. Stateless and pure.
/// @dev    Every index, length and height is derived here from committed data (the descriptor,
///         the model record, the task), never taken from the caller. A deployment is shared by
///         every game; DisputeGame calls `verify`, tests and tools call `startHash`.
contract NodeLink {
    // Narrowing casts below store values already bounded to u32 (lengths ≤ 2^28, positions and
    // descriptor words read as u32) into u32 fields of the header and the state.
    // forge-lint: disable-start(unsafe-typecast)
    /// @notice Semantic version of this contract.
    string public constant version = "0.1.0";

    /// @notice Descriptor words before the parameters (§5.1).
    uint256 internal constant DESC_FIXED_WORDS = 31;
    /// @notice Maximum parameter words of a node (§4.2).
    uint256 internal constant MAX_PARAMS = 48;
    /// @notice Maximum inputs of a node (§4.2).
    uint256 internal constant MAX_INPUTS = 6;
    /// @notice The node header's ABI version (§4.2).
    uint32 internal constant ABI_VERSION = 1;
    /// @notice Header words before the parameters (§4.2).
    uint256 internal constant HEADER_FIXED_WORDS = 16;
    /// @notice Depth of the phase-2 accumulator (§5.2).
    uint256 internal constant ACC_DEPTH = 32;
    /// @notice The node's VM start registers (§2.2).
    uint32 internal constant HEAP_START = 0x90000000;
    uint32 internal constant STACK_TOP = 0x0FFFFFF0;
    /// @notice Input reference kinds (§5.1).
    uint256 internal constant REF_SAME_TOKEN = 1;
    uint256 internal constant REF_PREV_TOKEN = 2;
    uint256 internal constant REF_WEIGHT = 3;
    uint256 internal constant REF_TOKEN_IN = 4;
    /// @notice Model architectures (§6.2).
    uint8 internal constant ARCH_LLAMA = 1;
    uint8 internal constant ARCH_MLP = 2;

    /// @notice The accumulator path does not take S_i to S_{i+1} with the claimed output.
    error InconsistentTransition();
    /// @notice A path does not prove its leaf against the commitment it must match.
    /// @param tree Which tree: 0 graph, 1 programs, 2 accumulator, 3 weights, 4 prompt, 5 output region.
    /// @param index The leaf index the contract derived.
    error InvalidProof(uint8 tree, uint256 index);
    /// @notice The descriptor is malformed.
    /// @param reason 0 length, 1 parameter count, 2 program id, 3 output region, 4 input count.
    error InvalidDescriptor(uint8 reason);
    /// @notice An input reference names something it may not.
    /// @param input The input's position.
    error InvalidReference(uint256 input);
    /// @notice The final state is not an exit with code 0.
    error InvalidFinalState();
    /// @notice The final state's step count is 0 or above 2^K.
    /// @param steps The claimed step count.
    /// @param cap   2^K.
    error StepCapExceeded(uint64 steps, uint256 cap);

    /// @dev Values derived once per call and shared by the helpers (keeps the stack shallow).
    struct Node {
        uint256 t;
        uint256 j;
        uint256 nInputs;
        uint32[6] lengths;
        bytes32[16] regions;
    }

    /// @notice Check a transition and derive the node's start and final state hashes (§6.6).
    /// @param ctx The node's context, read by the game from chain state.
    /// @param p   The submitter's transition.
    /// @return start     The VM start-state hash the contract derived.
    /// @return finalHash The hash of the claimed final state.
    /// @return steps     The claimed final state's step count.
    function verify(NodeContext calldata ctx, TransitionProof calldata p)
        external
        pure
        returns (bytes32 start, bytes32 finalHash, uint64 steps)
    {
        if (
            !MerklePath.verify(ctx.accBefore, bytes32(0), ctx.node, ACC_DEPTH, p.accPath)
                || !MerklePath.verify(ctx.accAfter, p.outputRoot, ctx.node, ACC_DEPTH, p.accPath)
        ) revert InconsistentTransition();
        start = _startHash(ctx, p);
        (finalHash, steps) = _final(ctx, p);
    }

    /// @notice The start-state hash of node `ctx.node` from its descriptor, program and input
    ///         proofs alone (§4.4, §6.6); the accumulator fields of `p` and `ctx.accAfter` are unused.
    /// @param ctx The node's context.
    /// @param p   The transition (only the descriptor, program and input fields are read).
    /// @return h  The start-state hash.
    function startHash(NodeContext calldata ctx, TransitionProof calldata p) external pure returns (bytes32 h) {
        h = _startHash(ctx, p);
    }

    /// @dev Descriptor, program, inputs and header → the start-state hash.
    function _startHash(NodeContext calldata ctx, TransitionProof calldata p) internal pure returns (bytes32) {
        Node memory n;
        n.t = ctx.node / ctx.nF;
        n.j = ctx.node % ctx.nF;
        bytes calldata d = p.descriptor;
        if (d.length < 4 * DESC_FIXED_WORDS) revert InvalidDescriptor(0);
        uint256 nParams = _word(d, 30);
        if (nParams > MAX_PARAMS) revert InvalidDescriptor(1);
        if (d.length != 4 * (DESC_FIXED_WORDS + nParams)) revert InvalidDescriptor(0);
        (bytes32 leaf,) = MerkleMemory.tensorRoot(d);
        if (!MerklePath.verify(ctx.graphRoot, leaf, n.j, MerklePath.depthFor(ctx.nF), p.graphPath)) {
            revert InvalidProof(0, n.j);
        }
        uint256 program = _word(d, 0);
        if (program >= ctx.nPrograms) revert InvalidDescriptor(2);
        leaf = keccak256(abi.encodePacked(p.region0Root, bytes32(uint256(p.entry) << 224)));
        if (!MerklePath.verify(ctx.programsRoot, leaf, program, MerklePath.depthFor(ctx.nPrograms), p.programPath)) {
            revert InvalidProof(1, program);
        }
        n.regions[0] = p.region0Root;
        _inputs(ctx, p, n);
        n.regions[1] = _headerRegion(d, n);
        bytes32 z = MerkleMemory.zeroHash(MerkleMemory.REGION_HEIGHT);
        for (uint256 r = 2 + n.nInputs; r < 16; r++) {
            n.regions[r] = z;
        }
        return _initialStateHash(MerkleMemory.combineRegions(n.regions), p.entry);
    }

    /// @dev Prove each input against the tree its reference names and fold it into its region.
    function _inputs(NodeContext calldata ctx, TransitionProof calldata p, Node memory n) internal pure {
        bytes calldata d = p.descriptor;
        uint256 count;
        while (count < MAX_INPUTS && _word(d, 6 + 4 * count) != 0) count++;
        if (p.inputLeaves.length != count || p.inputPaths.length != count) revert InvalidDescriptor(4);
        n.nInputs = count;
        for (uint256 k = 0; k < count; k++) {
            (uint256 length, bytes32 root) = _input(ctx, p, n, k);
            n.lengths[k] = uint32(length);
            n.regions[2 + k] = MerkleMemory.foldRegion(root, _height(length));
        }
    }

    /// @dev Input k's byte length (from its reference, §5.1) and its proven tensor root.
    function _input(NodeContext calldata ctx, TransitionProof calldata p, Node memory n, uint256 k)
        internal
        pure
        returns (uint256 length, bytes32 root)
    {
        bytes calldata d = p.descriptor;
        uint256 kind = _word(d, 6 + 4 * k);
        uint256 idx = _word(d, 7 + 4 * k);
        uint256 lenPerPos = _word(d, 9 + 4 * k);
        length = _word(d, 8 + 4 * k);
        if (kind == REF_SAME_TOKEN) {
            if (idx >= n.j) revert InvalidReference(k);
            length += lenPerPos * (n.t + 1);
            root = _accLeaf(ctx, p, k, n.t * ctx.nF + idx);
        } else if (kind == REF_PREV_TOKEN) {
            // The producer's output one position earlier; at t = 0 the zero tensor of its first length.
            if (idx >= ctx.nF) revert InvalidReference(k);
            length += lenPerPos * (n.t == 0 ? 1 : n.t);
            if (n.t == 0) {
                _requireEmpty(p.inputPaths[k]);
                root = MerkleMemory.zeroHash(_height(length));
            } else {
                root = _accLeaf(ctx, p, k, (n.t - 1) * ctx.nF + idx);
            }
        } else if (kind == REF_WEIGHT) {
            if (idx >= ctx.nWeights || lenPerPos != 0) revert InvalidReference(k);
            root = p.inputLeaves[k];
            if (!MerklePath.verify(ctx.weightRoot, root, idx, MerklePath.depthFor(ctx.nWeights), p.inputPaths[k])) {
                revert InvalidProof(3, idx);
            }
        } else if (kind == REF_TOKEN_IN) {
            if (lenPerPos != 0) revert InvalidReference(k);
            root = _tokenIn(ctx, p, k, n.t);
        } else {
            revert InvalidReference(k);
        }
    }

    /// @dev TOKEN_IN at position t (§5.1): the MLP's input root, a prompt token, or the argmax before t.
    function _tokenIn(NodeContext calldata ctx, TransitionProof calldata p, uint256 k, uint256 t)
        internal
        pure
        returns (bytes32)
    {
        if (ctx.arch == ARCH_MLP) {
            _requireEmpty(p.inputPaths[k]);
            return ctx.inputRoot;
        }
        if (t >= ctx.promptLength) return _accLeaf(ctx, p, k, (t - 1) * ctx.nF + ctx.jArgmax);
        bytes32 leaf = p.inputLeaves[k];
        uint256 depth = MerkleMemory.tensorHeight(4 * uint256(ctx.promptLength));
        if (!MerklePath.verify(ctx.inputRoot, leaf, t >> 3, depth, p.inputPaths[k])) revert InvalidProof(4, t >> 3);
        // Token t is word t mod 8 of its leaf; as an i32 [1] tensor its root is that word, zero-padded.
        uint256 word = uint32(uint256(leaf) >> (224 - 32 * (t & 7)));
        return bytes32(word << 224);
    }

    /// @dev Leaf `index` of the agreed S_i, given as input k.
    function _accLeaf(NodeContext calldata ctx, TransitionProof calldata p, uint256 k, uint256 index)
        internal
        pure
        returns (bytes32 leaf)
    {
        leaf = p.inputLeaves[k];
        if (!MerklePath.verify(ctx.accBefore, leaf, index, ACC_DEPTH, p.inputPaths[k])) revert InvalidProof(2, index);
    }

    /// @dev The header region (§4.2), derived from the descriptor, t and the input lengths.
    function _headerRegion(bytes calldata d, Node memory n) internal pure returns (bytes32) {
        uint256 nParams = _word(d, 30);
        bytes memory h = new bytes(4 * (HEADER_FIXED_WORDS + nParams));
        uint256 outLen = _word(d, 3) + _word(d, 4) * (n.t + 1);
        _height(outLen);
        _put(h, 0, ABI_VERSION);
        _put(h, 1, _word(d, 1));
        _put(h, 2, _word(d, 2) == 1 ? n.t : 0);
        _put(h, 3, n.nInputs);
        for (uint256 k = 0; k < n.nInputs; k++) {
            _put(h, 4 + k, n.lengths[k]);
        }
        _put(h, 10, outLen);
        for (uint256 w = 0; w < nParams; w++) {
            _put(h, HEADER_FIXED_WORDS + w, _word(d, DESC_FIXED_WORDS + w));
        }
        (bytes32 root, uint256 height) = MerkleMemory.tensorRoot(h);
        return MerkleMemory.foldRegion(root, height);
    }

    /// @dev Check the claimed final state and its output region (§4.5, §6.6 item 5).
    function _final(NodeContext calldata ctx, TransitionProof calldata p)
        internal
        pure
        returns (bytes32 finalHash, uint64 steps)
    {
        bytes memory s = MIPSState.load(p.finalState);
        if (!MIPSState.exited(s) || MIPSState.exitCode(s) != 0) revert InvalidFinalState();
        steps = uint64(bytes8(p.finalState[MIPSState.OFF_STEP:MIPSState.OFF_STEP + 8]));
        uint256 cap = uint256(1) << ctx.stepCap;
        if (steps == 0 || steps > cap) revert StepCapExceeded(steps, cap);
        bytes calldata d = p.descriptor;
        uint256 region = _word(d, 5);
        if (region != 8 && region != 2) revert InvalidDescriptor(3);
        uint256 t = ctx.node / ctx.nF;
        uint256 outLen = _word(d, 3) + _word(d, 4) * (t + 1);
        bytes32 regionRoot = MerkleMemory.foldRegion(p.outputRoot, _height(outLen));
        if (!MerklePath.verify(MIPSState.memRoot(s), regionRoot, region, 4, p.regionPath)) {
            revert InvalidProof(5, region);
        }
        finalHash = MIPSState.hash(s);
    }

    /// @dev The hash of a program's initial state (§2.2) over memory root `memRoot`.
    function _initialStateHash(bytes32 memRoot, uint32 entry) internal pure returns (bytes32) {
        bytes memory s = new bytes(MIPSState.STATE_BYTES);
        MIPSState.setMemRoot(s, memRoot);
        MIPSState.set32(s, MIPSState.OFF_PC, entry);
        MIPSState.set32(s, MIPSState.OFF_NEXT_PC, entry + 4);
        MIPSState.set32(s, MIPSState.OFF_HEAP, HEAP_START);
        MIPSState.setReg(s, 29, STACK_TOP);
        return MIPSState.hash(s);
    }

    /// @dev The tensor height of a byte length; reverts TensorTooLarge beyond one region.
    function _height(uint256 length) internal pure returns (uint256 height) {
        if (length > MerkleMemory.LEAF_BYTES << MerkleMemory.REGION_HEIGHT) revert MerkleMemory.TensorTooLarge(length);
        height = MerkleMemory.tensorHeight(length);
    }

    /// @dev Word w (big-endian u32) of a calldata byte string whose length the caller has checked.
    function _word(bytes calldata b, uint256 w) internal pure returns (uint256 v) {
        assembly ("memory-safe") {
            // The word is the top 4 bytes of the 32 bytes loaded at its offset.
            v := shr(224, calldataload(add(b.offset, shl(2, w))))
        }
    }

    /// @dev Store word w (big-endian u32) into a memory byte string.
    function _put(bytes memory b, uint256 w, uint256 v) internal pure {
        b[4 * w] = bytes1(uint8(v >> 24));
        b[4 * w + 1] = bytes1(uint8(v >> 16));
        b[4 * w + 2] = bytes1(uint8(v >> 8));
        b[4 * w + 3] = bytes1(uint8(v));
    }

    /// @dev A path that must be empty where the leaf needs no proof.
    function _requireEmpty(bytes calldata path) internal pure {
        if (path.length != 0) revert MerklePath.InvalidPathLength(0, path.length);
    }
    // forge-lint: disable-end(unsafe-typecast)
}
