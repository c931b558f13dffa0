"""Settings: where the user's data lives, and where the installed package keeps its own files.

| setting | environment variable | default |
|---|---|---|
| warehouse file | `RUNBACK_DB` | `data/runback.duckdb` |
| inbox of exports | `RUNBACK_INBOX` | `data/inbox` |
| blinded reports and listings (the blinded root) | `RUNBACK_OUT` | `out` |
| unblinded reports (the unblinded root, private) | beside it: `<RUNBACK_OUT>-unblinded` | `out-unblinded` |
| allocation key (outside the warehouse's folder) | `RUNBACK_KEY` | `keys/allocation.key` |
| trial site's time zone | `RUNBACK_TIMEZONE` | `Asia/Singapore` |
| nightly schedule (cron, site time) | `RUNBACK_CRON` | `0 2 * * *` |
| freshness warning after | `RUNBACK_MAX_AGE_HOURS` | `36` |
| an inbox file must be unchanged for | `RUNBACK_SETTLE_SECONDS` | `60` |
| wait for the warehouse lock | `RUNBACK_LOCK_TIMEOUT` (s) | `60` |
| where report links point (artifacts) | `RUNBACK_REPORTS_URL` | set by `runback serve` to its own server |
| address `runback serve` serves the reports folder on | `RUNBACK_REPORTS_ADDRESS` | `127.0.0.1:8765` |
| folder of trial files (`<name>.toml`) | `RUNBACK_TRIALS` | `trials` |

Data paths belong to the user: relative defaults are relative to the working directory the
command runs in, never to the install. The package's own files (SQL, templates, the trial's
REDCap project) are read through the package, wherever it is installed.

**Trials.** A trials unit runs many trials with one runback. A trial is one small TOML file,
`<RUNBACK_TRIALS>/<name>.toml`, holding its `warehouse`, `inbox`, `out` and `key` (paths relative
to the file) and optionally its REDCap `project` folder, `cron`, `timezone`, `redcap_url` and
`redcap_token_block` (the name of a Prefect Secret block holding its API token). While a trial is
in use (`use_trial`: `--trial NAME` on the command line, the `trial` parameter of a flow), its
file decides those settings and the environment variables above do not; without one, they do.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import tomllib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
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
"""Prefect global concurrency limit (1 slot) held by every flow run that writes the warehouse
(`runback-warehouse-<trial>` for a trial's)."""


@dataclass(frozen=True)
class Trial:
    """One trial's settings, from its trial file."""

    name: str
    warehouse: Path
    inbox: Path
    out: Path
    key: Path
    project: Path | None = None
    cron: str | None = None
    timezone: str | None = None
    redcap_url: str | None = None
    redcap_token_block: str | None = None
    max_age_hours: float | None = None  # not from a file: the demo's simulated dates are years old


TRIAL_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
"""A trial's name: it names Prefect deployments, limits and artifact keys, which allow no more."""
_PATHS = ("warehouse", "inbox", "out", "key")
_OPTIONAL_PATHS = ("project",)
_TEXTS = ("cron", "timezone", "redcap_url", "redcap_token_block")
_active: ContextVar[Trial | None] = ContextVar("runback_trial", default=None)


def trials_dir() -> Path:
    return _path("RUNBACK_TRIALS", Path("trials"))


def trial_names() -> list[str]:
    """The trials of the trials folder (one `<name>.toml` each), by name."""
    folder = trials_dir()
    return sorted(p.stem for p in folder.glob("*.toml") if TRIAL_NAME.fullmatch(p.stem)) if folder.is_dir() else []


def load_trial(name: str) -> Trial:
    """The trial `name`, read from its file; a refusal naming the file and the problem otherwise."""
    if not TRIAL_NAME.fullmatch(name or ""):
        raise Refused(
            f"{name!r} is not a trial name.", "A trial's name is lowercase letters, digits and dashes (at most 40)."
        )
    path = trials_dir() / f"{name}.toml"
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = ", ".join(trial_names()) or "none"
        raise Refused(f"there is no trial file {path}.", f"Trials in {trials_dir()}: {known}.") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise Refused(f"the trial file {path} cannot be read: {err}.", "Write it as TOML (docs/trials.md).") from None
    unknown = sorted(set(values) - {*_PATHS, *_OPTIONAL_PATHS, *_TEXTS})
    missing = [k for k in _PATHS if k not in values]
    wrong = [k for k, v in values.items() if k not in unknown and (not isinstance(v, str) or not v.strip())]
    if unknown or missing or wrong:
        problems = [f"unknown setting(s) {', '.join(unknown)}"] * bool(unknown)
        problems += [f"missing {', '.join(missing)}"] * bool(missing)
        problems += [f"{', '.join(wrong)} must be non-empty text"] * bool(wrong)
        raise Refused(
            f"the trial file {path}: {'; '.join(problems)}.",
            f"It holds {', '.join(_PATHS)} (paths relative to it) and optionally "
            f"{', '.join((*_OPTIONAL_PATHS, *_TEXTS))} (docs/trials.md).",
        )
    here = path.parent
    paths = {
        k: Path(os.path.abspath(here / Path(values[k]).expanduser()))
        for k in (*_PATHS, *_OPTIONAL_PATHS)
        if k in values
    }
    return Trial(name, **paths, **{k: values[k].strip() for k in _TEXTS if k in values})


@contextlib.contextmanager
def use_trial(name: str | Trial | None) -> Iterator[Trial | None]:
    """Within it, the settings are the trial's (`name`, or a Trial itself), or, for None, the environment's."""
    token = _active.set(load_trial(name) if isinstance(name, str) else name)
    try:
        yield _active.get()
    finally:
        _active.reset(token)


def trial() -> Trial | None:
    """The trial in use, if any."""
    return _active.get()


def trial_name() -> str | None:
    """The name of the trial in use (None without one, or for settings made in code, as the demo's)."""
    found = _active.get()
    return found.name or None if found else None


def _path(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).expanduser() if value else default


def db_path() -> Path:
    found = _active.get()
    return found.warehouse if found else _path("RUNBACK_DB", DATA_DIR / "runback.duckdb")


def inbox_dir() -> Path:
    found = _active.get()
    return found.inbox if found else _path("RUNBACK_INBOX", DATA_DIR / "inbox")


def out_dir() -> Path:
    found = _active.get()
    return found.out if found else _path("RUNBACK_OUT", Path("out"))


def unblinded_dir(out: Path | None = None) -> Path:
    """The unblinded root: beside the blinded root `out` (default: the out folder in use), named
    after it with `-unblinded` (`out` -> `out-unblinded`), never inside it."""
    out = out or out_dir()
    return out.with_name(f"{out.name}-unblinded")


def key_path() -> Path:
    found = _active.get()
    return found.key if found else _path("RUNBACK_KEY", Path("keys") / "allocation.key")


def project_dir() -> Path:
    """The folder of the REDCap project files: the trial's, or the trial copy runback ships."""
    found = _active.get()
    return found.project if found and found.project else PROJECT_DIR


def warehouse_limit() -> str:
    """The Prefect concurrency limit of the warehouse in use."""
    name = trial_name()
    return f"{WAREHOUSE_LIMIT}-{name}" if name else WAREHOUSE_LIMIT


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
    found = _active.get()
    if found and found.max_age_hours is not None:
        return found.max_age_hours
    return _number("RUNBACK_MAX_AGE_HOURS", 36, "hours")


def lock_timeout() -> float:
    """Seconds to wait for a warehouse held by another process."""
    return _number("RUNBACK_LOCK_TIMEOUT", 60, "seconds")


def settle_seconds() -> float:
    """An inbox file modified more recently than this is left for the next run (still being written?)."""
    return _number("RUNBACK_SETTLE_SECONDS", 60, "seconds", allow_zero=True)


def timezone_name() -> str:
    found = _active.get()
    if found and found.timezone:
        return found.timezone
    return os.environ.get("RUNBACK_TIMEZONE", "").strip() or DEFAULT_TIMEZONE


def timezone() -> ZoneInfo:
    name = timezone_name()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        where = f"the trial {trial_name()}'s timezone" if trial_name() else "RUNBACK_TIMEZONE"
        raise Refused(
            f"{where} {name!r} is not a known time zone.",
            "Use an IANA name such as Asia/Singapore or Europe/London.",
        ) from None


def cron() -> str:
    found = _active.get()
    if found and found.cron:
        return found.cron
    return os.environ.get("RUNBACK_CRON", "").strip() or DEFAULT_CRON


def reports_url() -> str | None:
    """The base URL of the links to published outputs, if any: RUNBACK_REPORTS_URL (the reports' web
    server, flows/published.py), under `/<trial>` for a trial's."""
    base = os.environ.get("RUNBACK_REPORTS_URL", "").strip().rstrip("/")
    trial = trial_name()
    return (f"{base}/{trial}" if trial else base) if base else None


def reports_address() -> tuple[str, int]:
    """Host and port on which `runback serve` or `runback publish` publishes the reports (read-only)."""
    text = os.environ.get("RUNBACK_REPORTS_ADDRESS", "").strip() or "127.0.0.1:8765"
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise Refused(f"RUNBACK_REPORTS_ADDRESS={text!r} is not HOST:PORT.", "Set it like 127.0.0.1:8765.")
    return host, int(port)


def site_time(when: dt.datetime | None = None) -> str:
    """A moment (default now) in the trial site's time zone, for a person: `2016-03-01 02:00 +08`."""
    return (when or dt.datetime.now(dt.UTC)).astimezone(timezone()).strftime("%Y-%m-%d %H:%M %Z")


def artifact_key(name: str) -> str:
    """A Prefect artifact's key, of the trial in use (`<name>-<trial>`), so trials never share one."""
    trial = trial_name()
    return f"{name}-{trial}" if trial else name


def site_now() -> dt.datetime:
    """The trial site's wall-clock time, naive (as REDCap writes export times)."""
    return dt.datetime.now(timezone()).replace(tzinfo=None, microsecond=0)
