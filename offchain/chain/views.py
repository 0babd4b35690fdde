"""Typed views of the contracts' structs (SPEC §6.3-6.4), decoded from eth_call tuples."""

from __future__ import annotations

from dataclasses import dataclass

from offchain.protocol import ResultStatus, Stage, TaskStatus  # the orders src/ defines

__all__ = ["ResultStatus", "Stage", "TaskStatus"]


@dataclass(frozen=True)
class GameView:
    stage: Stage
    level: int
    mid_pending: bool
    round: int
    last_move: int
    submitter_clock: int
    challenger_clock: int
    challenger: str
    result_id: int
    submitter: str
    task_id: int
    lo: int
    hi: int
    node: int
    lo_hash: bytes
    hi_hash: bytes
    mid_hash: bytes

    @classmethod
    def of(cls, t: tuple) -> "GameView":
        v = list(t)
        v[0] = Stage(v[0])
        return cls(*v)

    @property
    def submitter_to_move(self) -> bool:
        return self.stage == Stage.TRANSITION or (self.stage == Stage.BISECT and not self.mid_pending)

    def overdrawn(self, now: int) -> bool:
        """Whether the party to move has run out of time (a timeout is callable)."""
        left = self.submitter_clock if self.submitter_to_move else self.challenger_clock
        return not self.stage.over and now - self.last_move > left


@dataclass(frozen=True)
class TaskView:
    requester: str
    status: TaskStatus
    prompt_length: int
    new_tokens: int
    deadline: int
    window: int
    clock: int
    nodes: int
    pending_results: int
    unrevealed: int
    winning_result: int
    reward: int
    vocab: int
    submitter_bond: int
    challenger_bond: int
    model: bytes
    input_root: bytes

    @classmethod
    def of(cls, t: tuple) -> "TaskView":
        v = list(t)
        v[1] = TaskStatus(v[1])
        return cls(*v)


@dataclass(frozen=True)
class ResultView:
    task_id: int
    submitter: str
    status: ResultStatus
    submitted_at: int
    live_games: int
    committed_block: int
    committed_at: int
    first_live: int
    commitment: bytes
    final_state: bytes
    tokens_hash: bytes

    @classmethod
    def of(cls, t: tuple) -> "ResultView":
        v = list(t)
        v[2] = ResultStatus(v[2])
        return cls(*v)
