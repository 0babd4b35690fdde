"""What an integer model is: its config and the ordered list of tensors it must hold.

The order of `tensor_specs(config)` is the canonical order of the weight tree (SPEC §3.6): weight
leaf w is the tensor root of the w-th tensor listed here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from offchain import protocol

ARCH_LLAMA = protocol.ARCH_LLAMA
ARCH_MLP = protocol.ARCH_MLP
CONFIG_WORDS = 16  # the config is itself tensor 0: 16 int32 words

DType = Literal["i8", "i32"]
NP_DTYPES: dict[str, type] = {"i8": np.int8, "i32": np.int32}


@dataclass(frozen=True)
class Config:
    """Model shape and integer constants. For the MLP, `dims` lists the layer widths."""

    arch: int = ARCH_LLAMA
    dim: int = 0
    hidden_dim: int = 0
    n_layers: int = 0
    n_heads: int = 0
    n_kv_heads: int = 0
    vocab_size: int = 0
    max_seq_len: int = 0
    norm_eps: int = 1  # RMSNorm epsilon in units of 2^-24
    exp_len: int = 0  # entries in the softmax exp table
    dims: tuple[int, ...] = field(default_factory=tuple)  # MLP only: input, hidden..., output

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    @property
    def kv_dim(self) -> int:
        return self.n_kv_heads * self.head_dim

    def words(self) -> np.ndarray:
        """The config as int32[16], the model's tensor 0 (binds every shape into the commitment)."""
        if self.arch == ARCH_LLAMA:
            vals = [self.arch, self.dim, self.hidden_dim, self.n_layers, self.n_heads, self.n_kv_heads,
                    self.vocab_size, self.max_seq_len, self.norm_eps, self.exp_len]
        else:
            vals = [self.arch, len(self.dims), *self.dims]
        if len(vals) > CONFIG_WORDS:
            raise ValueError(f"config needs {len(vals)} words, the format holds {CONFIG_WORDS}")
        return np.array(vals + [0] * (CONFIG_WORDS - len(vals)), dtype=np.int32)

    def to_json(self) -> dict:
        d = asdict(self)
        d["dims"] = list(self.dims)
        return d

    @staticmethod
    def from_json(d: dict) -> "Config":
        d = dict(d)
        d["dims"] = tuple(d.get("dims", ()))
        return Config(**d)

    def validate(self) -> None:
        if self.arch == ARCH_LLAMA:
            if min(self.dim, self.hidden_dim, self.n_layers, self.n_heads, self.n_kv_heads, self.vocab_size,
                   self.max_seq_len, self.exp_len, self.norm_eps) <= 0:
                raise ValueError(f"config has a non-positive field: {self}")
            if self.dim % self.n_heads or self.n_heads % self.n_kv_heads or self.head_dim % 2:
                raise ValueError(f"dim {self.dim}, heads {self.n_heads}/{self.n_kv_heads} do not split evenly")
            if self.dim >= 1 << 14 or self.hidden_dim >= 1 << 17:
                raise ValueError("dim must be below 2^14 (RMSNorm's Σx² in int64) and hidden_dim below 2^17 "
                                 "(int32 matmul accumulators)")
        elif self.arch == ARCH_MLP:
            if len(self.dims) < 2 or min(self.dims) <= 0:
                raise ValueError(f"MLP dims must list >= 2 positive widths, got {self.dims}")
        else:
            raise ValueError(f"unknown architecture {self.arch}")


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: DType
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * (1 if self.dtype == "i8" else 4)


