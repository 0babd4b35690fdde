"""What the contracts would refuse, named by their custom error (SPEC §6.7)."""


class Revert(ValueError):
    """A call the contract reverts; `error` is the Solidity custom error's name."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(f"{error}: {message}")
        self.error = error
