"""Fixtures for the simulator's tests: simulated trials, written once per session."""

from __future__ import annotations

import pytest

from runback.flows.simulate import simulate
from tests.unit.flows.simulate.helpers import Export, read


@pytest.fixture(scope="session")
def clean(tmp_path_factory):
    """The default trial: 84 randomised, 10 nights, no faults."""
    return simulate(tmp_path_factory.mktemp("clean"), participants=84, seed=1)


@pytest.fixture(scope="session")
def faulty(tmp_path_factory):
    """The default trial with faults injected."""
    return simulate(tmp_path_factory.mktemp("faulty"), participants=84, seed=1, defects=True)


@pytest.fixture(scope="session")
def large(tmp_path_factory):
    """1500 randomised, 2 nights: enough people for rates and effects."""
    return simulate(tmp_path_factory.mktemp("large"), participants=1500, seed=1, nights=2)


@pytest.fixture(scope="session")
def last(clean) -> Export:
    return read(clean.files[-1])


@pytest.fixture(scope="session")
def large_last(large) -> Export:
    return read(large.files[-1])


@pytest.fixture(scope="session")
def read_export():
    """`read(path) -> Export`: parse a simulated export with the csv module (cached)."""
    return read
