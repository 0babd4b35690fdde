"""The protocol v2 bounds of docs/SPEC.md §6.3, as `src/lib/GameBounds.sol` computes them.

The registry refuses a task below these floors; agents use the same formulas with their own
latency and re-run rate to decide which terms they can defend (§6.8).
"""

from __future__ import annotations

from offchain.constants import (
    BOND_RATIO,
    INCLUSION_LATENCY,
    MIN_BOND,
    RERUN_STEPS_PER_SECOND,
    WINDOW_BASE,
)
from offchain.merkle import keccak


def ceil_log2(x: int) -> int:
    """⌈log2 x⌉ for x ≥ 1 (0 for x ≤ 1)."""
    return max(0, (x - 1).bit_length())


def max_moves(nodes: int, step_cap: int) -> int:
    """The most moves one party makes in a game: ⌈log2 n⌉ + K + 1 (§6.4)."""
    return ceil_log2(nodes) + step_cap + 1


def min_clock(nodes: int, step_cap: int, latency: int = INCLUSION_LATENCY) -> int:
    """The clock floor: one worst-case inclusion per move of a party."""
    return max_moves(nodes, step_cap) * latency


def min_window(nodes: int, step_cap: int, rate: int = RERUN_STEPS_PER_SECOND) -> int:
    """The window floor: WINDOW_BASE plus n·2^K steps at `rate` steps per second, rounded up."""
    return WINDOW_BASE + -(-(nodes << step_cap) // rate)


def bonds_reason(submitter_bond: int, challenger_bond: int) -> str | None:
    """Why createTask would refuse these bonds (None: it would not)."""
    if submitter_bond < MIN_BOND or challenger_bond < MIN_BOND:
        return f"both bonds must be at least {MIN_BOND / 1e18:g} ETH"
    if challenger_bond > submitter_bond or submitter_bond > BOND_RATIO * challenger_bond:
        return f"the bonds must satisfy challenger ≤ submitter ≤ {BOND_RATIO}·challenger"
    return None


def split(bond: int) -> tuple[int, int, int]:
    """A rejected bond's (payee, requester, burned) shares: a half, a quarter, the rest."""
    return bond // 2, bond // 4, bond - bond // 2 - bond // 4


def commitment(tokens: bytes, final_state: bytes, submitter: str, salt: bytes) -> bytes:
    """keccak256(tokens ‖ S_n ‖ submitter ‖ salt), packed (§6.3)."""
    return keccak(tokens + final_state + bytes.fromhex(submitter.removeprefix("0x")) + salt)


__all__ = ["bonds_reason", "ceil_log2", "commitment", "max_moves", "min_clock", "min_window", "split"]
