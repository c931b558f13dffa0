"""Prefect helpers both flows share: the run logger, and the warehouse's concurrency slot."""

from __future__ import annotations

import contextlib
import logging
import os

from prefect.concurrency.sync import concurrency
from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger

from runback.flows.settings import WAREHOUSE_LIMIT


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
