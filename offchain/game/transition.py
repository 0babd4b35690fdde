"""The phase link (SPEC §6.6): the transition proof a submitter sends at `(S_i agreed, S_{i+1}
disputed)`, and a Python re-implementation of every check the contract makes on it.

`build` assembles the struct's fields from a task, the submitter's claims and node i's final VM
state; `check` derives, as the contract does, the node's VM start-state hash from committed data
alone and returns level 1's `(loHash, hiHash)`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from offchain.constants import ACC_DEPTH, REGION_BYTES, REGION_LEVELS
from offchain.game.errors import Revert
from offchain.game.model import ModelSpec
from offchain.game.paths import (
    accumulator_path,
    check_path,
    leaves_depth,
    region_path,
    tree_path,
)
from offchain.game.phase1 import NodeRun, clone_vm
from offchain.game.task import AnyTask, Claims
from offchain.game.tokens import prompt_depth, prompt_leaf, token_root
from offchain.llm.kernels import program
from offchain.llm.model import ARCH_MLP
from offchain.merkle import ZERO_HASHES, fold_region, tensor_height, tensor_root
from offchain.merkle.hashing import ZERO_LEAF
from offchain.mipsemu import STATE_BYTES, VM, hash_packed
from offchain.node.graph import DESCRIPTOR_FIXED_WORDS, PROGRAMS, Ref
from offchain.node.layout import FIRST_INPUT_REGION, MAX_INPUTS, MAX_PARAMS, OUTPUT_REGION, Header
from offchain.node.start import Program, start_mem_root, start_vm
from offchain.protocol import OFF_EXIT_CODE, OFF_EXITED, OFF_STEP

#: The TransitionProof struct (SPEC §6.6), field by field.
TRANSITION_ABI = "(bytes32,bytes,bytes,bytes,bytes32,uint32,bytes,bytes32[],bytes[],bytes,bytes)"


@dataclass(frozen=True)
class TransitionProof:
    outputRoot: bytes  # noqa: N815 - the Solidity field names
    accPath: bytes  # noqa: N815
    descriptor: bytes
    graphPath: bytes  # noqa: N815
    region0Root: bytes  # noqa: N815
    entry: int
    programPath: bytes  # noqa: N815
    inputLeaves: tuple[bytes, ...]  # noqa: N815
    inputPaths: tuple[bytes, ...]  # noqa: N815
    finalState: bytes  # noqa: N815
    regionPath: bytes  # noqa: N815

    def as_tuple(self) -> tuple[object, ...]:
        """The struct's fields in ABI order (an argument of `transition(game, round, proof)`)."""
        return tuple(getattr(self, f.name) for f in fields(self))

    def abi(self) -> bytes:
        """`abi.encode(proof)`."""
        from eth_abi import encode

        return encode([TRANSITION_ABI], [self.as_tuple()])

    def to_json(self) -> dict[str, object]:
        def enc(v: object) -> object:
            if isinstance(v, bytes):
                return "0x" + v.hex()
            if isinstance(v, tuple):
                return [enc(x) for x in v]
            return v

        return {f.name: enc(getattr(self, f.name)) for f in fields(self)}


# -- the honest side: start state, final state, and the proof ------------------------------------


def start_of(task: AnyTask, i: int) -> VM:
    """Node i's VM start state (SPEC §4.4), from its honest input bytes."""
    node = task.node(i)
    return start_vm(program(node.program), node.header, list(node.inputs))


def node_run(task: AnyTask, i: int) -> NodeRun:
    return NodeRun(start_of(task, i))


def claimed_final(task: AnyTask, claims: Claims, i: int, honest_final: VM) -> VM:
    """The final state a submitter claims for node i: the honest one, with the output region
    holding the claimed output bytes when they differ from the honest ones."""
    bad = claims.output(i)
    if bad is None:
        return honest_final
    d = task.graph.descriptors[i % task.graph.n_f]
    t = i // task.graph.n_f
    if len(bad) != d.out_len(t):
        raise ValueError(f"a claimed output of node {i} must be {d.out_len(t)} bytes, got {len(bad)}")
    vm = clone_vm(honest_final)
    vm.mem.write(d.output_region * REGION_BYTES, bad)
    return vm


def weight_tree(task: AnyTask) -> bytes:
    """The weight tree's leaves: each weight-tree leaf's tensor root, in leaf order."""
    return b"".join(task.weight_leaves())


def programs_leaves(names: tuple[str, ...] = PROGRAMS) -> bytes:
    return b"".join(tensor_root(program(n).region0_root + program(n).entry.to_bytes(4, "big"))[0] for n in names)


