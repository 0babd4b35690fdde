"""What the contracts would refuse, named by their custom error (SPEC §6.7)."""


class Revert(ValueError):
    """A call the contract reverts; `error` is the Solidity custom error's name and `code` its
    arguments, as the ABI decodes them (tests/game/test_mirror.py holds the two sides to it)."""

    def __init__(self, error: str, message: str, code: tuple[int, ...] = ()) -> None:
        super().__init__(f"{error}: {message}")
        self.error = error
        self.code = code
