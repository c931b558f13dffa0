"""A REDCap API stand-in for tests: a real HTTP server on 127.0.0.1 that answers the REDCap API
the way REDCap does.

It speaks REDCap's protocol: a form-encoded POST to `/api/` with `token`, `content`, `format`
(csv or json; REDCap's default is xml, which the stand-in refuses as unsupported) and
`returnFormat` (the format of error bodies: `ERROR: <msg>` for csv, `{"error": "<msg>"}` for json,
`<hash><error>…</error></hash>` for xml), with REDCap's status codes (403 for a bad token, 400 for
a bad parameter) and content types (`text/csv; charset=utf-8`, `application/json`).

Each token is one project:
- `trial_project(records)`: the trial's REDCap project in API shape: metadata with the API's
  snake_case column names, events with `event_id`, designations, repeating instruments, project
  information, and the given records written as the API writes them (comma, no BOM, no
  missing-data-code checkbox columns).
- `tidier_project()`: the recorded API answers in `../shared/redcap-samples/REDCapTidieR/` (the
  records `api-c18c2c-POST.csv` and their metadata `api-8d708c-POST.json`, a classic project with
  repeating instruments and survey fields). Its repeating-instruments answer was not recorded; it
  is made from the repeat instruments the records name.

Failures are scripted per call (`stand_in.script(...)`): an HTTP status with a body, a hang, a
redirect, an HTML page, JSON where CSV was asked, a body that echoes the token, a huge or a
slowly dripped body, a body cut short.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from runback.flows.settings import PROJECT_DIR
from runback.schemas.study import DICTIONARY_COLUMNS
from tests.helpers import SAMPLES

CSV_TYPE = "text/csv; charset=utf-8"
JSON_TYPE = "application/json"
INVALID_TOKEN = "You do not have permissions to use the API"
CONTENTS = ("record", "metadata", "event", "formEventMapping", "repeatingFormsEvents", "project", "version")
VERSION = "15.7.6"


@dataclass
class Project:
    """One REDCap project as the API serves it: rows per content (None: not a thing this project
    has, answered with REDCap's error), and whether it is longitudinal."""

    title: str
    records: bytes  # the CSV body of content=record, as the API writes it
    metadata: list[dict[str, str]]
    longitudinal: bool
    events: list[dict[str, str]] | None = None
    mapping: list[dict[str, str]] | None = None
    repeating: list[dict[str, str]] | None = None
    extra: dict = field(default_factory=dict)

    def info(self) -> dict[str, str]:
        """`content=project`: the project's information (a subset of REDCap's keys)."""
        return {
            "project_id": "14",
            "project_title": self.title,
            "in_production": "1",
            "is_longitudinal": "1" if self.longitudinal else "0",
            "has_repeating_instruments_or_events": "1" if self.repeating else "0",
            "surveys_enabled": "0",
            "record_autonumbering_enabled": "0",
            "missing_data_codes": "",
        } | self.extra


def trial_project(records: bytes) -> Project:
    """The trial's project in API shape; `records` is any raw export of it (UI or API style)."""
    from tests.helpers import reshaped

    api_names = {ui: api for api, ui in DICTIONARY_COLUMNS.items()}
    dictionary = _csv_rows((PROJECT_DIR / "RUNBACK_DataDictionary.csv").read_bytes())
    metadata = [{api_names.get(k, k): v for k, v in row.items()} for row in dictionary]
    events = _csv_rows((PROJECT_DIR / "RUNBACK_Events.csv").read_bytes())
    events = [row | {"event_id": str(40 + i)} for i, row in enumerate(events)]
    codes = (PROJECT_DIR / "RUNBACK_MissingDataCodes.txt").read_text().strip()
    missing = [code.split(",")[0].strip().lower() for code in codes.split("|")]
    header = next(csv.reader(io.StringIO(records.decode("utf-8-sig"))))
    drop = [c for c in header if "___" in c and c.rsplit("___", 1)[1] in missing]
    project = Project(
        title="RUNBACK",
        records=reshaped(records, drop=drop),
        metadata=metadata,
        longitudinal=True,
        events=events,
        mapping=_csv_rows((PROJECT_DIR / "RUNBACK_InstrumentDesignations.csv").read_bytes()),
        repeating=_csv_rows((PROJECT_DIR / "RUNBACK_RepeatingInstruments.csv").read_bytes()),
        extra={"missing_data_codes": codes},
    )
    return project


def tidier_project() -> Project:
    """REDCapTidieR's recorded API answers of a classic project (records and metadata)."""
    folder = SAMPLES / "REDCapTidieR"
    records = (folder / "api-c18c2c-POST.csv").read_bytes()
    metadata = json.loads((folder / "api-8d708c-POST.json").read_text())
    repeated = sorted({r["redcap_repeat_instrument"] for r in _csv_rows(records) if r["redcap_repeat_instrument"]})
    return Project(
        title="REDCapTidieR classic",
        records=records,
        metadata=metadata,
        longitudinal=False,
        repeating=[{"form_name": form, "custom_form_label": ""} for form in repeated],
    )


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def _csv_body(rows: list[dict[str, str]]) -> bytes:
    """Rows as REDCap's API writes a small CSV: comma, LF, quoted only where needed."""
    if not rows:
        return b""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode()


class StandIn:
    """The server: `url` to point the pull at, `requests` it received, `script(...)` failures."""

    def __init__(self, projects: dict[str, Project]):
        self.projects = projects
        self.requests: list[dict[str, str]] = []
        self._script: list[tuple] = []
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                stand_in.requests.append(form)
                stand_in._answer(self, form)

            def do_GET(self):  # noqa: N802 - REDCap answers a GET of /api/ with a page, not data
                stand_in._send(self, 200, b"<html><body>REDCap API</body></html>", "text/html")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def script(self, *failures: tuple) -> None:
        """Answer the next calls with these, in order, then normally again. Each is one of
        ("status", code, body), ("hang", seconds), ("redirect", location), ("html",),
        ("json",), ("echo",), ("huge", n_bytes), ("drip", seconds_per_chunk), ("cut",),
        and may be narrowed to one content with a trailing {"content": name}."""
        with self._lock:
            self._script.extend(failures)

    def calls(self, content: str) -> list[dict[str, str]]:
        return [r for r in self.requests if r.get("content") == content]

    # -- answering -------------------------------------------------------------------------------
    def _next_failure(self, form: dict) -> tuple | None:
        with self._lock:
            for i, failure in enumerate(self._script):
                only = failure[-1] if failure and isinstance(failure[-1], dict) else {}
                if not only or only.get("content") == form.get("content"):
                    return self._script.pop(i)
        return None

    def _answer(self, handler, form: dict) -> None:
        failure = self._next_failure(form)
        if failure is not None:
            self._fail(handler, form, failure)
            return
        project = self.projects.get(form.get("token", ""))
        if project is None:
            self._error(handler, form, 403, INVALID_TOKEN)
            return
        content, fmt = form.get("content", ""), form.get("format", "xml")
        if content not in CONTENTS:
            self._error(handler, form, 400, 'The value of the parameter "content" is not valid')
            return
        if fmt not in ("csv", "json"):
            self._error(handler, form, 400, f"The stand-in serves format csv or json, not {fmt!r}")
            return
        if content == "version":
            self._send(handler, 200, VERSION.encode(), "text/html; charset=utf-8")
            return
        rows = self._rows(project, content)
        if rows is None:
            self._error(handler, form, 400, "You cannot export events for classic projects")
            return
        if content == "record" and fmt == "csv":
            self._send(handler, 200, project.records, CSV_TYPE)
        elif content == "project" and fmt == "csv":
            self._send(handler, 200, _csv_body([rows]), CSV_TYPE)
        elif fmt == "csv":
            self._send(handler, 200, _csv_body(rows), CSV_TYPE)
        else:
            self._send(handler, 200, json.dumps(rows).encode(), JSON_TYPE)

    @staticmethod
    def _rows(project: Project, content: str):
        if content == "record":
            return _csv_rows(project.records)
        if content == "project":
            return project.info()
        if content in ("event", "formEventMapping") and not project.longitudinal:
            return None
        return {
            "metadata": project.metadata,
            "event": project.events,
            "formEventMapping": project.mapping,
            "repeatingFormsEvents": project.repeating or [],
        }[content]

    def _error(self, handler, form: dict, status: int, message: str) -> None:
        """An error body in the format the call asked for (`returnFormat`, default xml)."""
        fmt = form.get("returnFormat", "xml")
        if fmt == "json":
            body, kind = json.dumps({"error": message}).encode(), JSON_TYPE
        elif fmt == "csv":
            body, kind = f"ERROR: {message}".encode(), CSV_TYPE
        else:
            body, kind = (
                f'<?xml version="1.0" encoding="UTF-8" ?><hash><error>{message}</error></hash>'.encode(),
                ("text/xml; charset=utf-8"),
            )
        self._send(handler, status, body, kind)

    def _fail(self, handler, form: dict, failure: tuple) -> None:
        kind = failure[0]
        if kind == "status":
            self._send(handler, failure[1], failure[2], CSV_TYPE)
        elif kind == "hang":
            time.sleep(failure[1])
            self._send(handler, 503, b"", CSV_TYPE)
        elif kind == "redirect":
            handler.send_response(302)
            handler.send_header("Location", failure[1])
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        elif kind == "html":
            self._send(handler, 200, b"<!DOCTYPE html><html><body><h1>Log in</h1></body></html>", "text/html")
        elif kind == "json":
            self._send(handler, 200, json.dumps([{"record_id": "1"}]).encode(), JSON_TYPE)
        elif kind == "echo":
            echoed = f"record_id,note\n1,token={form.get('token', '').lower()}\n".encode()
            self._send(handler, 200, echoed, CSV_TYPE)
        elif kind == "huge":
            self._stream(handler, [b"record_id\n"] + [b"1\n" * 32768] * (failure[1] // 65536 + 1))
        elif kind == "drip":
            self._stream(handler, (b"record_id\n" for _ in range(10_000)), pause=failure[1])
        elif kind == "cut":
            body = self.projects[form["token"]].records if form.get("token") in self.projects else b"x"
            handler.send_response(200)
            handler.send_header("Content-Type", CSV_TYPE)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body[: len(body) // 2])
            handler.wfile.flush()
            handler.close_connection = True
        else:
            raise ValueError(f"unknown scripted failure {failure!r}")

    @staticmethod
    def _send(handler, status: int, body: bytes, kind: str) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    @staticmethod
    def _stream(handler, chunks, pause: float = 0.0) -> None:
        """A chunked body (no Content-Length), optionally sent slowly."""
        handler.send_response(200)
        handler.send_header("Content-Type", CSV_TYPE)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        try:
            for chunk in chunks:
                handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                handler.wfile.flush()
                if pause:
                    time.sleep(pause)
            handler.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
            pass
        handler.close_connection = True


def serve(projects: dict[str, Project]) -> StandIn:
    """Start a stand-in serving `projects` (token -> project)."""
    return StandIn(projects)


def sample_path(name: str) -> Path:
    return SAMPLES / "REDCapTidieR" / name