def tensor_specs(c: Config) -> list[TensorSpec]:
    """Every tensor of a model of config `c`, in canonical (weight-tree) order."""
    c.validate()
    out = [TensorSpec("config", "i32", (CONFIG_WORDS,))]
    if c.arch == ARCH_MLP:
        out.append(TensorSpec("input.rq", "i32", (2,)))
        for i, (k, n) in enumerate(zip(c.dims[:-1], c.dims[1:])):
            out += [TensorSpec(f"fc{i}.weight", "i8", (n, k)), TensorSpec(f"fc{i}.bias", "i32", (n,)),
                    TensorSpec(f"fc{i}.rq", "i32", (n, 2))]
        return out

    d, hid, kvd, v = c.dim, c.hidden_dim, c.kv_dim, c.vocab_size

    def lin(name: str, n: int, k: int) -> list[TensorSpec]:
        return [TensorSpec(f"{name}.weight", "i8", (n, k)), TensorSpec(f"{name}.rq", "i32", (n, 2))]

    out += lin("tok_embeddings", v, d)
    for i in range(c.n_layers):
        p = f"layers.{i}"
        out.append(TensorSpec(f"{p}.attention_norm.weight", "i32", (d,)))
        out += lin(f"{p}.attention.wq", d, d) + lin(f"{p}.attention.wk", kvd, d) + lin(f"{p}.attention.wv", kvd, d)
        out += [TensorSpec(f"{p}.attention.softmax.rq", "i32", (2,)), TensorSpec(f"{p}.attention.av.rq", "i32", (2,))]
        out += lin(f"{p}.attention.wo", d, d)
        out.append(TensorSpec(f"{p}.ffn_norm.weight", "i32", (d,)))
        out += lin(f"{p}.feed_forward.w1", hid, d) + lin(f"{p}.feed_forward.w3", hid, d)
        out += [TensorSpec(f"{p}.feed_forward.silu_table", "i32", (256,)),
                TensorSpec(f"{p}.feed_forward.swiglu.rq", "i32", (2,))]
        out += lin(f"{p}.feed_forward.w2", d, hid)
    out.append(TensorSpec("norm.weight", "i32", (d,)))
    out += lin("output", v, d)
    out += [TensorSpec("rope_cos", "i32", (c.max_seq_len, c.head_dim // 2)),
            TensorSpec("rope_sin", "i32", (c.max_seq_len, c.head_dim // 2)),
            TensorSpec("exp_table", "i32", (c.exp_len,))]
    return out


#: The derived weight-tree leaf of an MLP (SPEC §3.6): the single-phase node's packed weights.
PACKED_MLP = "mlp_full.packed"


def packed_mlp_bytes(dims: tuple[int, ...]) -> int:
    """Byte length of the packed MLP weights (SPEC §4.6): input.rq, then per layer W padded to 4
    bytes, the bias and the requant pairs."""
    return 8 + sum(-(-n * k // 4) * 4 + 4 * n + 8 * n for k, n in zip(dims[:-1], dims[1:]))


def weight_leaves(c: Config) -> list[tuple[str, int]]:
    """(name, byte size) of every leaf of the weight tree, in leaf order: the stored tensors, then
    for an MLP the derived packed-weights leaf."""
    out = [(s.name, s.nbytes) for s in tensor_specs(c)]
    if c.arch == ARCH_MLP:
        out.append((PACKED_MLP, packed_mlp_bytes(c.dims)))
    return out


@dataclass
class IntModel:
    """A loaded integer model: config, tensors by name (canonical order), tokenizer description."""

    config: Config
    tensors: dict[str, np.ndarray]
    tokenizer: dict
    meta: dict = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.tensors[name]

    def check(self) -> None:
        """Every tensor present with its spec's dtype and shape, and requant pairs in range."""
        for spec in tensor_specs(self.config):
            t = self.tensors.get(spec.name)
            if t is None:
                raise ValueError(f"tensor {spec.name}: missing")
            if t.dtype != NP_DTYPES[spec.dtype] or t.shape != spec.shape:
                raise ValueError(f"tensor {spec.name}: expected {spec.dtype}{list(spec.shape)}, "
                                 f"got {t.dtype}{list(t.shape)}")
            if spec.name.endswith(".rq"):
                rq = t.reshape(-1, 2)
                if (rq[:, 0] < 0).any() or (rq[:, 1] < 1).any() or (rq[:, 1] > 62).any():
                    raise ValueError(f"tensor {spec.name}: requant pair outside m >= 0, 1 <= s <= 62")
            if spec.name.endswith("norm.weight") and (np.abs(t.astype(np.int64)) >= 1 << 24).any():
                raise ValueError(f"tensor {spec.name}: RMSNorm gains must be below 2^24 in magnitude")
        if not np.array_equal(self.tensors["config"], self.config.words()):
            raise ValueError("tensor config: does not match the header's config")
