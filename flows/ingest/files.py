"""Export files: how REDCap names a raw data export, the export time its name carries, and an
export file's identity (name, export time, SHA-256, size), established once and passed on.

Kept apart (and light: no pandas, no pyarrow) so that finding tonight's files costs nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

EXPORT_GLOB = "*_DATA_*.csv"
"""Names of raw data exports in a folder (REDCap: `<Title>_DATA_<YYYY-MM-DD>_<HHMM>.csv`)."""
_EXPORT_TIME = re.compile(r"_(\d{4}-\d{2}-\d{2})_(\d{2})(\d{2})")


def export_time(path: Path | str) -> dt.datetime | None:
    """The export time in a REDCap file name (`..._YYYY-MM-DD_HHMM.csv`), if it has one."""
    match = _EXPORT_TIME.search(Path(path).name)
    if not match:
        return None
    return dt.datetime.fromisoformat(f"{match[1]} {match[2]}:{match[3]}")


def in_export_order(paths: list[Path]) -> list[Path]:
    """Files oldest export first (by the time in their names); files without one keep their order."""
    dated = sorted((f for f in paths if export_time(f)), key=lambda f: (export_time(f), f.name))
    return list(dict.fromkeys(dated + [f for f in paths if not export_time(f)]))


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ExportFile:
    """One export file as picked up: where it is, what its name says, and what its bytes are."""

    path: Path
    sha256: str
    size: int
    export_time: dt.datetime | None

    @property
    def name(self) -> str:
        return self.path.name

    @classmethod
    def of(cls, path: Path | str, data: bytes) -> ExportFile:
        """The identity of the file at `path`, whose bytes are `data`."""
        return cls(Path(path), sha256_of(data), len(data), export_time(path))
