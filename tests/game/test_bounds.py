"""offchain/game/bounds.py: the v2 floors and splits as SPEC §6.3 states them (the registry's own
values are compared in tests/test_deploy.py on a deployed chain)."""

from offchain.constants import INCLUSION_LATENCY, MIN_BOND, WINDOW_BASE
from offchain.game.bounds import bonds_reason, ceil_log2, commitment, max_moves, min_clock, min_window, split
from offchain.merkle import keccak


def test_moves_and_clock_floor_count_one_inclusion_per_move_of_a_party() -> None:
    assert [ceil_log2(x) for x in (1, 2, 3, 4, 5, 9, 1 << 32)] == [0, 1, 2, 2, 3, 4, 32]
    assert max_moves(9, 20) == 4 + 20 + 1
    assert min_clock(9, 20) == 25 * INCLUSION_LATENCY
    assert min_clock(9, 20, latency=60) == 25 * 60


def test_window_floor_rounds_the_re_run_up_to_a_second() -> None:
    assert min_window(6, 20) == WINDOW_BASE + 1  # 6·2^20 steps at 2^24 a second: 0.375 s
    assert min_window(16, 20) == WINDOW_BASE + 1  # exactly one second
    assert min_window(17, 20) == WINDOW_BASE + 2
    assert min_window(1 << 10, 30, rate=1 << 24) == WINDOW_BASE + (1 << 16)


def test_bonds_need_the_floor_and_the_ratio_and_a_rejected_bond_splits_half_quarter_rest() -> None:
    assert bonds_reason(MIN_BOND, MIN_BOND) is None
    assert bonds_reason(4 * MIN_BOND, MIN_BOND) is None
    assert "at least" in (bonds_reason(MIN_BOND - 1, MIN_BOND) or "")
    assert "challenger ≤ submitter" in (bonds_reason(MIN_BOND, MIN_BOND + 1) or "")
    assert "challenger ≤ submitter" in (bonds_reason(4 * MIN_BOND + 1, MIN_BOND) or "")
    assert split(10**18 + 3) == (5 * 10**17 + 1, 25 * 10**16, 25 * 10**16 + 2)


def test_the_commitment_binds_tokens_state_submitter_and_salt_packed() -> None:
    tokens, s_n, salt = bytes(8), b"\x11" * 32, b"\x22" * 32
    who = "0x" + "ab" * 20
    assert commitment(tokens, s_n, who, salt) == keccak(tokens + s_n + b"\xab" * 20 + salt)
    assert commitment(tokens, s_n, "0x" + "cd" * 20, salt) != commitment(tokens, s_n, who, salt)
