"""Export files: how REDCap names a raw data export, the export time its name carries, and an
export file's identity (name, export time, SHA-256, size), established once and passed on.

Nothing is believed on the word of a name alone: an entry of the inbox is read only when it is
a regular file inside the folder it was found in (no directory, FIFO, device or symlink out of the
folder), while its size and modification time stay the same, and the time in its name is checked
against the trial site's clock and calendar (an impossible date, a local time the clock change
skipped or repeated, a time in the future). Every such fault is an `EntryRefused` or
`EntryHeld` naming the entry, never a traceback, and never a quote of the file's content.

Kept light (no pandas, no pyarrow) so that finding tonight's files costs nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import stat
import time
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo

from runback.flows.errors import Refused

EXPORT_GLOB = "*_DATA_*.csv"
"""Names of raw data exports in a folder (REDCap: `<Title>_DATA_<YYYY-MM-DD>_<HHMM>.csv`)."""
_EXPORT_TIME = re.compile(r"_(\d{4})-(\d{2})-(\d{2})_(\d{2})(\d{2})")
FUTURE_TOLERANCE = dt.timedelta(minutes=10)
"""How far ahead of the site's clock an export's name may be (clock skew between REDCap and us)."""
READ_CHUNK = 1 << 20


class EntryRefused(Refused):
    """An inbox entry that cannot be an export as it stands (recorded as refused; the run goes on)."""

    def __init__(self, name: str, problem: str, advice: str = ""):
        self.name = name
        super().__init__(f"{name}: {problem}", advice)


class EntryHeld(Refused):
    """An export whose place in the order cannot be known: recorded as held, applied only when a
    user names its export time (`runback ingest --export-time`)."""

    def __init__(self, name: str, problem: str, advice: str = ""):
        self.name = name
        super().__init__(f"{name}: {problem}", advice)


def safe_name(name: str) -> str:
    """A file name as it may be shown and stored: undecodable bytes and control characters
    (a newline would forge a log line) escaped; everything else as it is."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def export_time(path: Path | str) -> dt.datetime | None:
    """The export time in a REDCap file name (`..._YYYY-MM-DD_HHMM.csv`), if it has one.
    Raises ValueError for a name whose date or time does not exist (`2015-02-30`, `2561`)."""
    match = _EXPORT_TIME.search(Path(path).name)
    if not match:
        return None
    return dt.datetime(*(int(g) for g in match.groups()))


def in_export_order(paths: list[Path]) -> list[Path]:
    """Files oldest export first (by the time in their names), then files whose names carry no
    readable time in the order given (they are held, not applied, unless a time is named)."""

    def when(path: Path) -> dt.datetime | None:
        try:
            return export_time(path)
        except ValueError:
            return None

    dated = sorted((f for f in paths if when(f)), key=lambda f: (when(f), f.name))
    return list(dict.fromkeys(dated + [f for f in paths if not when(f)]))


def same_time_conflicts(paths: list[Path]) -> dict[Path, str]:
    """Files that claim the same export time as another with different contents (a re-download
    `..._0200 (1).csv` beside `..._0200.csv`): why each of them cannot be ordered."""
    by_time: dict[dt.datetime, list[Path]] = {}
    for path in paths:
        try:
            when = export_time(path)
        except ValueError:
            continue
        if when is not None and path.is_file():
            by_time.setdefault(when, []).append(path)
    conflicts = {}
    for when, group in by_time.items():
        if len(group) > 1 and len({sha256_of(p.read_bytes()) for p in group}) > 1:
            names = ", ".join(safe_name(p.name) for p in group)
            for path in group:
                conflicts[path] = (
                    f"{len(group)} files claim the export time {when:%Y-%m-%d %H:%M} with different "
                    f"contents ({names}); which is newer cannot be known."
                )
    return conflicts


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ExportFile:
    """One export file as picked up: where it is, what its name says, and what its bytes are."""

    path: Path
    sha256: str
    size: int
    export_time: dt.datetime | None
    time_named: bool = False  # the export time was named by the user (--export-time), not read from the name

    @property
    def name(self) -> str:
        return safe_name(self.path.name)

    @classmethod
    def of(cls, path: Path | str, data: bytes) -> ExportFile:
        """The identity of the file at `path`, whose bytes are `data` (its name's time unchecked)."""
        try:
            when = export_time(path)
        except ValueError:
            when = None
        return cls(Path(path), sha256_of(data), len(data), when)

    def with_export_time(self, when: dt.datetime) -> ExportFile:
        return replace(self, export_time=when, time_named=True)


@dataclass(frozen=True)
class Entry:
    """One entry to ingest, as a run found it: its path, the folder a scan found it in (a symlink
    may not lead out of it, and a file refused before is not read again), the conflict that holds
    it (another file of the scan claims its export time), and how long it must have been left
    untouched to be read (`settle_s`: a file dropped in the inbox moments ago may still be being
    written)."""

    path: Path
    scanned_in: Path | None = None
    conflict: str | None = None
    settle_s: float = 0.0


def find_exports(paths: list[Path], settle_s: float = 0.0) -> list[Entry]:
    """The export files under `paths`, oldest export first.

    A folder is scanned for entries named like exports (whatever they are: a folder, a pipe or a
    broken link named like one is refused by the ingest, one entry at a time), each to be left
    `settle_s` seconds untouched before it is read; a file named is read as it is. Two entries of
    a scan that claim the same export time with different contents cannot be ordered: both carry
    the conflict that holds them."""
    found: dict[Path, Path | None] = {}
    for p in paths:
        if p.is_dir():
            found |= dict.fromkeys(sorted(p.glob(EXPORT_GLOB)), p)
        elif p.exists() or p.is_symlink():
            found[p] = None
        else:
            raise Refused(f"no such file or folder: {p}", "Name an export file or a folder of exports.")
    conflicts = same_time_conflicts(list(found))
    return [
        Entry(f, found[f], conflicts.get(f), settle_s if found[f] is not None else 0.0)
        for f in in_export_order(list(found))
    ]