def build(task: AnyTask, claims: Claims, i: int, final: VM) -> TransitionProof:
    """The transition proof of node i for a submitter with `claims`, whose node-i run ends in `final`."""
    g, n_f = task.graph, task.graph.n_f
    t, j = divmod(i, n_f)
    d = g.descriptors[j]
    acc = claims.accumulator
    prog = program(task.programs[d.program])
    leaves, paths = [], []
    weights = None
    for ref in d.inputs:
        if ref.kind == Ref.WEIGHT:
            weights = weight_tree(task) if weights is None else weights
            leaves.append(weights[32 * ref.index : 32 * ref.index + 32])
            paths.append(tree_path(weights, ref.index))
        elif ref.kind == Ref.TOKEN_IN and task.mlp:
            leaves.append(tensor_root(task.input)[0])
            paths.append(b"")
        elif ref.kind == Ref.TOKEN_IN and t < task.n_prompt:
            leaf, path = prompt_leaf(task.input, t)
            leaves.append(leaf)
            paths.append(path)
        elif ref.kind == Ref.PREV_TOKEN and t == 0:
            leaves.append(ZERO_LEAF)
            paths.append(b"")
        else:
            src = {Ref.SAME_TOKEN: t * n_f + ref.index, Ref.PREV_TOKEN: (t - 1) * n_f + ref.index,
                   Ref.TOKEN_IN: (t - 1) * n_f + g.j_argmax}[ref.kind]
            leaves.append(acc.levels[0][src])
            paths.append(accumulator_path(acc, src, i))
    descs = b"".join(tensor_root(x.encode())[0] for x in g.descriptors)
    return TransitionProof(
        outputRoot=claims.leaves[i], accPath=accumulator_path(acc, i, i), descriptor=d.encode(),
        graphPath=tree_path(descs, j), region0Root=prog.region0_root, entry=prog.entry,
        programPath=tree_path(programs_leaves(task.programs), d.program), inputLeaves=tuple(leaves), inputPaths=tuple(paths),
        finalState=final.pack(), regionPath=region_path(final.mem, d.output_region))


@dataclass
class Link:
    """Everything a submitter needs at node i: the proof, the node's run (start state and honest
    states at every step) and the final state it claims."""

    proof: TransitionProof
    run: NodeRun
    final: VM


def link(task: AnyTask, claims: Claims, i: int) -> Link:
    """The transition of node i for a submitter with `claims` (honest or lying)."""
    run = node_run(task, i)
    final = claimed_final(task, claims, i, run.final())
    return Link(build(task, claims, i, final), run, final)


# -- the contract's side ---------------------------------------------------------------------------


def start_hash(mem_root: bytes, entry: int) -> bytes:
    """The hash of a start state (SPEC §2.2): only the memory root and the entry point vary."""
    vm = VM()
    vm.pc, vm.next_pc = entry, (entry + 4) & 0xFFFFFFFF
    return hash_packed(mem_root + vm.pack()[32:])


def _height(length: int) -> int:
    """A tensor's height, refused as the contract refuses a tensor larger than one region."""
    if length > REGION_BYTES:
        raise Revert("TensorTooLarge", f"a {length}-byte tensor is larger than one region", (length,))
    return tensor_height(length)


def _require_empty(path: bytes) -> None:
    """A path where the leaf needs no proof must be empty (NodeLink._requireEmpty)."""
    if path:
        raise Revert("InvalidPathLength", f"expected an empty path, got {len(path)} bytes", (0, len(path)))


