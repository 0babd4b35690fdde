"""The bisection moves of one game level (SPEC §6.4), as pure functions of the chain's view.

A level is `(lo, hi)` with `lo`'s hash agreed and `hi`'s disputed. With no midpoint posted the
submitter posts its claim at `mid = ⌊(lo + hi)/2⌋`; the challenger then agrees (`lo = mid`) or
disagrees (`hi = mid`). At `hi = lo + 1` the level ends (a transition or a step). A player is its
claims function, index → hash: the honest trace for an honest player, something else for a liar.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Claims = Callable[[int], bytes]


@dataclass(frozen=True)
class Level:
    """The chain's view of a level: the interval and a pending midpoint claim, if any."""

    lo: int
    hi: int
    mid_pending: bool = False
    mid_hash: bytes = bytes(32)

    @property
    def mid(self) -> int:
        return (self.lo + self.hi) // 2

    @property
    def done(self) -> bool:
        return self.hi - self.lo <= 1


def submitter_move(level: Level, claims: Claims) -> bytes:
    """The submitter's `bisect` argument: its claim at the midpoint."""
    if level.done or level.mid_pending:
        raise ValueError(f"the submitter has no move at {level}")
    return claims(level.mid)


def challenger_move(level: Level, claims: Claims) -> bool:
    """The challenger's `respond` argument: whether it agrees with the posted midpoint claim."""
    if level.done or not level.mid_pending:
        raise ValueError(f"the challenger has no move at {level}")
    return claims(level.mid) == level.mid_hash


def posted(level: Level, mid_hash: bytes) -> Level:
    """The level after the submitter posts `mid_hash`."""
    return Level(level.lo, level.hi, True, mid_hash)


def responded(level: Level, agree: bool) -> Level:
    """The level after the challenger's answer."""
    return Level(level.mid, level.hi) if agree else Level(level.lo, level.mid)


@dataclass(frozen=True)
class Bisection:
    """A played-out level: the submitter's midpoint claims, the challenger's answers, the end."""

    mid_hashes: tuple[bytes, ...]
    agrees: tuple[bool, ...]
    lo: int
    hi: int


def play(lo: int, hi: int, submitter: Claims, challenger: Claims) -> Bisection:
    """Both players' moves, in order, from `(lo, hi)` until `hi = lo + 1`."""
    if hi <= lo:
        raise ValueError(f"an empty interval [{lo}, {hi}]")
    level, mids, agrees = Level(lo, hi), [], []
    while not level.done:
        h = submitter_move(level, submitter)
        level = posted(level, h)
        a = challenger_move(level, challenger)
        mids.append(h)
        agrees.append(a)
        level = responded(level, a)
    return Bisection(tuple(mids), tuple(agrees), level.lo, level.hi)
