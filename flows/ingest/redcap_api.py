"""Pull the nightly export from the REDCap API into the inbox, under the usual file names.

With `RUNBACK_REDCAP_URL` (the project's `https://<host>/api/`) and `RUNBACK_REDCAP_TOKEN` set,
or a Prefect Secret block named `runback-redcap-token`, the nightly flow first pulls:

| content | REDCap API call | written as |
|---|---|---|
| records | `content=record, format=csv, type=flat, rawOrLabel=raw` | `RUNBACK_DATA_<date>_<HHMM>.csv` |
| dictionary | `content=metadata, format=csv` | `RUNBACK_DataDictionary_<date>.csv` |
| events | `content=event, format=csv` | `RUNBACK_Events_<date>.csv` |
| designations | `content=formEventMapping, format=csv` | `RUNBACK_InstrumentDesignations_<date>.csv` |
| repeating instruments | `content=repeatingFormsEvents, format=csv` | `RUNBACK_RepeatingInstruments_<date>.csv` |

then ingests them like dropped files. Timeouts and 5xx answers are retried with backoff; a 401 or
403, or an `ERROR:` body, stops with a clear message. The token is sent in the POST body only and
never appears in a log line, an artifact or an error message.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from runback.flows.errors import Refused

TOKEN_BLOCK = "runback-redcap-token"
CONTENT = {  # content -> (extra parameters, file name pattern)
    "record": ({"type": "flat", "rawOrLabel": "raw", "rawOrLabelHeaders": "raw", "exportCheckboxLabel": "false",
                "exportSurveyFields": "false", "exportDataAccessGroups": "false"}, "RUNBACK_DATA_{date}_{hhmm}.csv"),
    "metadata": ({}, "RUNBACK_DataDictionary_{date}.csv"),
    "event": ({}, "RUNBACK_Events_{date}.csv"),
    "formEventMapping": ({}, "RUNBACK_InstrumentDesignations_{date}.csv"),
    "repeatingFormsEvents": ({}, "RUNBACK_RepeatingInstruments_{date}.csv"),
}  # fmt: skip
RETRIES = 4
BACKOFF_S = 1.0
TIMEOUT_S = 120.0


class RedcapApiError(Refused):
    """The REDCap API refused or failed; the message never holds the token."""


@dataclass(frozen=True)
class Connection:
    url: str
    token: str

    def __repr__(self) -> str:  # never print the token
        return f"Connection(url={self.url!r}, token=<hidden>)"


def configured() -> Connection | None:
    """The API connection from the environment or the Prefect Secret block, if any."""
    url = os.environ.get("RUNBACK_REDCAP_URL")
    if not url:
        return None
    token = os.environ.get("RUNBACK_REDCAP_TOKEN") or _secret_block()
    if not token:
        raise RedcapApiError(
            "RUNBACK_REDCAP_URL is set but no token: set RUNBACK_REDCAP_TOKEN or a Prefect Secret "
            f"block named {TOKEN_BLOCK!r}"
        )
    return Connection(url, token)


def _secret_block() -> str | None:
    try:
        from prefect.blocks.system import Secret

        return Secret.load(TOKEN_BLOCK).get()
    except Exception:  # noqa: BLE001 - no block (or no server): the environment must say
        return None


def pull(connection: Connection, inbox: Path, when: dt.datetime, client: httpx.Client | None = None) -> list[Path]:
    """Pull every content type into `inbox`; the data export is written last, once all arrived."""
    inbox.mkdir(parents=True, exist_ok=True)
    names = {"date": f"{when:%Y-%m-%d}", "hhmm": f"{when:%H%M}"}
    bodies = {}
    with client or httpx.Client(timeout=TIMEOUT_S) as http:
        for content, (extra, _) in CONTENT.items():
            bodies[content] = request(http, connection, {"content": content, "format": "csv", **extra})
    written = []
    for content in [*list(CONTENT)[1:], "record"]:
        path = inbox / CONTENT[content][1].format(**names)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(bodies[content])
        tmp.replace(path)
        written.append(path)
    return written


def request(http: httpx.Client, connection: Connection, params: dict[str, str]) -> bytes:
    """One API call with retries on timeouts and 5xx; clear errors on refusals."""
    data = {"token": connection.token, "returnFormat": "csv", **params}
    what = f"REDCap API ({params['content']}) at {connection.url}"
    for attempt in range(RETRIES + 1):
        try:
            response = http.post(connection.url, data=data)
        except httpx.TransportError as err:  # timeouts, refused connections
            problem = f"{type(err).__name__}"
        else:
            body = response.content
            if response.status_code in (401, 403):
                raise RedcapApiError(
                    f"{what} refused the token (HTTP {response.status_code}): {_error(body, connection)}"
                )
            if response.status_code >= 500:
                problem = f"HTTP {response.status_code}"
            elif response.status_code >= 400 or body.lstrip().startswith(b"ERROR:"):
                status = response.status_code
                raise RedcapApiError(f"{what} answered with an error (HTTP {status}): {_error(body, connection)}")
            else:
                return body
        if attempt == RETRIES:
            raise RedcapApiError(f"{what} failed {RETRIES + 1} times, last: {problem}")
        time.sleep(BACKOFF_S * 2**attempt)
    raise AssertionError("unreachable")


def _error(body: bytes, connection: Connection) -> str:
    text = body.decode("utf-8", errors="replace").strip().replace(connection.token, "<token>")
    return (text.removeprefix("ERROR:").strip() or "no message")[:300]
