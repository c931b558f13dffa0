"""Flow `followup-report`: the follow-up report of one data cut, at 8 weeks or 6 months.

Reads   the warehouse's analysis of the cut (refreshing it first when the cut was never
        analysed) and, for a blinded report, the allocation key (`RUNBACK_KEY`).
Writes  one self-contained HTML file `runback_<timepoint>_cut<id>_<audience>[_unblinded].html` in
        `out_dir` (default `RUNBACK_OUT` or `out/`), optionally a PDF of it, a row in
        `meta.report_runs` (and a blinded report's new charts in `meta.report_charts`), and the
        folder's `index.html`.
Run     `runback report --timepoint month_6 [--audience open|closed] [--data-cut 3]
        [--unblinded --key FILE] [--pdf]`, or
        `prefect deployment run 'followup-report/adhoc' --param timepoint=month_6 --param audience=open`.

Two audiences (docs/blinding.md): the open report (the trial steering committee, the open session
of the data monitoring committee) pools the arms and shows no efficacy, no result by arm and no
participant listing; the closed report (the closed session) shows every section by arm.

The same cut and options always give the same bytes: no clock time, fixed ordering, stable charts.
Blinded by default: the warehouse holds blinded letters only, so a blinded report needs no key and
shows Arm A/B/C in letter order; free text naming an arm is withheld, and the finished page is
checked (no arm name or code, every listing of arms in letter order) before it is written. An
unblinded report needs the warehouse's own key and is logged as it is written.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Literal, get_args

from runback.flows.analyse import lock
from runback.flows.cuts import cuts
from runback.flows.report import blinding, kept_charts
from runback.flows.report import context as report_context
from runback.flows.report.pdf import pdf_of
from runback.flows.report.render import PUBLISHED, ReportError, environment, file_name
from runback.flows.runs import flow, logger, step, tracked, warehouse_slot
from runback.flows.settings import PROJECT_DIR, db_path, reports_url
from runback.flows.settings import out_dir as default_out_dir
from runback.flows.warehouse import connect, connect_read_only, pending_migrations, rows, sql, transaction
from runback.schemas.trial import TIMEPOINTS


# -- tasks ---------------------------------------------------------------------------------------------
@step
def resolve_cut(db: str, data_cut: int | None) -> int:
    """The cut to report on (the newest by default), with its analysis in the warehouse (and the
    warehouse brought up to date first when an older runback wrote it last)."""
    with connect_read_only(Path(db)) as con:  # one connection when the warehouse is up to date (each open ~15 ms)
        behind = pending_migrations(con)
        if not behind:
            cut, analysed = _cut_to_report(con, data_cut)
    if behind:
        connect(Path(db)).close()  # a writer migrates
        logger().info("the warehouse was brought up to date: %s", ", ".join(behind))
        with connect_read_only(Path(db)) as con:
            cut, analysed = _cut_to_report(con, data_cut)
    if not analysed:
        logger().info("data cut %s was never analysed; analysing it now", cut)
        with connect(Path(db)) as con:
            from runback.flows.analyse.refresh import refresh_analysis  # scipy: only when needed
            from runback.flows.ingest.project import load_project

            refresh_analysis(con, load_project(PROJECT_DIR), cut)
    return cut


def _cut_to_report(con, data_cut: int | None) -> tuple[int, bool]:
    """The cut asked for (the newest by default), refused when there is none, and whether it was analysed."""
    found = cuts(con)
    cut = found.chosen(data_cut)
    return cut, found.is_analysed(cut)


@step
def locked_cut(db: str, timepoint: str) -> int | None:
    """The locked analysis cut of the timepoint (`runback lock`), or None."""
    with connect_read_only(Path(db)) as con:
        found = lock.locked(con, timepoint)
    return None if found is None else found.data_cut


@step
def allocation_arms(blinded: bool, key: str | None, db: str, audience: str = "closed") -> blinding.Arms:
    """How the report shows the arms: pooled (an open report), the warehouse's letters, or
    (unblinded) the arms they stand for, through the allocation key, which must be the warehouse's own."""
    if audience == "open":
        if not blinded:
            raise ReportError(
                "an open report pools the arms, so it is never unblinded.",
                "Drop --unblinded, or ask for --audience closed.",
            )
        return blinding.arms_for(True, pooled=True)
    if blinded:
        return blinding.arms_for(True)
    if not key:
        raise ReportError("an unblinded report needs the allocation key.", "Run it as --unblinded --key FILE.")
    from runback.flows.allocation import warehouse_key  # pyarrow, for masking at intake: only when unblinding

    found = warehouse_key(Path(key), Path(db))
    logger().warning("UNBLINDED report requested with the key of fingerprint %s", found.fingerprint)
    return blinding.arms_for(False, found)


