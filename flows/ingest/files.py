"""Export files: how REDCap names a raw data export, and the export time its name carries.

Kept apart (and light: no pandas, no pyarrow) so that finding tonight's files costs nothing.
"""

from __future__ import annotations

import datetime as dt
import re
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
