"""What both flows and the CLI need of Prefect besides `@flow` and `@task`: whether a Prefect
server is configured, whether it answers, and the warehouse's concurrency slot.

A command runs its flow as a tracked flow run when a Prefect server is configured, and the same
steps in its own process otherwise (docs/architecture.md, "Flows"). Importing Prefect costs about
1.5 s, more than a whole report rerun, so `server_configured` answers without importing it when
nothing Prefect reads its settings from sets a server.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tomllib
from pathlib import Path

from runback.flows.errors import Refused
from runback.flows.settings import warehouse_limit

LEASE_S = 60
"""How long a run lost with its machine holds the warehouse's slot (Prefect renews the lease
while the run lives)."""


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


def check_reachable() -> None:
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


def warehouse_slot():
    """The warehouse's concurrency slot (the global concurrency limit `runback-warehouse`, or
    `runback-warehouse-<trial>` for a trial's, one slot, created when missing): runs that write one
    warehouse never overlap, runs of different trials do. The slot is leased, so a run lost with
    its machine gives it back when its lease expires."""
    name = warehouse_limit()
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.concurrency.sync import concurrency
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with contextlib.suppress(ObjectAlreadyExists):
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
    return concurrency(name, occupy=1, lease_duration=LEASE_S, strict=True)


def run_name(made: str) -> str:
    """The flow run's name: the one it was created with when that is already in the flow's own
    form (same first word: `prefect deployment run ... --flow-run-name 'report week_8 open'`, or
    `runback`'s own runs), so the name printed at creation stays the run's name; else `made`.
    (Prefect 3.9 names a run created without a name at random and has no deployment-level name
    template, PrefectHQ/prefect#20267: such a run gets `made` when it starts.)"""
    from prefect.runtime import flow_run

    given = flow_run.name or ""
    return given if given.split(" ", 1)[0] == made.split(" ", 1)[0] else made
