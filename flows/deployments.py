"""Deployments: the nightly schedule and the ad-hoc report, served on a real Prefect server.

- `nightly-ingest/nightly`: cron `settings.DEFAULT_CRON` (02:00) in the trial site's time zone
  (`settings.DEFAULT_TIMEZONE`), both configurable; pulls from the REDCap API when configured, then ingests the inbox.
- `followup-report/adhoc`: no schedule; run on demand with parameters, e.g.
  `prefect deployment run 'followup-report/adhoc' --param timepoint=month_6 --param audience=open --param data_cut=3`.

Runs that write the warehouse never overlap: `serve` runs one flow run at a time (`limit=1`),
each deployment has a concurrency limit of 1 (further runs wait in the queue), and both flows hold
the global concurrency limit `runback-warehouse` (1 slot, leased),
which the flows create when missing, so
a worker or a manual run elsewhere waits too. Stopping `serve` does not pause the schedule.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import EntrypointType
from prefect.schedules import Cron, Interval

from runback.flows import outputs, settings
from runback.flows.errors import Refused, RunbackError
from runback.flows.followup_report import followup_report
from runback.flows.nightly_ingest import nightly_ingest
from runback.flows.report import make
from runback.flows.runs import server_configured
from runback.flows.settings import DEFAULT_CRON, DEFAULT_TIMEZONE

ONE_AT_A_TIME = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)
HEARTBEAT_S = 30
"""Seconds between a deployment run's heartbeats; a run silent for three is marked Crashed."""
SILENT_RUNS = "runback-crash-silent-runs"
"""The server's automation that marks a runback run Crashed when its heartbeats stop (its
machine lost): that frees its deployment's slot and its work pool's slot, which a run left
Running holds (the deployment's for 5 minutes, the pool's for ever)."""
REPORT_DESCRIPTION = (
    "Render a follow-up report: --param timepoint=week_8|month_6 [--param audience=open|closed] [--param data_cut=N]."
)
"""The ad-hoc report's description (prefect.yaml says the same)."""


class NoServer(Refused):
    """Schedules need a long-lived Prefect server (an ephemeral one has no scheduler)."""


def deployments(
    cron: str = DEFAULT_CRON,
    timezone: str = DEFAULT_TIMEZONE,
    interval_s: float | None = None,
    trial: str | None = None,
    pooled: bool = False,
):
    """The two deployments: `nightly-ingest/nightly` and `followup-report/adhoc`, or for a trial
    `nightly-ingest/<trial>` and `followup-report/<trial>`, whose runs take the trial's settings.
    `interval_s` replaces the cron schedule (for tests and demos). `pooled` ones (run by a work
    pool's workers) beat through job variables; served ones through `serve_all`'s environment."""
    schedule = Interval(dt.timedelta(seconds=interval_s)) if interval_s else Cron(cron, timezone=timezone)
    parameters = {"trial": trial} if trial else {}
    tags = ["runback", *([f"trial:{trial}"] if trial else [])]
    beating = {"env": {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_S)}} if pooled else None
    nightly = nightly_ingest.to_deployment(
        name=trial or "nightly",
        schedules=[schedule],
        parameters=parameters,
        concurrency_limit=ONE_AT_A_TIME,
        entrypoint_type=EntrypointType.MODULE_PATH,
        job_variables=beating,
        description="Pull (if configured) and ingest the nightly REDCap export, analyse the new data cut.",
        tags=tags,
    )
    adhoc = followup_report.to_deployment(
        name=trial or "adhoc",
        parameters=parameters,
        concurrency_limit=ONE_AT_A_TIME,
        entrypoint_type=EntrypointType.MODULE_PATH,
        job_variables=beating,
        description=REPORT_DESCRIPTION,
        tags=tags,
    )
    return [nightly, adhoc]


def deploy_trials(pool: str | None) -> list[str]:
    """Create or update, on the configured Prefect server, the two deployments of every trial in
    the trials folder (each with its trial's schedule and parameters), run by the work pool
    `pool` (or by `runback serve --trial NAME` without one). Their names."""
    _need_server()
    names = settings.trial_names()
    if not names:
        raise Refused(
            f"there is no trial file in {settings.trials_dir()}.",
            "Write one <name>.toml per trial there (docs/trials.md), or set RUNBACK_TRIALS.",
        )
    made = []
    for name in names:
        with settings.use_trial(name):
            for deployment in deployments(settings.cron(), settings.timezone_name(), trial=name, pooled=bool(pool)):
                deployment.apply(work_pool_name=pool)
                made.append(f"{deployment.flow_name}/{deployment.name}")
    crash_silent_runs()
    return made


