// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice A registered model (docs/SPEC.md §6.2). Immutable once registered.
/// @param weightRoot   Root of the weight tree (§3.6).
/// @param graphRoot    Root of the per-token graph F (§5.1).
/// @param programsRoot Root of the program tree (§5.3).
/// @param commitment   Root of the 4-leaf tree (weightRoot, graphRoot, programsRoot, 0).
/// @param arch         1 LLaMA, 2 MLP.
/// @param nF           Nodes per token.
/// @param jArgmax      The argmax node of F (the token a position produces).
/// @param nWeights     Leaves of the weight tree (its depth is ⌈log2 nWeights⌉).
/// @param nPrograms    Leaves of the program tree.
/// @param stepCap      K: a node's run takes at most 2^K steps.
/// @param vocab        Vocabulary size (classes for an MLP).
/// @param context      Maximum sequence length S.
/// @param inputBytes   MLP: the input width in bytes; LLaMA: 0.
/// @param uri          Where to fetch the model file and its metadata.
struct ModelSpec {
    bytes32 weightRoot;
    bytes32 graphRoot;
    bytes32 programsRoot;
    bytes32 commitment;
    uint8 arch;
    uint32 nF;
    uint32 jArgmax;
    uint32 nWeights;
    uint32 nPrograms;
    uint8 stepCap;
    uint32 vocab;
    uint32 context;
    uint32 inputBytes;
    string uri;
}

/// @notice What the phase link needs to know of a node, all from chain state (§6.6).
struct NodeContext {
    bytes32 weightRoot;
    bytes32 graphRoot;
    bytes32 programsRoot;
    uint32 nF;
    uint32 jArgmax;
    uint32 nWeights;
    uint32 nPrograms;
    uint8 arch;
    uint8 stepCap;
    uint32 promptLength;
    bytes32 inputRoot;
    uint64 node;
    bytes32 accBefore;
    bytes32 accAfter;
}

/// @notice The submitter's transition at the end of phase 2 (§6.6). Every path is compact (§6.1).
/// @param outputRoot  The claimed output root of node i.
/// @param accPath     Path of leaf i: S_i with a zero leaf, S_{i+1} with outputRoot.
/// @param descriptor  Descriptor j of F, 4·(31 + p) bytes.
/// @param graphPath   Path of leaf j in F.
/// @param region0Root The program's region-0 root.
/// @param entry       The program's entry point.
/// @param programPath Path of the program's leaf in the program tree.
/// @param inputLeaves Per input, the leaf its reference names (§5.1).
/// @param inputPaths  Per input, that leaf's path (empty where none is needed).
/// @param finalState  The packed 226-byte final VM state.
/// @param regionPath  Depth-4 path of the output region's root in finalState's memRoot.
struct TransitionProof {
    bytes32 outputRoot;
    bytes accPath;
    bytes descriptor;
    bytes graphPath;
    bytes32 region0Root;
    uint32 entry;
    bytes programPath;
    bytes32[] inputLeaves;
    bytes[] inputPaths;
    bytes finalState;
    bytes regionPath;
}
