"""The reports' web server: publishes, read-only, the files each warehouse recorded in its blinded
root (`meta.outputs`: blinded reports, their PDFs, data-query listings) and the root's index, so
that the links a run leaves in the Prefect UI open in a browser.

`runback serve` starts it in a thread; `runback publish` runs it alone, for a work pool's set-up
(where no serve process lives). Its address is `RUNBACK_REPORTS_ADDRESS`, and `RUNBACK_REPORTS_URL`
is the base of every link a run leaves (`settings.reports_url()`). One server publishes either the
environment's set-up at `/`, or trials, each under `/<trial>/`. What it answers is read from the
warehouse at each request, so a link outlives a restart of the server at the same address.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from runback.flows import outputs, settings
from runback.flows.errors import Refused, RunbackError
from runback.flows.report import make


class Site(NamedTuple):
    """One blinded root and the warehouse that recorded what it holds."""

    db: Path
    root: Path


def site() -> Site:
    """The blinded root of the settings in use (a trial's, within `settings.use_trial`)."""
    return Site(settings.db_path().resolve(), settings.out_dir().resolve())


def sites(trial: str | None = None) -> dict[str, Site]:
    """What `runback publish` serves: the trial named (under `/<trial>/`); else every trial of the
    trials folder (each under its name); else, with no trial file, the environment's set-up at `/`."""
    names = [trial] if trial else settings.trial_names()
    if not names:
        return {"": site()}
    found = {}
    for name in names:
        with settings.use_trial(name):
            found[name] = site()
    return found


class Published(BaseHTTPRequestHandler):
    """GET and HEAD of the recorded files of each site and of its index, each only while the file
    there is a regular file with the recorded SHA-256, reached through no link
    (outputs.published_bytes). Nothing else: no unblinded report (they live in another root and are
    never recorded there), no folder listing, no file that merely carries a report's name; no log
    line per request on stderr."""

    sites: dict[str, Site]
    TYPES = {".html": "text/html; charset=utf-8", ".pdf": "application/pdf", ".csv": "text/csv; charset=utf-8"}

    def do_GET(self):  # noqa: N802 - the http.server naming
        body = self._body()
        if body is not None:
            self.wfile.write(body)

    def do_HEAD(self):  # noqa: N802
        self._body()

    def _where(self) -> tuple[Site | None, str]:
        """The site a request path names, and the file's path in its root."""
        path = unquote(urlsplit(self.path).path).lstrip("/")
        if "" in self.sites:
            return self.sites[""], path
        name, _, relative = path.partition("/")
        return self.sites.get(name), relative

    def _body(self) -> bytes | None:
        found, relative = self._where()
        if found is not None and relative == "" and not self.path.split("?")[0].endswith("/"):
            self.send_response(301)  # `/<trial>` -> `/<trial>/`: the index's relative links resolve there
            self.send_header("Location", self.path.split("?")[0] + "/")
            self.end_headers()
            return None
        data = self._read(found, relative or "index.html") if found else None
        if data is None:
            self.send_error(404)
            return None
        self.send_response(200)
        self.send_header("Content-Type", self.TYPES.get(Path(relative or ".html").suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        return data

    @staticmethod
    def _read(found: Site, relative: str) -> bytes | None:
        try:
            if relative == "index.html":  # made now from the records: it lists exactly what is served
                return make.index_html(found.db, found.root)
            known = {o["path"]: o["sha256"] for o in outputs.recorded(found.db) if o["kind"] != "index"}
            return outputs.published_bytes(found.root, relative, known[relative]) if relative in known else None
        except RunbackError:  # the warehouse is busy, gone or not made yet: nothing is published meanwhile
            return None

    def do_PUT(self):  # noqa: N802
        self.send_error(405)

    do_POST = do_DELETE = do_PATCH = do_PUT  # noqa: N815

    def log_message(self, format, *args):  # noqa: A002
        return


def server(served: dict[str, Site], address: tuple[str, int] | None = None) -> ThreadingHTTPServer:
    """A web server publishing `served` on `address` (default RUNBACK_REPORTS_ADDRESS), not started."""
    host, port = address or settings.reports_address()
    for found in served.values():
        found.root.mkdir(parents=True, exist_ok=True)
    handler = type("Published", (Published,), {"sites": served})
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as err:
        raise Refused(
            f"cannot publish the reports on {host}:{port}: {err.strerror}.",
            "Set RUNBACK_REPORTS_ADDRESS to a free HOST:PORT, or RUNBACK_REPORTS_URL to the web server "
            "that publishes the reports folder.",
        ) from None


def url_of(running: ThreadingHTTPServer) -> str:
    host, port = running.server_address[:2]
    return f"http://{host}:{port}"


def in_thread(served: dict[str, Site]) -> str:
    """Start a web server publishing `served` in a daemon thread of this process: its URL."""
    running = server(served)
    threading.Thread(target=running.serve_forever, daemon=True, name="runback-reports").start()
    return url_of(running)
