"""Typed views of the contracts' structs (SPEC §6.3-6.4), built from a struct's fields by the
names the ABI gives them (`Bound.struct`), never by position: a field added, removed or renamed
in src/ is a one-line error here, not a value read into the wrong field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any, ClassVar, TypeVar

from offchain.protocol import ResultStatus, Stage, TaskStatus  # the orders src/ defines

__all__ = ["GameView", "ResultStatus", "ResultView", "Stage", "TaskStatus", "TaskView"]

V = TypeVar("V", bound="Struct")


def snake(name: str) -> str:
    """A Solidity field name as a Python one: `midPending` -> `mid_pending`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Struct:
    """A view whose fields are a contract struct's, by name."""

    #: fields holding an enum of src/, by field name
    ENUMS: ClassVar[dict[str, type[IntEnum]]] = {}

    @classmethod
    def of(cls: type[V], named: Mapping[str, Any]) -> V:
        """The view of a struct given as {ABI field name: value}."""
        values = {snake(k): v for k, v in named.items()}
        want = {f.name for f in fields(cls)}  # type: ignore[arg-type]  # every subclass is a dataclass
        if set(values) != want:
            extra, missing = sorted(set(values) - want), sorted(want - set(values))
            raise ValueError(f"{cls.__name__} does not match the contract's struct: "
                             f"unknown fields {extra}, missing fields {missing}")
        for name, enum in cls.ENUMS.items():
            values[name] = enum(values[name])
        return cls(**values)


@dataclass(frozen=True)
class GameView(Struct):
    ENUMS: ClassVar[dict[str, type[IntEnum]]] = {"stage": Stage}

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

    @property
    def submitter_to_move(self) -> bool:
        return self.stage == Stage.TRANSITION or (self.stage == Stage.BISECT and not self.mid_pending)

    def overdrawn(self, now: int) -> bool:
        """Whether the party to move has run out of time (a timeout is callable)."""
        left = self.submitter_clock if self.submitter_to_move else self.challenger_clock
        return not self.stage.over and now - self.last_move > left


@dataclass(frozen=True)
class TaskView(Struct):
    ENUMS: ClassVar[dict[str, type[IntEnum]]] = {"status": TaskStatus}

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


@dataclass(frozen=True)
class ResultView(Struct):
    ENUMS: ClassVar[dict[str, type[IntEnum]]] = {"status": ResultStatus}

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

