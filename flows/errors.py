"""The one error type at runback's edge, and the exit codes of the command line.

Every fault a user can act on is a `RunbackError`: it carries the problem, the advice and the
exit code, and the CLI turns it into one line on stderr (no traceback). Anything else that
escapes is an internal error. The codes avoid 2, which typer/click use for a bad option.

| code | meaning |
|---|---|
| 0 | done |
| 1 | done, with quarantined or flagged rows (data queries to raise) |
| 3 | input refused: nothing of it was loaded or written (a bad file, an unknown cut, a missing key) |
| 6 | a night partly done: some export files were loaded, others refused or held (each says why) |
| 4 | the warehouse is busy (another process holds it): try again later |
| 5 | internal error, or a warehouse that fails its integrity check |
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    WITH_QUERIES = 1
    REFUSED = 3
    BUSY = 4
    INTERNAL = 5
    PARTLY = 6


class RunbackError(Exception):
    """A fault the user can act on: what went wrong, what to do, and the exit code."""

    exit_code: Exit = Exit.REFUSED

    def __init__(self, problem: str, advice: str = "", exit_code: Exit | None = None):
        self.problem = problem
        self.advice = advice
        if exit_code is not None:
            self.exit_code = exit_code
        super().__init__(problem + (f" {advice}" if advice else ""))


class Refused(RunbackError):
    """Input that cannot be used as asked (a file, a cut, a key, a setting); nothing was written."""


class Busy(RunbackError):
    """Another process holds the warehouse for longer than we wait."""

    exit_code = Exit.BUSY
