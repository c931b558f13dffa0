"""Prefect helpers both flows share: flows and steps that are Prefect flows and tasks in a tracked
run and plain calls otherwise, the run logger, and the warehouse's concurrency slot.

A flow called as a flow (a deployment, or the CLI with a Prefect server configured) is a tracked
run: its steps are Prefect tasks, with their states, names and artifacts. The same flow's function
called directly (`flow.fn(...)`, what a one-off CLI command does without a Prefect server) runs
the steps as plain functions: no temporary Prefect server is started, nothing is tracked, and
artifacts are skipped (there is no run to attach them to).

Prefect is imported only when it is used: importing it costs more than a whole one-off report
(about 1.5 s), so `flow` and `step` build their Prefect objects on first tracked use, and a
process that never imported Prefect is not inside a flow run.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

from runback.flows.errors import Refused
from runback.flows.settings import WAREHOUSE_LIMIT


def tracked() -> bool:
    """Whether the code runs inside a tracked flow run (never before Prefect was imported)."""
    if "prefect.context" not in sys.modules:
        return False
    from prefect.context import FlowRunContext

    return FlowRunContext.get() is not None


class Flow:
    """A flow whose Prefect object (`.prefect`) is built on first use: calling it runs it as a
    Prefect flow (tracked when a server is configured), `.fn` is the plain function, and every
    other attribute (`name`, `with_options`, ...) is the Prefect flow's. An entrypoint names the
    Prefect flow: `flows/nightly_ingest.py:nightly_ingest.prefect`."""

    def __init__(self, function: Callable, **options) -> None:
        functools.update_wrapper(self, function)
        self.fn, self._options = function, options

    @functools.cached_property
    def prefect(self):
        from prefect import flow

        return flow(**self._options)(self.fn)

    def __call__(self, *args, **kwargs):
        return self.prefect(*args, **kwargs)

    def to_deployment(self, **options):
        """The Prefect flow's deployment, its entrypoint naming the Prefect flow (`<module
        attribute>.prefect`), which is what a runner or worker loads and runs."""
        deployment = self.prefect.to_deployment(**options)
        deployment.entrypoint = f"{deployment.entrypoint}.prefect"
        return deployment

    def __getattr__(self, name: str):
        if name.startswith("__") or name in ("fn", "_options"):
            raise AttributeError(name)
        return getattr(self.prefect, name)


def flow(*, name: str, flow_run_name: Callable[[], str] | str | None = None):
    """Declare a flow (`prefect.flow`'s `name` and `flow_run_name`) without importing Prefect."""
    return lambda function: Flow(function, name=name, flow_run_name=flow_run_name)


def step(fn: Callable | None = None, *, name: Callable[..., str] | str | None = None):
    """A step of a flow: a Prefect task (named `name`) inside a tracked run, a plain call outside.
    The function itself stays reachable as `.fn`, as a task's does."""

    def wrap(function: Callable):
        @functools.cache
        def as_task():
            from prefect import task
            from prefect.cache_policies import NO_CACHE

            return task(cache_policy=NO_CACHE, task_run_name=name)(function)

        @functools.wraps(function)
        def run(*args, **kwargs):
            return as_task()(*args, **kwargs) if tracked() else function(*args, **kwargs)

        run.fn = function
        run.task = as_task
        return run

    return wrap(fn) if fn is not None else wrap


def failed(message: str, data):
    """The flow's return value when its run is not well: a Failed state carrying `data` in a
    tracked run (the Prefect UI shows it red), `data` itself in a plain call."""
    if not tracked():
        return data
    from prefect.states import Failed

    return Failed(message=message, data=data)


def server_configured() -> bool:
    """Whether a Prefect server is configured (PREFECT_API_URL, in the environment, the active
    Prefect profile or a settings file in this folder), without importing Prefect when nothing
    hints at one; a process that imported Prefect (a test harness) asks Prefect itself."""
    if "prefect" not in sys.modules and not _prefect_settings_hinted():
        return False
    from prefect.settings import get_current_settings

    return bool(get_current_settings().api.url)


def _prefect_settings_hinted() -> bool:
    """Whether anything Prefect reads its settings from may set PREFECT_API_URL."""
    if os.environ.get("PREFECT_API_URL"):
        return True
    home = Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser()
    profiles = Path(os.environ.get("PREFECT_PROFILES_PATH", home / "profiles.toml")).expanduser()
    try:
        listed = tomllib.loads(profiles.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        listed = {}
    active = os.environ.get("PREFECT_PROFILE") or listed.get("active", "ephemeral")
    if listed.get("profiles", {}).get(active, {}).get("PREFECT_API_URL"):
        return True
    here = Path.cwd()
    pyproject = here / "pyproject.toml"
    return (
        (here / "prefect.toml").exists()
        or (here / ".env").exists()
        or (pyproject.exists() and "[tool.prefect" in pyproject.read_text(encoding="utf-8", errors="replace"))
    )


def outcome(flow: Flow, **parameters):
    """Run a flow and return its value whatever its final state: as a tracked run on the Prefect
    server configured, or its steps in this process when none is (no temporary server is started
    for one command). A flow that failed on an error raises it; one that ended Failed with its
    results (a night with a refused export) returns them."""
    if server_configured():
        _check_reachable()
        value = flow(**parameters, return_state=True).result(raise_on_failure=False)
    else:
        value = flow.fn(**parameters)
    if isinstance(value, BaseException):
        raise value
    return value


def _check_reachable() -> None:
    """A configured Prefect server that does not answer is the user's to start, not a fault."""
    from prefect.client.orchestration import get_client
    from prefect.settings import get_current_settings

    with get_client(sync_client=True) as client:
        problem = client.api_healthcheck()
    if problem is not None:
        raise Refused(
            f"the Prefect server at {get_current_settings().api.url} does not answer ({type(problem).__name__}).",
            "Start it (`prefect server start`), or unset PREFECT_API_URL "
            "(and the Prefect profile's) to run this command untracked.",
        )


def logger() -> logging.Logger | logging.LoggerAdapter:
    """The run logger inside a flow or task run; a plain logger when called through `.fn()`."""
    if tracked():
        from prefect.logging import get_run_logger

        return get_run_logger()
    return logging.getLogger("runback")


def warehouse_slot():
    """The `runback-warehouse` concurrency slot on a real Prefect server (configured however:
    PREFECT_API_URL, a profile, a settings file); nothing to hold without one, where one process
    runs one flow."""
    if not _prefect_settings_hinted():  # an in-process test server sets none of them
        return contextlib.nullcontext()
    from prefect.concurrency.sync import concurrency

    return concurrency(WAREHOUSE_LIMIT, occupy=1)