def entry_of(path: Path, within: Path | None = None) -> os.stat_result:
    """The status of an inbox entry that can be read as an export, or EntryRefused saying why not.

    `within`: the folder the entry was found in; a symlink may not lead out of it."""
    name = safe_name(path.name)
    try:
        link = path.lstat()
    except OSError:
        raise EntryRefused(name, "it disappeared before it could be read.", "Nothing to do if it was moved.") from None
    if stat.S_ISLNK(link.st_mode):
        target = Path(os.path.realpath(path))
        if within is not None and not target.is_relative_to(Path(os.path.realpath(within))):
            raise EntryRefused(
                name,
                "it is a symbolic link that leads out of the inbox; it is not followed.",
                "Copy the export into the inbox instead of linking to it.",
            )
        try:
            link = target.stat()
        except OSError:
            raise EntryRefused(name, "it is a symbolic link to nothing.", "Remove the link.") from None
    if not stat.S_ISREG(link.st_mode):
        kind = "a folder" if stat.S_ISDIR(link.st_mode) else "not a regular file (a pipe, socket or device)"
        raise EntryRefused(name, f"it is {kind}, named like an export.", "Move it out of the inbox.")
    return link


def read_settled(path: Path, within: Path | None = None, settle_s: float = 0.0) -> bytes:
    """The bytes of an export that is complete: unchanged in size and modification time while it
    was read, and (when `settle_s` > 0) not modified in the last `settle_s` seconds.

    A file still being written (an export in progress, a partial copy) raises EntryHeld: the next
    run picks it up. The file is opened without following a FIFO's writer (no hang)."""
    name = safe_name(path.name)
    before = entry_of(path, within)
    if settle_s > 0 and time.time() - before.st_mtime < settle_s:
        raise EntryHeld(
            name,
            f"it was modified less than {settle_s:g} s ago: still being written?",
            "It is read by the next run once it has settled.",
        )
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):  # swapped for something else since it was looked at
            raise EntryRefused(name, "it is not a regular file.", "Move it out of the inbox.")
        chunks = []
        while chunk := os.read(fd, READ_CHUNK):
            chunks.append(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    after = os.stat(path)
    if (after.st_size, after.st_mtime_ns) != (opened.st_size, opened.st_mtime_ns) or len(data) != after.st_size:
        raise EntryHeld(
            name,
            "it changed while it was being read: still being written?",
            "It is read by the next run, once complete.",
        )
    return data


def _check_named_time(file: ExportFile, now: dt.datetime) -> None:
    """An export time named by the user (--export-time) is bounded as a name's is: not in the
    future (it would make every later real export look older), and not against the time the
    file's own name gives."""
    given = f"{file.export_time:%Y-%m-%d %H:%M}"
    if file.export_time > now + FUTURE_TOLERANCE:
        raise EntryRefused(
            file.name,
            f"--export-time {given} is later than now ({now:%Y-%m-%d %H:%M}, site time).",
            "Give the time the export was made, as YYYY-MM-DD HH:MM in the site's time zone.",
        )
    try:
        named = export_time(file.path)
    except ValueError:  # a time the clock never showed: the user's time replaces it
        named = None
    if named is not None and named != file.export_time:
        raise EntryRefused(
            file.name,
            f"--export-time {given} contradicts the time in its name ({named:%Y-%m-%d %H:%M}).",
            "Rename the file with its real export time, or give the time its name says.",
        )


def check_export_time(file: ExportFile, zone: ZoneInfo, now: dt.datetime) -> None:
    """Refuse or hold an export whose name's time cannot be trusted to order it.

    `now` is the site's wall-clock time (naive). A time the clock never showed (an impossible date,
    the hour skipped in spring) is refused; a time in the repeated hour of the autumn change is
    held (two instants share the name); a time in the future is refused (a typo would otherwise
    make every later real export look older)."""
    name = file.name
    if file.time_named:
        _check_named_time(file, now)
        return
    try:
        when = export_time(file.path)
    except ValueError:
        raise EntryRefused(
            name,
            "its name carries an export time that does not exist.",
            "Rename it with the real export time (YYYY-MM-DD_HHMM), or name the time with "
            "`runback ingest --export-time 'YYYY-MM-DD HH:MM' FILE`.",
        ) from None
    if when is None:
        return
    earlier, later = (when.replace(tzinfo=zone, fold=f) for f in (0, 1))
    if earlier.utcoffset() != later.utcoffset():
        round_trip = earlier.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
        if round_trip != when:
            raise EntryRefused(
                name,
                f"its name's time {when:%Y-%m-%d %H:%M} never happened in {zone.key} (the clock was put forward).",
                "Rename it with the real export time.",
            )
        raise EntryHeld(
            name,
            f"its name's time {when:%Y-%m-%d %H:%M} happened twice in {zone.key} (the clock "
            "went back), so its order cannot be known from the name.",
            "Apply it with `runback ingest --export-time 'YYYY-MM-DD HH:MM' FILE` once you know which it was.",
        )
    if when > now + FUTURE_TOLERANCE:
        raise EntryRefused(
            name,
            f"its name says it was exported at {when:%Y-%m-%d %H:%M}, later than now "
            f"({now:%Y-%m-%d %H:%M} in {zone.key}): a typo in the name?",
            "Rename it with the real export time, or name the time with "
            "`runback ingest --export-time 'YYYY-MM-DD HH:MM' FILE`.",
        )
