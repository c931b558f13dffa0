"""Progress of a long step on the terminal: "label: model k of n", rewritten in place.

Quiet when stderr is not a terminal (a deployment's log, a test, a pipe): the step's log line
says what was done once it is done."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO


def counter(label: str, stream: TextIO | None = None) -> Callable[[int, int], None] | None:
    """A `progress(k, n)` callback showing `label: model k of n`, or None when not on a terminal."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None

    def show(k: int, n: int) -> None:
        stream.write(f"\r{label}: model {k} of {n}" + ("\n" if k == n else ""))
        stream.flush()

    return show
