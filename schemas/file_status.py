"""What became of an export file: the one list of file statuses (`meta.source_files.status`).

The ingest writes them, the nightly flow and the CLI decide from them whether a night is well,
the run summary and `runback check` and `runback status` read them, and docs/bad-inputs.md
describes them. Every other place asks this module; SQL gets the lists it needs as parameters
(`$applied`, `$recorded`).
"""

from __future__ import annotations

from enum import StrEnum


class FileStatus(StrEnum):
    """A file's status: what the ingest did with it."""

    LOADED = "loaded"
    """Applied: its rows are in the warehouse (a new data cut when anything changed)."""
    UNCHANGED = "unchanged"
    """Applied: the same content as the warehouse already holds, so no new cut."""
    OLDER = "older"
    """Recorded, not applied: older than an export already loaded."""
    REFUSED = "refused"
    """Recorded, not applied: it cannot be read safely; nothing of it loads."""
    HELD = "held"
    """Recorded, not applied: its place among the exports cannot be known; `--export-time` applies it."""
    WAITING = "waiting"
    """Not recorded: still being written (younger than the settle time); the next run reads it."""

    @property
    def applied(self) -> bool:
        """Its contents are in the warehouse (or changed nothing)."""
        return self in (FileStatus.LOADED, FileStatus.UNCHANGED)

    @property
    def final(self) -> bool:
        """The same bytes are never read again (a refused or held file may be, once mended or named)."""
        return self.applied or self is FileStatus.OLDER

    @property
    def recorded(self) -> bool:
        """The warehouse has a `meta.source_files` row for it."""
        return self is not FileStatus.WAITING

    @property
    def needs_a_person(self) -> bool:
        """The night is not well while such a file is new: someone must look at it."""
        return self in (FileStatus.REFUSED, FileStatus.HELD)


APPLIED = [s.value for s in FileStatus if s.applied]
"""The applied statuses, as SQL reads them: `list_contains($applied, status)`."""
FINAL = [s.value for s in FileStatus if s.final]
"""The statuses after which the same bytes are not read again: `list_contains($final, status)`."""
RECORDED = [s.value for s in FileStatus if s.recorded]
"""Every status `meta.source_files` may hold: `list_contains($recorded, status)`."""
