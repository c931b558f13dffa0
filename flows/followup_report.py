"""Flow `followup-report`: the follow-up report of one data cut, at 8 weeks or 6 months.

Reads   the warehouse's analysis of the cut (refreshing it first when the cut was never
        analysed) and, for an unblinded report, the allocation key.
Writes  one self-contained HTML file `runback_<timepoint>_cut<id>_<audience>[_unblinded].html` in
        `out_dir` (default `RUNBACK_OUT` or `out/`), optionally a PDF of it, a row in
        `meta.report_runs` (and a blinded report's new charts in `meta.report_charts`), the
        folder's `index.html`, and a link artifact to each file.
Run     `prefect deployment run 'followup-report/adhoc' --param timepoint=month_6 --param audience=open`,
        or `runback report --timepoint month_6 [--audience open|closed] [--data-cut 3]
        [--unblinded --key FILE] [--pdf] [--dmc-reason TEXT]` with PREFECT_API_URL set (without it, the CLI makes the
        same report in its own process: flows/report/make.py).

Two audiences (docs/blinding.md): the open report (the trial steering committee, the open session
of the data monitoring committee) pools the arms and shows no efficacy, no result by arm and no
participant listing; the closed report (the closed session) shows every section by arm. The same
cut and options always give the same bytes. Blinded by default; an unblinded report needs the
warehouse's own key and is logged as it is written.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Completed, State

from runback.flows import settings
from runback.flows.report import make
from runback.flows.runs import run_name, warehouse_slot
from runback.schemas.trial import Audience, Timepoint


@task(cache_policy=NO_CACHE)
def make_report(request: make.Request) -> State:  # data: the files written
    """The report asked for: its HTML file (logged and written in one step), its PDF when asked,
    and the folder's index."""
    paths = make.make(request, get_run_logger())
    return Completed(data=paths, message=", ".join(p.name for p in paths))


@task(cache_policy=NO_CACHE)
def publish_links(paths: list[Path]) -> State:
    """A link artifact to each file of the report (HTML, and PDF when printed): through
    RUNBACK_REPORTS_URL (set by `runback serve`, which publishes the reports folder), so that the
    link opens from the Prefect UI; a file:// link when no web server publishes the file (none is
    set, the report was written elsewhere, or it is unblinded: its root is never published)."""
    base, folder = settings.reports_url(), settings.out_dir().resolve()
    for path in paths:
        published = path.resolve().parent == folder  # the blinded root: an unblinded report lives elsewhere
        link = f"{base}/{path.name}" if base and published else path.resolve().as_uri()
        key = settings.artifact_key("followup-report-pdf" if path.suffix == ".pdf" else "followup-report")
        create_link_artifact(
            link=link, link_text=path.name, key=key, description="The follow-up report rendered by this run"
        )
    return Completed(message=f"{len(paths)} link(s) to {base or 'this machine (file://)'}")


def _report_name() -> str:
    """A flow run named after what it renders: `report cai2017 month_6 closed cut 9` (`latest` without a cut)."""
    p = flow_run.parameters
    what = [p.get("trial"), p.get("timepoint", "month_6"), p.get("audience", "closed")]
    return run_name(" ".join(["report", *filter(None, what), "cut", str(p.get("data_cut") or "latest")]))


@flow(name="followup-report", flow_run_name=_report_name)
def followup_report(
    timepoint: Timepoint = Timepoint.month_6,
    audience: Audience = Audience.closed,
    data_cut: int | None = None,
    blinded: bool = True,
    key: str | None = None,
    out_dir: str | None = None,
    pdf: bool = False,
    db: str | None = None,
    trial: str | None = None,
    dmc_reason: str | None = None,
) -> Path:
    """Render the follow-up report of a data cut at week_8 or month_6 (default: the timepoint's
    locked cut, `runback lock`, else the newest).

    Args:
        timepoint: week_8 (baseline to week 8) or month_6 (all five assessments).
        audience: closed (by arm: blinded letters, or arm names with the key; for the closed
            session of the data monitoring committee) or open (pooled over the arms, no efficacy
            or safety by arm, no participant listing; for the steering committee).
        data_cut: The data cut to report on; empty for the timepoint's locked cut, else the newest.
        blinded: Show arms as Arm A/B/C (unticked needs the allocation key).
        key: The warehouse's allocation key file, for an unblinded report only.
        out_dir: Folder for the report; empty for RUNBACK_OUT.
        pdf: Also print the report to PDF with headless Chromium.
        db: The warehouse file; empty for RUNBACK_DB.
        trial: The trial whose settings the run takes (its trial file, docs/trials.md).
        dmc_reason: Why the data monitoring committee asks between-arm p-values at a cut that
            is not a planned look (recorded with the report and shown in it); empty otherwise.
    """
    request = make.Request(str(timepoint), str(audience), data_cut, blinded, key, out_dir, pdf, db, dmc_reason)
    with settings.use_trial(trial):
        with warehouse_slot():
            paths = make_report(request).result()
        publish_links(paths)
    return Completed(data=paths[0], message=f"wrote {paths[0].name}")


if __name__ == "__main__":
    followup_report()
