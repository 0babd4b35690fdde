"""A model as the ModelRegistry records it (SPEC §6.2): the `ModelSpec` struct and its id.

Everything here is derived from a model file and its graph F; `register(spec)` on chain checks the
cheap parts (the commitment of the three roots, bounds) and `opml model verify` the rest.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields

from eth_abi import encode as abi_encode

from offchain.llm.commit import weight_leaf_roots, weight_root
from offchain.llm.model import ARCH_LLAMA, ARCH_MLP, IntModel
from offchain.merkle import keccak
from offchain.node.graph import PROGRAMS, Graph, estimate_steps, model_commitment, programs_root

#: The on-chain struct, field by field (SPEC §6.6).
MODEL_SPEC_ABI = "(bytes32,bytes32,bytes32,bytes32,uint8,uint32,uint32,uint32,uint32,uint8,uint32,uint32,uint32,string)"
MAX_STEP_CAP = 48


@dataclass(frozen=True)
class ModelSpec:
    weightRoot: bytes  # noqa: N815 - the Solidity field names, so JSON vectors read as the ABI
    graphRoot: bytes  # noqa: N815
    programsRoot: bytes  # noqa: N815
    commitment: bytes
    arch: int
    nF: int  # noqa: N815
    jArgmax: int  # noqa: N815
    nWeights: int  # noqa: N815
    nPrograms: int  # noqa: N815
    stepCap: int  # noqa: N815
    vocab: int
    context: int
    inputBytes: int  # noqa: N815
    uri: str

    def abi(self) -> bytes:
        """`abi.encode(spec)`."""
        return abi_encode([MODEL_SPEC_ABI], [astuple(self)])

    @property
    def model_id(self) -> bytes:
        """The registry's id of this record: `keccak256(abi.encode(spec))`."""
        return keccak(self.abi())

    def to_json(self) -> dict[str, object]:
        return {f.name: ("0x" + v.hex() if isinstance(v, bytes) else v)
                for f in fields(self) for v in [getattr(self, f.name)]}


def step_cap(graph: Graph, model: IntModel) -> int:
    """The smallest K with 2^K at least every node's step estimate (SPEC §6.2)."""
    worst = max((estimate_steps(d, model.config) or 1) for d in graph.descriptors)
    return max(1, (worst - 1).bit_length())


def model_spec(model: IntModel, graph: Graph, uri: str = "") -> ModelSpec:
    """The ModelSpec of `model` served with F = `graph`."""
    c = model.config
    wroot, groot, proot = weight_root(weight_leaf_roots(model)), graph.root(), programs_root()
    mlp = c.arch == ARCH_MLP
    if c.arch not in (ARCH_LLAMA, ARCH_MLP):
        raise ValueError(f"no model spec for architecture {c.arch}")
    return ModelSpec(
        weightRoot=wroot, graphRoot=groot, programsRoot=proot, commitment=model_commitment(wroot, groot, proot),
        arch=c.arch, nF=graph.n_f, jArgmax=graph.j_argmax, nWeights=len(graph.weight_names),
        nPrograms=len(PROGRAMS), stepCap=step_cap(graph, model),
        vocab=c.dims[-1] if mlp else c.vocab_size, context=1 if mlp else c.max_seq_len,
        inputBytes=c.dims[0] if mlp else 0, uri=uri)
