"""Freshness: when the newest export was made, and a warning when that is too long ago."""

from __future__ import annotations

import datetime as dt

from runback.flows.warehouse import rows


def last_export(con) -> tuple[str, dt.datetime] | None:
    """(file name, export time) of the newest export seen; the ingest time stands in for a file
    whose name carries no export time."""
    found = rows(con, "query/last_export")
    return (found[0][0], found[0][1]) if found else None


def stale(con, now: dt.datetime, max_age_hours: float) -> str | None:
    """A warning when the newest export is older than `max_age_hours` (None when fresh)."""
    last = last_export(con)
    if last is None:
        return "no export has been seen yet"
    name, when = last
    age = (now - when).total_seconds() / 3600
    if age <= max_age_hours:
        return None
    return (f"the newest export ({name}, made {when:%Y-%m-%d %H:%M}) is {age:.0f} h old, more than "
            f"{max_age_hours:g} h: is the nightly export job running?")  # fmt: skip
