"""The bisection player (SPEC §6.4): against any liar it ends on an adjacent pair, agreed at lo and
disputed at hi; against a liar honest up to some index, exactly at that index."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offchain.game.bisect import Level, challenger_move, play, posted, responded, submitter_move


def h(x: int) -> bytes:
    return x.to_bytes(32, "big")


def honest(k: int) -> bytes:
    return h(k)


@given(st.integers(1, 1 << 32).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n))))
def test_a_liar_honest_before_d_is_caught_at_d(case):
    n, d = case

    def liar(k: int) -> bytes:
        return h(k) if k < d else h(k + (1 << 40))

    game = play(0, n, liar, honest)
    assert (game.lo, game.hi) == (d - 1, d)
    assert len(game.mid_hashes) == len(game.agrees) <= (n - 1).bit_length()
    assert all(a == (m == honest(k)) for a, m, k in zip(game.agrees, game.mid_hashes, _mids(n, game.agrees)))


def _mids(n: int, agrees: tuple[bool, ...]) -> list[int]:
    lo, hi, out = 0, n, []
    for a in agrees:
        mid = (lo + hi) // 2
        out.append(mid)
        lo, hi = (mid, hi) if a else (lo, mid)
    return out


@given(st.integers(2, 300), st.sets(st.integers(1, 299)))
def test_against_any_liar_the_end_is_agreed_at_lo_and_disputed_at_hi(n, wrong):
    def liar(k: int) -> bytes:
        return h(k + 1000) if k in wrong or k == n else h(k)

    game = play(0, n, liar, honest)
    assert game.hi == game.lo + 1
    assert game.lo == 0 or liar(game.lo) == honest(game.lo)
    assert game.hi == n or liar(game.hi) != honest(game.hi)


def test_an_honest_submitter_against_a_lying_challenger_ends_at_its_own_claims():
    n = 1000
    game = play(0, n, honest, lambda k: h(k + 1))  # the challenger disagrees with everything
    assert (game.lo, game.hi) == (0, 1) and not any(game.agrees)


def test_moves_out_of_turn_are_refused():
    level = Level(0, 8)
    with pytest.raises(ValueError):
        challenger_move(level, honest)
    level = posted(level, submitter_move(level, honest))
    with pytest.raises(ValueError):
        submitter_move(level, honest)
    assert responded(level, challenger_move(level, honest)) == Level(4, 8)
    with pytest.raises(ValueError):
        submitter_move(Level(3, 4), honest)