@step
def gather(db: str, cut: int, timepoint: str, arms: blinding.Arms) -> dict:
    """Every number of the report, from the warehouse, with arms as the report shows them."""
    with connect_read_only(Path(db)) as con:
        return report_context.build(con, cut, timepoint, arms)


@step
def draw(db: str, context: dict) -> tuple[dict, dict]:
    """The charts (recruitment, change from baseline per questionnaire outcome, the forest plot) as
    the page shows them, and those drawn now to keep: a blinded report shows the charts kept in
    the warehouse and draws only the others (kept_charts.py); an unblinded report draws every one
    and keeps none (they name the arms)."""
    wanted = kept_charts.wanted(context)
    kept = {}
    if context["blinded"]:
        with connect_read_only(Path(db)) as con:
            kept = kept_charts.kept(con, wanted)
    drawn = kept_charts.draw(wanted, kept)
    return kept_charts.page(wanted, kept | drawn), drawn if context["blinded"] else {}


@step
def render(context: dict, charts: dict) -> str:
    """The HTML page; a blinded page that could encode the allocation (in its text or its charts'),
    or an open page that names an arm, is refused, not written."""
    html = environment().get_template("report.html.j2").render(**context, charts=charts)
    if context["blinded"]:
        pages = [html, *_chart_texts(charts)]  # the charts' text is checked as the page's is
        problems = [p for page in pages for p in blinding.check_letter_order(page)]
        if context["audience"] == "open":
            problems += [p for page in pages for p in blinding.check_pooled(page)]
        found = [term for page in pages for term in blinding.find_revealing(page)]
        if found or problems:
            raise ReportError(
                f"the blinded report could reveal the allocation ({', '.join(found + problems)}); not written.",
                "This is a fault of runback's report: please report it.",
            )
    return html


def _chart_texts(charts: dict) -> list[str]:
    """Each chart's text as one element of a page (a chart the checks cannot read refuses the report)."""
    texts = []
    for chart in kept_charts.images(charts):
        text = kept_charts.shown_text(chart["svg"])
        if text is None:
            raise ReportError(
                "a chart of the blinded report cannot be checked (it is not whole SVG, or holds more "
                "than text and lines); not written.",
                "Its copy in meta.report_charts may have been edited: please report it.",
            )
        texts.append(f"<p>{text}</p>")
    return texts


@step
def write(
    html: str,
    folder: str,
    name: str,
    db: str,
    timepoint: str,
    cut: int,
    arms: blinding.Arms,
    audience: str = "closed",
    drawn: dict | None = None,
) -> str:
    """Log the report in meta.report_runs and write it, in one step: the row is inserted (with
    the charts `drawn` to keep, a blinded report's), the file put in place, then the row
    committed; if the row cannot be written, neither is the file, and if the commit fails the
    file is removed (an unblinded report never exists unlogged)."""
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    data = html.encode("utf-8")
    params = {
        "timepoint": timepoint,
        "cut": cut,
        "audience": audience,
        "blinded": arms.blinded,
        "file_name": name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "key_fingerprint": arms.fingerprint,
    }
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as tmp:
        tmp.write(data)
    umask = os.umask(0)
    os.umask(umask)
    Path(tmp.name).chmod(0o666 & ~umask)  # a temporary file is private; the report is a normal file
    placed = False
    try:
        con = connect(Path(db))
        try:
            with transaction(con):
                con.execute(sql("report/insert_report_run"), params)
                if drawn:
                    kept_charts.keep(con, drawn)
                Path(tmp.name).replace(path)
                placed = True
        finally:
            con.close()
    except BaseException:
        Path(tmp.name).unlink(missing_ok=True)
        if placed:
            path.unlink(missing_ok=True)
        raise
    logger().info("report written: %s", path)
    return str(path)


