"""Shared fixtures: one anvil node per test session, with contracts deployed from forge's `out/`."""

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from offchain.evm import Anvil, Chain
from tests.budget import CI_EXAMPLES, LONG_RUN, examples

# CI runs a bounded number of examples; `make fuzz` sets OPML_FUZZ=1 for a long run.
settings.register_profile("ci", max_examples=CI_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=examples(CI_EXAMPLES), deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("fuzz" if LONG_RUN else "ci")


@pytest.fixture(scope="session")
def chain() -> Iterator[Chain]:
    with Anvil() as node:
        yield Chain(node)


@pytest.fixture(scope="session")
def merkle_harness(chain: Chain):  # type: ignore[no-untyped-def]
    return chain.deploy("MerkleMemoryHarness")
