"""Freshness: when the newest export was made, and a warning when that is too long ago."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from runback.flows.warehouse import rows
from runback.schemas.file_status import APPLIED


class LastExport(NamedTuple):
    """The newest export seen. `made` is its export time, or its ingest time when the file name
    carries none (`dated` is then False: the export time is not known)."""

    name: str
    made: dt.datetime
    dated: bool

    def describe(self) -> str:
        """'X, made 2014-02-01 02:00', or for an undated file 'X, export time unknown (...)'."""
        if self.dated:
            return f"{self.name}, made {self.made:%Y-%m-%d %H:%M}"
        return f"{self.name}, export time unknown (its name carries none; ingested {self.made:%Y-%m-%d %H:%M})"


def last_export(con) -> LastExport | None:
    """The newest export seen; an undated file counts by its ingest time (and says so)."""
    found = rows(con, "query/last_export", {"applied": APPLIED})
    if not found:
        return None
    name, exported, ingested = found[0]
    return LastExport(name, exported or ingested, exported is not None)


def stale(con, now: dt.datetime, max_age_hours: float) -> str | None:
    """A warning when the newest export is older than `max_age_hours` (None when fresh)."""
    last = last_export(con)
    if last is None:
        return "no export has been seen yet"
    age = (now - last.made).total_seconds() / 3600
    if age <= max_age_hours:
        return None
    return (
        f"the newest export ({last.describe()}) is {age:.0f} h old, more than "
        f"{max_age_hours:g} h: is the nightly export job running?"
    )
