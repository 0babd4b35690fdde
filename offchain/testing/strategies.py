"""The dishonest strategies of `opml serve|watch --dishonest NAME[:ARG]`, as solvers.

A lying submitter is the honest `SubmitterSolver` given a lying trace (`lies.py`); a silent one
also stops moving; a dishonest challenger overrides the rules it breaks. Every one of them must
lose on chain (tests/agents/test_strategies.py).
"""

from __future__ import annotations

from offchain.agents.solver import Action, ChallengerSolver, Revealed, SubmitterSolver
from offchain.agents.trace import TaskTrace, TraceProvider
from offchain.chain.views import GameView
from offchain.game.phase1 import StepWitness
from offchain.game.task import AnyTask, wrong_token
from offchain.testing.lies import BogusFinal, Inconsistent, LieMid1, LieMid2, StepsOff, wrong_answer

#: The strategies `opml serve --dishonest` takes (ARG in brackets).
SUBMITTER_STRATEGIES = {
    "wrong-token": "post a wrong token k [K, default 0] with the honest S_n (lost to the token proof, bound to the watcher's game)",
    "wrong-node": "corrupt node I's output [I] and post a different answer consistent with it",
    "inconsistent": "claim S_k for k > I [I] that no single node output links to S_I",
    "bogus-final": "corrupt node I [I] and claim a final VM state with a changed register too",
    "steps-short": "corrupt node I [I] and claim its run ended 1000 steps early",
    "steps-long": "corrupt node I [I] and claim its run took 1000 steps more",
    "lie-mid2": "corrupt node I [I] and post garbage midpoints below I in phase 2",
    "lie-mid1": "corrupt node I [I] and post garbage midpoints in the second half of phase 1",
    "silent": "corrupt node I [I] and stop answering after 4 moves (loses on time)",
}
#: The strategies `opml watch --dishonest` takes.
CHALLENGER_STRATEGIES = {
    "contrarian": "challenge every result and disagree with every midpoint (loses against an honest submitter)",
    "silent": "challenge every result and stop answering after 2 moves (loses on time)",
}


def parse(text: str, table: dict[str, str]) -> tuple[str, int | None]:
    """`NAME[:ARG]` from the command line; a one-line ValueError names the known ones."""
    name, _, arg = text.partition(":")
    if name not in table:
        raise ValueError(f"unknown strategy {name!r}: one of {', '.join(table)}")
    try:
        return name, int(arg) if arg else None
    except ValueError:
        raise ValueError(f"strategy {text!r}: the argument after ':' is an integer") from None


class LyingSubmitter(SubmitterSolver):
    """Plays the honest rules from a lying trace."""

    def __init__(self, name: str, arg: int | None = None) -> None:
        self.name, self.arg = name, arg

    def trace(self, task: AnyTask) -> TraceProvider:
        if self.name == "wrong-token":
            return TaskTrace(task, wrong_token(task, self.arg or 0))
        node = self.arg if self.arg is not None else task.n // 2
        if not 0 <= node < task.n:
            raise ValueError(f"node {node} is outside this task's {task.n} nodes")
        claims, lie = wrong_answer(task, node), self.arg if self.arg is not None else 0
        lying: dict[str, TaskTrace] = {
            "inconsistent": Inconsistent(task, claims, lie), "lie-mid2": LieMid2(task, claims, lie),
            "bogus-final": BogusFinal(task, claims), "lie-mid1": LieMid1(task, claims),
            "steps-short": StepsOff(task, claims, -1000), "steps-long": StepsOff(task, claims, 1000),
        }
        return lying.get(self.name, TaskTrace(task, claims))  # wrong-node and silent: just the wrong answer


class SilentSubmitter(LyingSubmitter):
    """A wrong answer, then silence from round 8 of a game on (it loses on time)."""

    def move(self, gid: int, g: GameView, now: int, trace: TraceProvider) -> list[Action]:
        return [] if g.round >= 8 else super().move(gid, g, now, trace)


class ContrarianChallenger(ChallengerSolver):
    """Challenges every result, disagrees with every midpoint and never steps."""

    name = "contrarian"

    def disputes(self, r: Revealed, trace: TraceProvider) -> bool:
        return True

    def agree(self, g: GameView, trace: TraceProvider) -> bool:
        return False

    def witness(self, g: GameView, trace: TraceProvider) -> StepWitness | None:
        return None


class SilentChallenger(ChallengerSolver):
    """Challenges every result, answers honestly, then falls silent from round 4 of a game on."""

    name = "silent"

    def disputes(self, r: Revealed, trace: TraceProvider) -> bool:
        return True

    def witness(self, g: GameView, trace: TraceProvider) -> StepWitness | None:
        return None

    def move(self, gid: int, g: GameView, now: int, trace: TraceProvider) -> list[Action]:
        return [] if g.round >= 4 else super().move(gid, g, now, trace)


def submitter(text: str | None) -> SubmitterSolver:
    """The submitter solver `--dishonest TEXT` names (None: the honest one)."""
    if not text:
        return SubmitterSolver()
    name, arg = parse(text, SUBMITTER_STRATEGIES)
    return SilentSubmitter(name, arg) if name == "silent" else LyingSubmitter(name, arg)


def challenger(text: str | None) -> ChallengerSolver:
    """The challenger solver `--dishonest TEXT` names (None: the honest one)."""
    if not text:
        return ChallengerSolver()
    name, _ = parse(text, CHALLENGER_STRATEGIES)
    return ContrarianChallenger() if name == "contrarian" else SilentChallenger()
