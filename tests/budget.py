"""Example budgets of the property tests that set their own (because each example is slow).

CI runs the figure written in the test; `make fuzz` (OPML_FUZZ=1) runs FUZZ_FACTOR times as many,
so the long run grows there too and not only where the profile default applies (conftest.py).
"""

import os

LONG_RUN = bool(os.environ.get("OPML_FUZZ"))
FUZZ_FACTOR = 10


def examples(n: int) -> int:
    """The max_examples for a test whose CI budget is `n`."""
    return n * FUZZ_FACTOR if LONG_RUN else n
