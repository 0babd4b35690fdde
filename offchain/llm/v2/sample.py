"""Seeded sampling in integers (SPEC §3v2.7): one node that turns a token's logits, the task's
sampling parameters and its committed seed into the next token, identically for every party."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from offchain.llm.v2.fixed import I64
from offchain.llm.v2.ops import exp_neg
from offchain.merkle.hashing import keccak


@dataclass(frozen=True)
class Sampling:
    """temperature and top-p in thousandths (temp_milli = 0: greedy), and the task's seed (u64)."""
    temp_milli: int = 0
    top_p_milli: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.temp_milli < 1 << 20:
            raise ValueError(f"temperature must be between 0 and {(1 << 20) / 1000:g}")
        if not 1 <= self.top_p_milli <= 1000:
            raise ValueError("top-p must be in (0, 1]")
        if not 0 <= self.seed < 1 << 64:
            raise ValueError("the seed must be an unsigned 64-bit integer")

    @classmethod
    def from_floats(cls, temperature: float, top_p: float, seed: int) -> "Sampling":
        """From the CLI's decimal flags, rounded to thousandths (the committed form)."""
        return cls(round(temperature * 1000), round(top_p * 1000), seed)


def draw(seed: int, pos: int) -> int:
    """The position's random number: keccak256(seed as u64 ‖ pos as u32, big-endian) as uint256."""
    return int.from_bytes(keccak(seed.to_bytes(8, "big") + pos.to_bytes(4, "big")), "big")


def sample(z: np.ndarray, s: Sampling, pos: int, table: np.ndarray) -> int:
    """The token at `pos` from int32 logits `z` (2^-16): argmax when greedy; otherwise weights
    w_i = exp_neg(rdiv((max z − z_i)·1000, temp_milli)) (2^-30), ids ordered by weight descending
    then id ascending, the shortest prefix with 1000·Σprefix ≥ top_p_milli·Σw kept, and the first
    kept id whose running sum exceeds draw(seed, pos) mod Σkept."""
    if s.temp_milli == 0:
        return int(np.argmax(z))
    x = int(z.max()) - z.astype(I64)
    y = (2 * x * 1000 + s.temp_milli) // (2 * s.temp_milli)
    w = exp_neg(y, table)
    order = np.lexsort((np.arange(w.size), -w))
    cum = np.cumsum(w[order])
    total = int(cum[-1])
    keep = int(np.searchsorted(cum * 1000 >= s.top_p_milli * total, True)) + 1
    r = draw(s.seed, pos) % int(cum[keep - 1])
    return int(order[int(np.searchsorted(cum[:keep], r, side="right"))])