def check(spec: ModelSpec, task_input_root: bytes, n_prompt: int, i: int, s_i: bytes, s_next: bytes,
          p: TransitionProof) -> tuple[bytes, bytes]:
    """Every check of SPEC §6.6, in the contract's order; returns level 1's (start hash, final
    hash) or raises Revert naming the custom error."""
    t, j = divmod(i, spec.nF)
    try:
        check_path(s_i, ZERO_LEAF, i, p.accPath, ACC_DEPTH)
        check_path(s_next, p.outputRoot, i, p.accPath, ACC_DEPTH)
    except Revert as e:
        if e.error != "InvalidProof":
            raise
        raise Revert("InconsistentTransition", f"the accumulator path of node {i} does not link S_i to S_(i+1)") \
            from None
    # The descriptor is read word by word as the contract reads it, not through Descriptor.decode,
    # whose stricter checks (a known op, a 0/1 positional flag, zeros after the last input) the
    # contract does not make: a mirror must refuse exactly what the contract refuses.
    n_words = len(p.descriptor) // 4
    # InvalidDescriptor's reason codes: 0 length, 1 parameter count, 2 program id, 3 output region,
    # 4 input count; InvalidProof's tree numbers: 0 graph, 1 programs, 2 accumulator, 3 weights,
    # 4 prompt, 5 output region (NodeLink's).
    if len(p.descriptor) < 4 * DESCRIPTOR_FIXED_WORDS:
        raise Revert("InvalidDescriptor", f"a {len(p.descriptor)}-byte descriptor", (0,))
    w = [int.from_bytes(p.descriptor[4 * k : 4 * k + 4], "big") for k in range(n_words)]
    n_params = w[DESCRIPTOR_FIXED_WORDS - 1]
    if n_params > MAX_PARAMS:
        raise Revert("InvalidDescriptor", f"{n_params} parameters, at most {MAX_PARAMS}", (1,))
    if len(p.descriptor) != 4 * (DESCRIPTOR_FIXED_WORDS + n_params):
        raise Revert("InvalidDescriptor", "the parameter count does not match the descriptor's length", (0,))
    check_path(spec.graphRoot, tensor_root(p.descriptor)[0], j, p.graphPath, leaves_depth(spec.nF), tree=0)
    program_id = w[0]
    if program_id >= spec.nPrograms:
        raise Revert("InvalidDescriptor", f"program {program_id} of {spec.nPrograms}", (2,))
    prog_leaf = tensor_root(p.region0Root + p.entry.to_bytes(4, "big"))[0]
    check_path(spec.programsRoot, prog_leaf, program_id, p.programPath, leaves_depth(spec.nPrograms), tree=1)
    count = 0
    while count < MAX_INPUTS and w[6 + 4 * count] != 0:
        count += 1
    if len(p.inputLeaves) != count or len(p.inputPaths) != count:
        raise Revert("InvalidDescriptor", f"{len(p.inputLeaves)} input leaves and {len(p.inputPaths)} paths "
                     f"for {count} inputs", (4,))
    roots: list[tuple[bytes, int]] = []
    lengths: list[int] = []
    for k, (leaf, path) in enumerate(zip(p.inputLeaves, p.inputPaths)):
        kind, idx, length, per_pos = w[6 + 4 * k : 10 + 4 * k]
        if kind == Ref.SAME_TOKEN:
            if idx >= j:
                raise Revert("InvalidReference", f"input {k}: SAME_TOKEN({idx}) in node {j}", (k,))
            length += per_pos * (t + 1)
            check_path(s_i, leaf, t * spec.nF + idx, path, ACC_DEPTH, tree=2)
            root = leaf
        elif kind == Ref.PREV_TOKEN:
            if idx >= spec.nF:
                raise Revert("InvalidReference", f"input {k}: PREV_TOKEN({idx}) of {spec.nF} nodes", (k,))
            length += per_pos * (1 if t == 0 else t)
            if t == 0:  # the zero tensor: nothing to prove, so nothing may be sent
                _require_empty(path)
                root = ZERO_HASHES[_height(length)]
            else:
                check_path(s_i, leaf, (t - 1) * spec.nF + idx, path, ACC_DEPTH, tree=2)
                root = leaf
        elif kind == Ref.WEIGHT:
            if idx >= spec.nWeights or per_pos != 0:
                raise Revert("InvalidReference", f"input {k}: WEIGHT({idx}) of {spec.nWeights}, {per_pos} bytes per position",
                             (k,))
            check_path(spec.weightRoot, leaf, idx, path, leaves_depth(spec.nWeights), tree=3)
            root = leaf
        elif kind == Ref.TOKEN_IN:
            if per_pos != 0:
                raise Revert("InvalidReference", f"input {k}: TOKEN_IN with {per_pos} bytes per position", (k,))
            if spec.arch == ARCH_MLP:  # the task's input root itself; the leaf sent is not read
                _require_empty(path)
                root = task_input_root
            elif t < n_prompt:
                check_path(task_input_root, leaf, t // 8, path, prompt_depth(n_prompt), tree=4)
                root = token_root(leaf[4 * (t % 8) : 4 * (t % 8) + 4])
            else:
                check_path(s_i, leaf, (t - 1) * spec.nF + spec.jArgmax, path, ACC_DEPTH, tree=2)
                root = leaf
        else:
            raise Revert("InvalidReference", f"input {k}: unknown kind {kind}", (k,))
        roots.append((root, _height(length)))
        lengths.append(length)
    out_len = w[3] + w[4] * (t + 1)
    _height(out_len)
    if len(p.finalState) != STATE_BYTES:  # MIPSState.load's checks
        raise Revert("InvalidStateLength", f"a {len(p.finalState)}-byte state", (len(p.finalState),))
    exit_code, exited = p.finalState[OFF_EXIT_CODE], p.finalState[OFF_EXITED]
    steps = int.from_bytes(p.finalState[OFF_STEP : OFF_STEP + 8], "big")
    if exited > 1:
        raise Revert("InvalidExitedFlag", f"exited flag {exited}", (exited,))
    if exited != 1 or exit_code != 0:
        raise Revert("InvalidFinalState", f"exited {exited}, code {exit_code}")
    if not 1 <= steps <= 1 << spec.stepCap:
        raise Revert("StepCapExceeded", f"{steps} steps, cap 2^{spec.stepCap}", (steps, 1 << spec.stepCap))
    region = w[5]
    if region not in (FIRST_INPUT_REGION, OUTPUT_REGION):  # in place over input 0, or the output region
        raise Revert("InvalidDescriptor", f"output region {region}", (3,))
    check_path(p.finalState[:32], fold_region(p.outputRoot, tensor_height(out_len)), region, p.regionPath, REGION_LEVELS,
               tree=5)
    header = Header(w[1], t if w[2] == 1 else 0, tuple(lengths), out_len, tuple(w[DESCRIPTOR_FIXED_WORDS:]))
    mem_root = start_mem_root(Program("", p.entry, p.region0Root), header, roots)
    return start_hash(mem_root, p.entry), hash_packed(p.finalState)
