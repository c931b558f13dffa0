"""Paths and settings: derived from this file's location and a few environment variables.

| setting | environment variable | default |
|---|---|---|
| warehouse file | `RUNBACK_DB` | `data/runback.duckdb` |
| inbox of exports | `RUNBACK_INBOX` | `data/inbox` |
| reports and exports | `RUNBACK_OUT` | `out` |
| allocation key | `RUNBACK_KEY` | `data/allocation.key` |
| trial site's time zone | `RUNBACK_TIMEZONE` | `Asia/Singapore` |
| freshness warning after | `RUNBACK_MAX_AGE_HOURS` | `36` |
| wait for the warehouse lock | `RUNBACK_LOCK_TIMEOUT` (s) | `60` |

Relative defaults are under the project's root, never the current directory.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
PROJECT_DIR = ROOT / "schemas" / "redcap"
SQL_DIR = ROOT / "sql"
REPORTS_DIR = ROOT / "reports"


def _path(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).expanduser() if value else default


def db_path() -> Path:
    return _path("RUNBACK_DB", ROOT / "data" / "runback.duckdb")


def inbox_dir() -> Path:
    return _path("RUNBACK_INBOX", ROOT / "data" / "inbox")


def out_dir() -> Path:
    return _path("RUNBACK_OUT", ROOT / "out")


def key_path() -> Path:
    return _path("RUNBACK_KEY", ROOT / "data" / "allocation.key")


WAREHOUSE_LIMIT = "runback-warehouse"
"""Prefect global concurrency limit (1 slot) held by every flow run that writes the warehouse."""


def timezone() -> ZoneInfo:
    return ZoneInfo(os.environ.get("RUNBACK_TIMEZONE", "Asia/Singapore"))


def site_now() -> dt.datetime:
    """The trial site's wall-clock time, naive (as REDCap writes export times)."""
    return dt.datetime.now(timezone()).replace(tzinfo=None, microsecond=0)


def max_age_hours() -> float:
    return float(os.environ.get("RUNBACK_MAX_AGE_HOURS", "36"))
