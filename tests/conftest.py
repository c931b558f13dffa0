"""Test set-up: a private Prefect home, the trial's study, and one Prefect test harness for the
whole session (the Prefect flows run against it; their steps are plain functions, called as
they are). Helpers are in `tests/helpers.py`."""

from __future__ import annotations

import os
import tempfile

import pytest

_PREFECT_HOME = tempfile.mkdtemp(prefix="runback-prefect-")
os.environ.setdefault("PREFECT_HOME", _PREFECT_HOME)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.pop("PREFECT_API_URL", None)
# every warehouse a test makes masks its allocation with this session's key, never one in the checkout
os.environ.setdefault("RUNBACK_KEY", os.path.join(tempfile.mkdtemp(prefix="runback-key-"), "allocation.key"))

from runback.flows.ingest.project import load_project  # noqa: E402
from runback.schemas.study import Study  # noqa: E402


@pytest.fixture(scope="session")
def study() -> Study:
    return load_project()


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the session (about 10 s to start). Prefect's logging is set up
    here: its console handler keeps the stderr of the moment it is set up, which must not be that
    of a command run through typer's test runner (closed when the command ends)."""
    from prefect.logging.configuration import ensure_logging_setup
    from prefect.testing.utilities import prefect_test_harness

    ensure_logging_setup()

    with prefect_test_harness(server_startup_timeout=120):
        yield
