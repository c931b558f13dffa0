"""Pull the nightly export from the REDCap API into the inbox, under the usual file names.

With `RUNBACK_REDCAP_URL` (the project's `https://<host>/api/`) and `RUNBACK_REDCAP_TOKEN` set,
or a Prefect Secret block named `runback-redcap-token`, the nightly flow first pulls:

| content | REDCap API call | written as |
|---|---|---|
| project information | `content=project, format=json` | (not written: says which files follow) |
| dictionary | `content=metadata, format=csv` | `RUNBACK_DataDictionary_<date>.csv` |
| events (longitudinal) | `content=event, format=csv` | `RUNBACK_Events_<date>.csv` |
| designations (longitudinal) | `content=formEventMapping, format=csv` | `RUNBACK_InstrumentDesignations_<date>.csv` |
| repeating (if any) | `content=repeatingFormsEvents, format=csv` | `RUNBACK_RepeatingInstruments_<date>.csv` |
| records | `content=record, format=csv, type=flat, rawOrLabel=raw` | `RUNBACK_DATA_<date>_<HHMM>.csv` |

then ingests them like dropped files. The pull is careful, because what it saves is trusted
as tonight's snapshot:

- the URL must be `https://` (plain `http://` only to a loopback address, for tests): the token
  is never sent in clear over a network;
- redirects are not followed (the token would go with them) and a 3xx is refused;
- each answer is streamed to a temporary name in the inbox (`.<name>.part`, which no export
  pattern matches) under a size cap (`RUNBACK_REDCAP_MAX_MB`, default 2048) and an overall
  deadline for the whole pull (`RUNBACK_REDCAP_DEADLINE_S`, default 1800 s): never held in memory;
- its content type and shape are checked before it is kept: a CSV where CSV was asked (not an
  HTML page, not JSON, not REDCap's error), whose header is what that content has (the records'
  first column is the dictionary's first field);
- an answer that echoes the token is refused and not saved;
- only when every answer arrived whole are the files renamed to their names, the data export
  last, so the inbox never holds half a pull.

Timeouts and 5xx answers are retried with backoff; a 401 or 403, or an `ERROR:` body, stops
with a clear message. The token is sent in the POST body only and never appears in a log line,
an artifact or an error message, in any case or URL encoding.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import ipaddress
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus, urlsplit

from runback.flows import settings
from runback.flows.errors import Refused

if TYPE_CHECKING:
    import httpx  # imported where the API is called: a night without an API pull does not pay for it (0.08 s)

TOKEN_BLOCK = "runback-redcap-token"
RECORD_PARAMS = {
    "type": "flat",
    "rawOrLabel": "raw",
    "rawOrLabelHeaders": "raw",
    "exportCheckboxLabel": "false",
    "exportSurveyFields": "false",
    "exportDataAccessGroups": "false",
}
FILES = {  # content -> (file name pattern, header cells its CSV must have)
    "metadata": ("RUNBACK_DataDictionary_{date}.csv", ("field_name", "form_name")),
    "event": ("RUNBACK_Events_{date}.csv", ("unique_event_name",)),
    "formEventMapping": ("RUNBACK_InstrumentDesignations_{date}.csv", ("arm_num", "unique_event_name", "form")),
    "repeatingFormsEvents": ("RUNBACK_RepeatingInstruments_{date}.csv", ("form_name",)),
    "record": ("RUNBACK_DATA_{date}_{hhmm}.csv", ()),
}
RETRIES = 4
BACKOFF_S = 1.0
TIMEOUT_S = 120.0
"""Longest wait for any one step of a call (connect, a chunk of the answer)."""
DEADLINE_S = 1800.0
"""Longest time the whole pull may take (a server that drips bytes slowly is cut off)."""
MAX_BYTES = 2048 << 20
"""Largest answer accepted (streamed to disk, never held in memory)."""
CHUNK = 1 << 16
_LOOPBACK_NAMES = {"localhost"}


class RedcapApiError(Refused):
    """The REDCap API refused or failed, or its answer cannot be trusted; never holds the token."""


@dataclass(frozen=True)
class Connection:
    url: str
    token: str

    def __repr__(self) -> str:  # never print the token
        return f"Connection(url={self.url!r}, token=<hidden>)"


@dataclass
class Limits:
    """How much and how long a pull may take (settings, read once per pull)."""

    max_bytes: int
    deadline: float  # time.monotonic() after which the pull stops

    @classmethod
    def from_settings(cls) -> Limits:
        max_mb = _positive("RUNBACK_REDCAP_MAX_MB", os.environ.get("RUNBACK_REDCAP_MAX_MB"), MAX_BYTES / (1 << 20))
        seconds = _positive("RUNBACK_REDCAP_DEADLINE_S", os.environ.get("RUNBACK_REDCAP_DEADLINE_S"), DEADLINE_S)
        return cls(int(max_mb * (1 << 20)), time.monotonic() + seconds)


def configured() -> Connection | None:
    """The API connection from the environment or the Prefect Secret block, if any."""
    trial = settings.trial()
    url = trial.redcap_url if trial else os.environ.get("RUNBACK_REDCAP_URL")
    if not url:
        return None
    check_url(url)
    token = _secret_block(trial.redcap_token_block) if trial and trial.redcap_token_block else None
    token = token or os.environ.get("RUNBACK_REDCAP_TOKEN") or _secret_block()
    if not token:
        raise RedcapApiError(
            "RUNBACK_REDCAP_URL is set but no token: set RUNBACK_REDCAP_TOKEN or a Prefect Secret "
            f"block named {TOKEN_BLOCK!r}"
        )
    return Connection(url, token)


def check_url(url: str) -> None:
    """Refuse a URL the token must not be sent to: anything but https, except http to loopback."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and _loopback(parts.hostname or ""):
        return
    raise RedcapApiError(
        f"RUNBACK_REDCAP_URL {_shown_url(url)!r} is not an https:// address: the API token would travel in clear.",
        "Use the project's https://<host>/api/ address (plain http:// is accepted only for 127.0.0.1, for tests).",
    )