@step
def write_index(db: str, folder: str) -> str:
    """The folder's index.html: every report of this warehouse still in the folder (timepoint,
    cut, audience, blinded or not, when, file, PDF), newest first; made again after each report."""
    with connect_read_only(Path(db)) as con:
        runs = [
            dict(zip(("timepoint", "cut", "audience", "blinded", "rendered_at", "file"), r, strict=True))
            for r in rows(con, "report/report_index")
        ]
    seen, listed = set(), []
    for run in runs:  # the newest rendering of each file
        if run["file"] not in seen and (Path(folder) / run["file"]).exists():
            seen.add(run["file"])
            pdf = Path(run["file"]).with_suffix(".pdf").name
            listed.append(run | {"pdf": pdf if (Path(folder) / pdf).exists() else None})
    html = environment().get_template("index.html.j2").render(reports=listed)
    path = Path(folder) / "index.html"
    tmp = path.with_name(".index.html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return str(path)


@step
def print_pdf(html_path: str) -> str:
    """A PDF of the report, printed by headless Chromium."""
    pdf = pdf_of(Path(html_path))
    logger().info("PDF written: %s", pdf)
    return str(pdf)


Timepoint = Literal["week_8", "month_6"]
"""The follow-up timepoints (schemas/trial.py's TIMEPOINTS): a dropdown in the Prefect UI."""
Audience = Literal["open", "closed"]
"""Who the report is for: open (pooled over the arms) or closed (by arm): a dropdown in the Prefect UI."""


def _report_name() -> str:
    """A flow run named after what it renders: `report month_6 closed cut 9` (`latest` without a cut)."""
    from prefect.runtime import flow_run

    parameters = flow_run.parameters
    audience = parameters.get("audience", "closed")
    return f"report {parameters.get('timepoint', '?')} {audience} cut {parameters.get('data_cut') or 'latest'}"


@flow(name="followup-report", flow_run_name=_report_name)
def followup_report(
    timepoint: Timepoint = "month_6",
    audience: Audience = "closed",
    data_cut: int | None = None,
    blinded: bool = True,
    key: str | None = None,
    out_dir: str | None = None,
    pdf: bool = False,
    db: str | None = None,
) -> str:
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
    """
    if timepoint not in TIMEPOINTS:
        raise ReportError(f"timepoint must be one of {', '.join(TIMEPOINTS)}, not {timepoint!r}")
    if audience not in get_args(Audience):
        raise ReportError(f"audience must be one of {', '.join(get_args(Audience))}, not {audience!r}")
    db = db or str(db_path())
    with warehouse_slot():
        cut = resolve_cut(db, data_cut if data_cut is not None else locked_cut(db, timepoint))
        arms = allocation_arms(blinded, key, db, audience)
        context = gather(db, cut, timepoint, arms)
        shown, drawn = draw(db, context)
        html = render(context, shown)
        folder = out_dir or str(default_out_dir())
        path = write(
            html, folder, file_name(timepoint, cut, blinded, audience), db, timepoint, cut, arms, audience, drawn
        )
    printed = [print_pdf(path)] if pdf else []
    write_index(db, folder)
    publish_link([path, *printed])
    return path


@step
def publish_link(paths: list[str]) -> None:
    """A link artifact to each file of the report (HTML, and PDF when printed): through
    RUNBACK_REPORTS_URL (set by `runback serve`, which publishes the reports folder), so that the
    link opens from the Prefect UI; a file:// link when no web server publishes the file (none is
    set, the report was written elsewhere, or it is unblinded: never one click away)."""
    if not tracked():
        return
    from prefect.artifacts import create_link_artifact

    base, folder = reports_url(), default_out_dir().resolve()
    for path in map(Path, paths):
        published = path.resolve().parent == folder and PUBLISHED.fullmatch(path.name)  # not an unblinded one
        link = f"{base}/{path.name}" if base and published else path.resolve().as_uri()
        key = "followup-report-pdf" if path.suffix == ".pdf" else "followup-report"
        create_link_artifact(
            link=link, link_text=path.name, key=key, description="The follow-up report rendered by this run"
        )


if __name__ == "__main__":
    followup_report()
