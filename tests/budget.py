"""How many examples each property test runs: CI's figure, or FUZZ_FACTOR times it in the long run.

CI runs the profile default (CI_EXAMPLES, conftest.py) or the figure a slow test writes itself
through `examples(n)`. `make fuzz` (OPML_FUZZ=1) multiplies both by the same FUZZ_FACTOR, so the
long run grows everywhere alike and its length stays a fixed multiple of CI's hypothesis time:
the factor is what bounds `make fuzz` (reported in the README). OPML_FUZZ_FACTOR overrides it for
a longer (or shorter) run.
"""

import os

LONG_RUN = bool(os.environ.get("OPML_FUZZ"))
FUZZ_FACTOR = int(os.environ.get("OPML_FUZZ_FACTOR", "10"))
CI_EXAMPLES = 150


def examples(n: int) -> int:
    """The max_examples for a test whose CI budget is `n`."""
    return n * FUZZ_FACTOR if LONG_RUN else n
