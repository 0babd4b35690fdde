"""The OPML MIPS VM in Python: exact stepper, witnesses, unicorn fast-forward (SPEC §2)."""

from offchain.mipsemu.elf import ElfError
from offchain.mipsemu.state import BRK_START, HEAP_START, STACK_TOP, STATE_BYTES, State, hash_packed
from offchain.mipsemu.vm import VM

__all__ = ["BRK_START", "HEAP_START", "STACK_TOP", "STATE_BYTES", "VM", "ElfError", "State", "hash_packed"]
