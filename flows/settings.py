"""Settings: where the user's data lives, and where the installed package keeps its own files.

| setting | environment variable | default |
|---|---|---|
| warehouse file | `RUNBACK_DB` | `data/runback.duckdb` |
| inbox of exports | `RUNBACK_INBOX` | `data/inbox` |
| reports and exports | `RUNBACK_OUT` | `out` |
| allocation key (outside the warehouse's folder) | `RUNBACK_KEY` | `keys/allocation.key` |
| trial site's time zone | `RUNBACK_TIMEZONE` | `Asia/Singapore` |
| nightly schedule (cron, site time) | `RUNBACK_CRON` | `0 2 * * *` |
| freshness warning after | `RUNBACK_MAX_AGE_HOURS` | `36` |
| an inbox file must be unchanged for | `RUNBACK_SETTLE_SECONDS` | `60` |
| wait for the warehouse lock | `RUNBACK_LOCK_TIMEOUT` (s) | `60` |
| where report links point (artifacts) | `RUNBACK_REPORTS_URL` | set by `runback serve` to its own server |
| address `runback serve` serves the reports folder on | `RUNBACK_REPORTS_ADDRESS` | `127.0.0.1:8765` |

Data paths belong to the user: relative defaults are relative to the working directory the
command runs in, never to the install. The package's own files (SQL, templates, the trial's
REDCap project) are read through the package, wherever it is installed.
"""

from __future__ import annotations

import datetime as dt
import os
from importlib.util import find_spec
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from runback.flows.errors import Refused


def _package_dir(name: str) -> Path:
    """Where the import system finds a package of runback, without importing it (importing
    `runback.schemas` would load pandas and pandera, which a quick command does not need)."""
    spec = find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{name} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


PROJECT_DIR = _package_dir("runback.schemas") / "redcap"
"""The trial's REDCap project files (dictionary, events, designations, ...), shipped with runback."""
SQL_DIR = _package_dir("runback.sql")
REPORTS_DIR = _package_dir("runback.reports")

DATA_DIR = Path("data")
"""The default folder of the user's warehouse, inbox and key (relative to the working directory)."""

DEFAULT_TIMEZONE = "Asia/Singapore"
DEFAULT_CRON = "0 2 * * *"
WAREHOUSE_LIMIT = "runback-warehouse"
"""Prefect global concurrency limit (1 slot) held by every flow run that writes the warehouse."""


def _path(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).expanduser() if value else default


def db_path() -> Path:
    return _path("RUNBACK_DB", DATA_DIR / "runback.duckdb")


def inbox_dir() -> Path:
    return _path("RUNBACK_INBOX", DATA_DIR / "inbox")


def out_dir() -> Path:
    return _path("RUNBACK_OUT", Path("out"))


def key_path() -> Path:
    return _path("RUNBACK_KEY", Path("keys") / "allocation.key")


def _number(variable: str, default: float, unit: str, allow_zero: bool = False) -> float:
    """A positive number from the environment, or a refusal that names the variable."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > 0 or (allow_zero and value == 0)) or value == float("inf"):
        raise Refused(
            f"{variable}={text!r} is not a positive number of {unit}.",
            f"Set it to a number such as {default:g}, or unset it for the default.",
        )
    return value


def max_age_hours() -> float:
    return _number("RUNBACK_MAX_AGE_HOURS", 36, "hours")


def lock_timeout() -> float:
    """Seconds to wait for a warehouse held by another process."""
    return _number("RUNBACK_LOCK_TIMEOUT", 60, "seconds")


def settle_seconds() -> float:
    """An inbox file modified more recently than this is left for the next run (still being written?)."""
    return _number("RUNBACK_SETTLE_SECONDS", 60, "seconds", allow_zero=True)


def timezone_name() -> str:
    return os.environ.get("RUNBACK_TIMEZONE", "").strip() or DEFAULT_TIMEZONE


def timezone() -> ZoneInfo:
    name = timezone_name()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Refused(
            f"RUNBACK_TIMEZONE={name!r} is not a known time zone.",
            "Use an IANA name such as Asia/Singapore or Europe/London.",
        ) from None


def cron() -> str:
    return os.environ.get("RUNBACK_CRON", "").strip() or DEFAULT_CRON


def reports_url() -> str | None:
    """The base URL that report links point to (a web server publishing RUNBACK_OUT), if any."""
    return os.environ.get("RUNBACK_REPORTS_URL", "").strip().rstrip("/") or None


def reports_address() -> tuple[str, int]:
    """Host and port on which `runback serve` publishes the reports folder (read-only)."""
    text = os.environ.get("RUNBACK_REPORTS_ADDRESS", "").strip() or "127.0.0.1:8765"
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise Refused(f"RUNBACK_REPORTS_ADDRESS={text!r} is not HOST:PORT.", "Set it like 127.0.0.1:8765.")
    return host, int(port)


def site_now() -> dt.datetime:
    """The trial site's wall-clock time, naive (as REDCap writes export times)."""
    return dt.datetime.now(timezone()).replace(tzinfo=None, microsecond=0)
