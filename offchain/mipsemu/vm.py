"""`VM`: the MIPS machine as one object, a State (state.py) whose methods are step.py's and
witness.py's functions. State itself imports neither, so the modules import one way:
decode, elf < state; decode < syscall < step < fastforward < witness < vm (tests/test_layers.py)."""

from offchain.mipsemu.state import State
from offchain.mipsemu.step import run, step
from offchain.mipsemu.witness import witness


class VM(State):
    """One MIPS32 machine (see State); the methods below execute it and prove its next step."""

    def step(self) -> None:
        """Execute exactly one step (SPEC §2.3); on an exited state nothing changes."""
        step(self)

    def run(self, max_steps: int) -> int:
        """Execute up to `max_steps` steps, stopping early at exit; returns the steps executed."""
        return run(self, max_steps)

    def witness(self) -> tuple[bytes, bytes]:
        """(packed pre-state, proof) for the next step, without executing it (SPEC §2.7)."""
        return witness(self)