def _loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _shown_url(url: str) -> str:
    """The URL without any user:password or query part (which could hold a secret)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _secret_block(name: str = TOKEN_BLOCK) -> str | None:
    """The API token in the Prefect Secret block `name` (a trial's `redcap_token_block`), if any."""
    try:
        from prefect.blocks.system import Secret

        return Secret.load(name).get()
    except Exception:  # noqa: BLE001 - no block (or no server): the environment must say
        return None


def pull(connection: Connection, inbox: Path, when: dt.datetime, client: httpx.Client | None = None) -> list[Path]:
    """Pull the project files and the records into `inbox`; nothing is renamed into place until
    every answer arrived whole and passed its checks, and the data export comes last."""
    import httpx

    check_url(connection.url)
    inbox.mkdir(parents=True, exist_ok=True)
    limits = Limits.from_settings()
    names = {"date": f"{when:%Y-%m-%d}", "hhmm": f"{when:%H%M}"}
    parts: dict[str, Path] = {}
    try:
        with client or httpx.Client(timeout=TIMEOUT_S, follow_redirects=False) as http:
            info = project_info(http, connection, limits)
            for content in contents(info):
                final = inbox / FILES[content][0].format(**names)
                tmp = inbox / f".{final.name}.part"
                params = {"content": content, "format": "csv", **(RECORD_PARAMS if content == "record" else {})}
                download(http, connection, params, tmp, limits)
                check_shape(tmp, content, connection, first_field=_first_field(parts.get("metadata")))
                parts[content] = tmp
        written = []
        for content, tmp in parts.items():  # record last (contents() ends with it)
            final = inbox / FILES[content][0].format(**names)
            tmp.replace(final)
            written.append(final)
        return written
    finally:
        for tmp in parts.values():
            tmp.unlink(missing_ok=True)
        for tmp in inbox.glob(".RUNBACK_*.part"):
            tmp.unlink(missing_ok=True)


def contents(info: dict) -> list[str]:
    """What to pull for a project: events and designations only when it is longitudinal,
    repeating instruments only when it has any; the records always, last."""
    wanted = ["metadata"]
    if _yes(info.get("is_longitudinal")):
        wanted += ["event", "formEventMapping"]
    if _yes(info.get("has_repeating_instruments_or_events")):
        wanted.append("repeatingFormsEvents")
    return [*wanted, "record"]


def project_info(http: httpx.Client, connection: Connection, limits: Limits) -> dict:
    """The project's information (`content=project`, JSON): is it longitudinal, does it repeat."""
    buf = io.BytesIO()
    _call(http, connection, {"content": "project", "format": "json"}, buf, limits, expect="json")
    try:
        info = json.loads(buf.getvalue().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        info = None
    if not isinstance(info, dict):
        raise RedcapApiError(
            f"REDCap API (project) at {_shown_url(connection.url)}: the answer is not the project's information.",
            "Check RUNBACK_REDCAP_URL: it must be the project's REDCap API address (https://<host>/api/).",
        )
    return info


def download(http: httpx.Client, connection: Connection, params: dict[str, str], tmp: Path, limits: Limits) -> None:
    """One API call streamed into `tmp` (retried on timeouts and 5xx; removed on failure)."""
    try:
        with tmp.open("wb") as out:
            _call(http, connection, params, out, limits, expect="csv")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _call(http: httpx.Client, connection: Connection, params: dict, out, limits: Limits, expect: str) -> None:
    """POST with retries; the answer's bytes go to `out` once its status and type are acceptable."""
    import httpx

    data = {"token": connection.token, "returnFormat": "json" if expect == "json" else "csv", **params}
    what = f"REDCap API ({params['content']}) at {_shown_url(connection.url)}"
    for attempt in range(RETRIES + 1):
        _check_deadline(limits, what)
        out.seek(0)
        out.truncate()
        left = max(limits.deadline - time.monotonic(), 0.001)
        try:  # no wait lasts past the deadline: each wait is bounded by it, and a watchdog ends the answer there
            with http.stream("POST", connection.url, data=data, timeout=min(TIMEOUT_S, left)) as response:
                watchdog = threading.Timer(left, response.close)
                watchdog.daemon = True
                watchdog.start()
                try:
                    problem = _receive(response, out, connection, limits, what, expect)
                finally:
                    watchdog.cancel()
        except (httpx.TransportError, httpx.StreamError) as err:  # timeouts, refused connections, a body cut short
            problem = type(err).__name__
        _check_deadline(limits, what)
        if problem is None:
            return
        if attempt == RETRIES:
            raise RedcapApiError(f"{what} failed {RETRIES + 1} times, last: {redact(problem, connection.token)}")
        time.sleep(min(BACKOFF_S * 2**attempt, max(limits.deadline - time.monotonic(), 0)))


def _receive(response: httpx.Response, out, connection: Connection, limits: Limits, what: str, expect: str):
    """Check the status and type of an answer and stream its body; a problem worth a retry is
    returned, one that is not is raised."""
    status = response.status_code
    if status >= 500:
        return f"HTTP {status}"
    if 300 <= status < 400:
        where = _shown_url(response.headers.get("location", "")) if response.headers.get("location") else "elsewhere"
        raise RedcapApiError(
            f"{what} answered with a redirect (HTTP {status} to {redact(where, connection.token)}); "
            "it was not followed, so the token went nowhere else.",
            "Set RUNBACK_REDCAP_URL to the project's API address itself (https://<host>/api/, with the final /).",
        )
    if status >= 400 or status in (401, 403):
        body = _small(response, connection)
        if status in (401, 403):
            raise RedcapApiError(f"{what} refused the token (HTTP {status}): {body}")
        raise RedcapApiError(f"{what} answered with an error (HTTP {status}): {body}")
    _check_type(response, what, expect)
    length = response.headers.get("content-length")
    if length and length.isdigit() and int(length) > limits.max_bytes:
        raise _too_big(what, limits)
    _stream(response, out, connection, limits, what)
    return None


def _stream(response: httpx.Response, out, connection: Connection, limits: Limits, what: str) -> None:
    """Copy the body to `out` under the size cap and the deadline, refusing an echoed token."""
    size, tail = 0, b""
    needles = _token_bytes(connection.token)
    head = b""
    for chunk in response.iter_bytes():  # as the bytes arrive: the deadline is checked on each
        size += len(chunk)
        if size > limits.max_bytes:
            raise _too_big(what, limits)
        _check_deadline(limits, what)
        window = (tail + chunk).lower()
        if any(n in window for n in needles):
            raise RedcapApiError(
                f"{what}: the answer contains the API token; it was not saved.",
                "Something between runback and REDCap (a proxy, a misconfigured server) echoes requests; "
                "check RUNBACK_REDCAP_URL and regenerate the token in REDCap (API -> Regenerate token).",
            )
        tail = window[-max(len(n) for n in needles) :]
        if len(head) < 512:
            head = (head + chunk)[:512]
        out.write(chunk)
    if head.lstrip().startswith(b"ERROR:"):
        raise RedcapApiError(f"{what} answered with an error (HTTP 200): {_message(head, connection)}")


def _check_type(response: httpx.Response, what: str, expect: str) -> None:
    """The answer's content type must be what was asked for (CSV, or JSON for project information)."""
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    wanted = {"csv": ("text/csv", "application/csv"), "json": ("application/json",)}[expect]
    if kind in wanted:
        return
    said = {"text/html": "an HTML page (a login or error page?)", "application/json": "JSON"}.get(
        kind, f"content of type {kind or 'unknown'}"
    )
    raise RedcapApiError(
        f"{what} answered with {said} where {expect.upper()} was asked; nothing was saved.",
        "Check RUNBACK_REDCAP_URL: it must be the project's REDCap API address (https://<host>/api/).",
    )


def check_shape(path: Path, content: str, connection: Connection, first_field: str | None = None) -> None:
    """Refuse a saved answer whose first line is not the header that content has."""
    with path.open("rb") as f:
        head = f.read(1 << 16)
    what = f"REDCap API ({content}) at {_shown_url(connection.url)}"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    first = text.split("\n", 1)[0].strip()
    if not first or first.startswith("<") or first.startswith(("{", "[")):
        shape = "is empty" if not first else "is not CSV (it starts like HTML, XML or JSON)"
        raise RedcapApiError(f"{what}: the answer {shape}; nothing was saved.", "Run the pull again later.")
    header = next(csv.reader(io.StringIO(first)), [])
    needed = FILES[content][1] if content != "record" else ((first_field,) if first_field else ())
    lacking = [c for c in needed if c not in header]
    if content == "record" and first_field and header[:1] != [first_field]:
        lacking = [first_field]
    if lacking:
        raise RedcapApiError(
            f"{what}: the answer's header lacks {', '.join(repr(c) for c in lacking)}; it is not a REDCap "
            f"{content} export and was not saved.",
            "Check RUNBACK_REDCAP_URL and that the token belongs to the trial's project.",
        )


def redact(text: str, token: str) -> str:
    """`text` with the token removed in any case and in its URL encodings."""
    if not token:
        return text
    variants = {token, quote(token, safe=""), quote_plus(token)}
    pattern = "|".join(re.escape(v) for v in sorted(variants, key=len, reverse=True))
    return re.sub(pattern, "<token>", text, flags=re.IGNORECASE)


def _token_bytes(token: str) -> list[bytes]:
    return sorted({v.lower().encode() for v in (token, quote(token, safe=""), quote_plus(token))}, key=len)


def _first_field(metadata: Path | None) -> str | None:
    """The record-id field (the dictionary's first field) of a saved metadata answer."""
    if metadata is None:
        return None
    with metadata.open(encoding="utf-8", errors="replace", newline="") as f:
        row = next(csv.DictReader(f), None)
    return (row or {}).get("field_name") or None


def _small(response: httpx.Response, connection: Connection) -> str:
    """The first bytes of an error answer, as a redacted message."""
    head = b""
    for chunk in response.iter_bytes(CHUNK):
        head += chunk
        if len(head) >= 2048:
            break
    return _message(head, connection)


def _message(body: bytes, connection: Connection) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    try:  # returnFormat=json: {"error": "..."}
        parsed = json.loads(text)
        text = parsed.get("error", text) if isinstance(parsed, dict) else text
    except json.JSONDecodeError:
        pass
    text = redact(str(text), connection.token)
    return (text.removeprefix("ERROR:").strip() or "no message")[:300]


def _check_deadline(limits: Limits, what: str) -> None:
    if time.monotonic() > limits.deadline:
        raise RedcapApiError(
            f"{what}: the pull took longer than its deadline; nothing was saved.",
            "Run it again later; if REDCap is slow every night, raise RUNBACK_REDCAP_DEADLINE_S.",
        )


def _too_big(what: str, limits: Limits) -> RedcapApiError:
    return RedcapApiError(
        f"{what}: the answer is larger than {limits.max_bytes >> 20} MB; nothing was saved.",
        "If the project really is that large, raise RUNBACK_REDCAP_MAX_MB.",
    )


def _yes(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes")


def _positive(name: str, raw: str | None, default: float) -> float:
    """A setting that must be a positive number (`default` when unset)."""
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise RedcapApiError(f"{name}={raw!r} is not a positive number.", f"Set {name} to a number above 0.")
    return value
