"""Progress of long work: files, forms, analysis steps, as a display on a terminal.

Code that does long work says so, and nothing more:

    with progress.stage("validating forms", total=len(forms)) as advance:
        for form in forms:
            ...
            advance()

or, for work that counts itself (the model fits call `progress(k, n)`):

    with progress.counted("analysis of data cut 3: models") as told:
        refresh_analysis(con, study, 3, told)

Whether anything is shown is the command's decision, not the code's: `runback` shows a rich
progress display on stderr while a command runs when stderr is a terminal and neither --quiet nor
a Prefect server is in use (a tracked run has the Prefect UI). Everywhere else (a pipe, a cron
job, a test, a deployment) a stage costs nothing and prints nothing. Log lines printed during the
display go above it.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator

_display = None  # the rich Progress being shown, while a command shows one


def _ignore(steps: int = 1) -> None:
    return None


@contextlib.contextmanager
def stage(description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """A piece of long work (`total` steps, or unknown): yields `advance(steps=1)`."""
    with _task(description, total) as (display, task):
        if display is None:
            yield _ignore
        else:  # a few steps: each one is seen
            yield lambda steps=1: display.update(task, advance=steps, refresh=True)


@contextlib.contextmanager
def counted(description: str) -> Iterator[Callable[[int, int], None] | None]:
    """A piece of long work that tells its own progress: yields a `progress(k, n)` callback (None
    when nothing is shown, so that the work need not even count)."""
    with _task(description, None) as (display, task):
        yield None if display is None else lambda k, n: display.update(task, completed=k, total=n, refresh=True)


@contextlib.contextmanager
def _task(description: str, total: int | None):
    """The display and its task for one piece of work, removed when it ends; (None, None) when
    nothing is shown."""
    display = _display
    if display is None:
        yield None, None
        return
    task = display.add_task(description, total=total)
    try:
        yield display, task
    finally:
        display.remove_task(task)


@contextlib.contextmanager
def shown(handler: logging.StreamHandler | None = None) -> Iterator[None]:
    """Show the stages of the work done inside on stderr; `handler` (the command's log handler)
    writes through the display meanwhile, so that its lines go above it."""
    global _display
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(file=sys.stderr)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, redirect_stdout=False) as display:
        previous = handler.setStream(sys.stderr) if handler is not None else None  # the display's stderr
        _display = display
        try:
            yield
        finally:
            _display = None
            if handler is not None:
                handler.setStream(previous)
