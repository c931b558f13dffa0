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

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import EntrypointType
from prefect.schedules import Cron, Interval

from runback.flows import published, settings
from runback.flows.errors import Refused
from runback.flows.followup_report import followup_report
from runback.flows.nightly_ingest import nightly_ingest
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
    publish_reports(trial)
    os.environ["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] = str(HEARTBEAT_S)  # the served runs' (no job variables)
    serve(*deployments(cron, timezone, interval_s, trial), pause_on_shutdown=False, limit=1)


def publish_reports(trial: str | None = None) -> str:
    """Publish the reports folder (the trial's, under `/<trial>/`) from a thread of this process, so
    that the report links of the Prefect UI open; RUNBACK_REPORTS_URL is set for the flow runs when
    it was not (the address of another web server publishing the folder, e.g. `runback publish`)."""
    if not os.environ.get("RUNBACK_REPORTS_URL", "").strip():
        os.environ["RUNBACK_REPORTS_URL"] = published.in_thread(
            published.sites(trial) if trial else {"": published.site()}
        )
    return os.environ["RUNBACK_REPORTS_URL"].strip().rstrip("/")
