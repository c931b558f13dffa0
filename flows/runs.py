"""Prefect helpers both flows share: steps that are tasks in a tracked run and plain calls
otherwise, the run logger, and the warehouse's concurrency slot.

A flow called as a flow (a deployment, or the CLI with PREFECT_API_URL set) is a tracked run:
its steps are Prefect tasks, with their states, names and artifacts. The same flow's function
called directly (`flow.fn(...)`, what a one-off CLI command does without a Prefect server) runs
the steps as plain functions: no temporary Prefect server is started, nothing is tracked, and
artifacts are skipped (there is no run to attach them to).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Callable

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.sync import concurrency
from prefect.context import FlowRunContext
from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger
from prefect.settings import get_current_settings
from prefect.states import State

from runback.flows.settings import WAREHOUSE_LIMIT


def tracked() -> bool:
    """Whether the code runs inside a tracked flow run."""
    return FlowRunContext.get() is not None


def step(fn: Callable | None = None, *, name: Callable[..., str] | str | None = None):
    """A step of a flow: a Prefect task (named `name`) inside a tracked run, a plain call outside.
    The function itself stays reachable as `.fn`, as a task's does."""

    def wrap(function: Callable):
        as_task = task(cache_policy=NO_CACHE, task_run_name=name)(function)

        @functools.wraps(function)
        def run(*args, **kwargs):
            return as_task(*args, **kwargs) if tracked() else function(*args, **kwargs)

        run.fn = function
        run.task = as_task
        return run

    return wrap(fn) if fn is not None else wrap


def outcome(flow, **parameters):
    """Run a flow and return its value whatever its final state: as a tracked run on the Prefect
    server in PREFECT_API_URL, or its steps in this process when no server is configured (no
    temporary server is started for one command). A flow that failed on an error raises it; one
    that ended Failed with its results (a night with a refused export) returns them."""
    if get_current_settings().api.url:  # PREFECT_API_URL, or a test harness's server
        value = flow(**parameters, return_state=True).result(raise_on_failure=False)
    else:
        value = flow.fn(**parameters)
        value = value.data if isinstance(value, State) else value
    if isinstance(value, BaseException):
        raise value
    return value


def logger() -> logging.Logger | logging.LoggerAdapter:
    """The run logger inside a flow or task run; a plain logger when called through `.fn()`."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("runback")


def warehouse_slot():
    """The `runback-warehouse` concurrency slot on a real Prefect server (PREFECT_API_URL set);
    nothing to hold on an ephemeral server, where one process runs one flow."""
    if not os.environ.get("PREFECT_API_URL"):
        return contextlib.nullcontext()
    return concurrency(WAREHOUSE_LIMIT, occupy=1)