def crash_silent_runs() -> None:
    """Create, once per server, the automation `SILENT_RUNS`: a run of a runback deployment whose
    heartbeat is not followed by another (or by its end) within three heartbeats is marked Crashed."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    ends = {f"prefect.flow-run.{s}" for s in ("Completed", "Failed", "Cancelled", "Crashed")}
    with get_client(sync_client=True) as client:
        if client.read_automations_by_name(SILENT_RUNS):
            return
        trigger = EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", *ends},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "tag", "prefect.resource.id": "prefect.tag.runback"},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=dt.timedelta(seconds=3 * HEARTBEAT_S),
        )
        message = "no heartbeat: its machine or worker was lost"
        action = ChangeFlowRunState(state=StateType.CRASHED, message=message)
        client.create_automation(AutomationCore(name=SILENT_RUNS, trigger=trigger, actions=[action]))


def _need_server() -> None:
    if not server_configured():
        raise NoServer(
            "no Prefect server is configured: schedules need a running one. Start one with "
            "`prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api"
        )


def serve_all(
    cron: str = DEFAULT_CRON,
    timezone: str = DEFAULT_TIMEZONE,
    interval_s: float | None = None,
    trial: str | None = None,
) -> None:
    """Serve both deployments (of `trial`, if given) until interrupted (their schedule stays active afterwards)."""
    _need_server()
    publish_reports()
    os.environ["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] = str(HEARTBEAT_S)  # the served runs' (no job variables)
    serve(*deployments(cron, timezone, interval_s, trial), pause_on_shutdown=False, limit=1)


class _Published(BaseHTTPRequestHandler):
    """GET and HEAD of the files the warehouse recorded in the blinded root (`meta.outputs`: blinded
    reports, their PDFs, data-query listings) and of the root's index, each only while the file there
    is a regular file with the recorded SHA-256, reached through no link (outputs.published_bytes).
    Nothing else: no unblinded report (they live in another root and are never recorded there), no
    folder listing, no file that merely carries a report's name; no log lines on stderr per request."""

    db: Path
    root: Path
    TYPES = {".html": "text/html; charset=utf-8", ".pdf": "application/pdf", ".csv": "text/csv; charset=utf-8"}

    def do_GET(self):  # noqa: N802 - the http.server naming
        body = self._body()
        if body is not None:
            self.wfile.write(body)

    def do_HEAD(self):  # noqa: N802
        self._body()

    def _body(self) -> bytes | None:
        relative = unquote(urlsplit(self.path).path).lstrip("/") or "index.html"
        try:
            if relative == "index.html":  # made now from the records: it lists exactly what is served
                data = make.index_html(self.db, self.root)
            else:
                found = {o["path"]: o["sha256"] for o in outputs.recorded(self.db) if o["kind"] != "index"}
                data = outputs.published_bytes(self.root, relative, found[relative]) if relative in found else None
        except RunbackError:  # the warehouse is busy or gone: nothing is published meanwhile
            data = None
        if data is None:
            self.send_error(404)
            return None
        self.send_response(200)
        self.send_header("Content-Type", self.TYPES.get(Path(relative).suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        return data

    def do_PUT(self):  # noqa: N802
        self.send_error(405)

    do_POST = do_DELETE = do_PATCH = do_PUT  # noqa: N815

    def log_message(self, format, *args):  # noqa: A002
        return


def publish_reports() -> str:
    """Serve the reports folder over HTTP, read-only, from this process (a thread), so that the
    report links of the Prefect UI open; RUNBACK_REPORTS_URL is set for the flow runs when it was
    not (an address another web server publishes the folder on)."""
    if settings.reports_url():
        return settings.reports_url()
    folder = settings.out_dir().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    host, port = settings.reports_address()
    handler = type("Published", (_Published,), {"db": settings.db_path().resolve(), "root": folder})
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as err:
        raise Refused(
            f"cannot publish the reports on {host}:{port}: {err.strerror}.",
            "Set RUNBACK_REPORTS_ADDRESS to a free HOST:PORT, or RUNBACK_REPORTS_URL to the web server "
            "that publishes the reports folder.",
        ) from None
    threading.Thread(target=server.serve_forever, daemon=True, name="runback-reports").start()
    url = f"http://{host}:{server.server_address[1]}"
    os.environ["RUNBACK_REPORTS_URL"] = url
    return url
