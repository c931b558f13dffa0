"""Making the follow-up report of a data cut, step by step, without Prefect: the `followup-report`
flow (flows/followup_report.py) runs `make` as its task, and a one-off `runback report` without a
Prefect server calls it in its own process.

`make` resolves the cut (the timepoint's locked cut, else the newest; analysed first when it never
was), the arms as the report shows them, every number of the report, the charts and the page; a
blinded page that could encode the allocation is refused; the page is logged in
`meta.report_runs` and written in one step; then its PDF and the folder's index.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path

from runback.flows import outputs
from runback.flows.analyse import lock
from runback.flows.cuts import cuts
from runback.flows.report import blinding, kept_charts
from runback.flows.report import context as report_context
from runback.flows.report.pdf import pdf_of
from runback.flows.report.render import ReportError, environment, file_name
from runback.flows.settings import db_path, project_dir
from runback.flows.settings import out_dir as default_out_dir
from runback.flows.warehouse import connect, connect_read_only, pending_migrations, sql
from runback.schemas.trial import AUDIENCES, TIMEPOINT_LABELS, TIMEPOINTS

Log = logging.Logger | logging.LoggerAdapter
REASON_MAX = 500
"""The longest reason of the data monitoring committee a report takes (shown in its title and notes)."""
_DATA_URI = re.compile(r"data:image/svg\+xml;base64,[A-Za-z0-9+/=]*")


@dataclass(frozen=True)
class Request:
    """What report is asked for (the flow's parameters)."""

    timepoint: str = "month_6"
    audience: str = "closed"
    data_cut: int | None = None
    blinded: bool = True
    key: str | None = None
    out_dir: str | None = None
    pdf: bool = False
    db: str | None = None
    dmc_reason: str | None = None

    def check(self) -> None:
        """A timepoint or audience that is not one of the trial's is refused, and so is a blank
        reason of the data monitoring committee, or one longer than `REASON_MAX`."""
        if self.dmc_reason is not None and not self.dmc_reason.strip():
            raise ReportError("the data monitoring committee's reason is blank.", "Give it as --dmc-reason TEXT.")
        if self.dmc_reason is not None and len(self.dmc_reason.strip()) > REASON_MAX:
            raise ReportError(
                f"the data monitoring committee's reason is longer than {REASON_MAX} characters.",
                "Give it in a sentence; the committee's minutes hold the rest.",
            )
        if self.timepoint not in TIMEPOINTS:
            raise ReportError(f"timepoint must be one of {', '.join(TIMEPOINTS)}, not {self.timepoint!r}")
        if self.audience not in AUDIENCES:
            raise ReportError(f"audience must be one of {', '.join(AUDIENCES)}, not {self.audience!r}")


def make(request: Request, log: Log = logging.getLogger("runback")) -> list[Path]:
    """The report asked for, written: its HTML file, and its PDF when asked."""
    request.check()
    db = request.db or str(db_path())
    cut = request.data_cut if request.data_cut is not None else locked_cut(db, request.timepoint)
    cut = resolve_cut(db, cut, log)
    arms = allocation_arms(request.blinded, request.key, db, request.audience, log)
    reason = request.dmc_reason.strip() if request.dmc_reason else None
    context = gather(db, cut, request.timepoint, arms, reason)
    check_lock(context, request.timepoint, cut)
    shown, drawn = draw(db, context)
    html = render(context, shown)
    folder = request.out_dir or str(default_out_dir())
    name = file_name(request.timepoint, cut, request.blinded, request.audience)
    path = write(html, Path(folder) / name, db, (request.timepoint, cut, request.audience), arms, drawn, log, reason)
    printed = [print_pdf(path, db, cut, request.blinded, log)] if request.pdf else []
    write_index(db, folder)
    return [Path(path), *map(Path, printed)]


def resolve_cut(db: str, data_cut: int | None, log: Log) -> int:
    """The cut to report on (the newest by default), with its analysis in the warehouse (and the
    warehouse brought up to date first when an older runback wrote it last)."""
    with connect_read_only(Path(db)) as con:  # one connection when the warehouse is up to date (each open ~15 ms)
        behind = pending_migrations(con)
        if not behind:
            cut, analysed = _cut_to_report(con, data_cut)
    if behind:
        connect(Path(db)).close()  # a writer migrates
        log.info("the warehouse was brought up to date: %s", ", ".join(behind))
        with connect_read_only(Path(db)) as con:
            cut, analysed = _cut_to_report(con, data_cut)
    if not analysed:
        log.info("data cut %s was never analysed; analysing it now", cut)
        with connect(Path(db)) as con:
            from runback.flows.analyse.refresh import refresh_analysis  # scipy: only when needed
            from runback.flows.ingest.project import load_project

            refresh_analysis(con, load_project(project_dir()), cut)
    return cut


def _cut_to_report(con, data_cut: int | None) -> tuple[int, bool]:
    """The cut asked for (the newest by default), refused when there is none, and whether it was analysed."""
    found = cuts(con)
    cut = found.chosen(data_cut)
    return cut, found.is_analysed(cut)


def check_lock(context: dict, timepoint: str, cut: int) -> None:
    """A report of a locked cut whose analysis input no longer matches the content locked is not a
    final analysis, and no report says it is: refused."""
    found = context["lock"]
    if found and found["this_cut"] and not found["verified"]:
        raise ReportError(
            f"{timepoint} is locked at data cut {cut}, but the cut's analysis input no longer matches the "
            f"content locked (SHA-256 {found['content_hash'][:12]}…); no report written.",
            "The warehouse changed after the lock: see `runback check`, and restore the warehouse taken at the lock.",
        )


def locked_cut(db: str, timepoint: str) -> int | None:
    """The locked analysis cut of the timepoint (`runback lock`), or None."""
    with connect_read_only(Path(db)) as con:
        found = lock.locked(con, timepoint)
    return None if found is None else found.data_cut


def allocation_arms(blinded: bool, key: str | None, db: str, audience: str, log: Log) -> blinding.Arms:
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
    log.warning("UNBLINDED report requested with the key of fingerprint %s", found.fingerprint)
    return blinding.arms_for(False, found)


def gather(db: str, cut: int, timepoint: str, arms: blinding.Arms, dmc_reason: str | None = None) -> dict:
    """Every number of the report, from the warehouse, with arms as the report shows them."""
    with connect_read_only(Path(db)) as con:
        return report_context.build(con, cut, timepoint, arms, dmc_reason)


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


def render(context: dict, charts: dict) -> str:
    """The HTML page; a blinded page that could encode the allocation (in its text or its charts'),
    or an open page that names an arm, is refused, not written."""
    html = environment().get_template("report.html.j2").render(**context, charts=charts)
    if context["blinded"]:
        text = _DATA_URI.sub("", html)  # the charts are read through their own text, not their base64
        pages = [text, *_chart_texts(charts)]  # the charts' text is checked as the page's is
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
    """Each chart's text (what it shows and carries, kept_charts.checked) as one element of a page."""
    return [f"<p>{escape(chart['text'])}</p>" for chart in kept_charts.images(charts)]


def write(
    html: str,
    path: Path,
    db: str,
    what: tuple[str, int, str],
    arms: blinding.Arms,
    drawn: dict,
    log: Log,
    dmc_reason: str | None = None,
) -> str:
    """Log the report in meta.report_runs and write it. A blinded report goes to the blinded root
    in one step with its records (its row, its new charts, its `meta.outputs` row): if the rows
    cannot be written, neither is the file. An unblinded report goes to the unblinded root
    (outputs.py): its row is committed first, then it is written to a private file there, so it
    never exists unlogged nor readable by others, and a failure leaves no partial file. The row
    holds the reason the data monitoring committee gave for p-values at an unplanned cut, if any."""
    timepoint, cut, audience = what
    data = html.encode("utf-8")
    params = {
        "timepoint": timepoint,
        "cut": cut,
        "audience": audience,
        "blinded": arms.blinded,
        "file_name": path.name,
        "sha256": outputs.sha256(data),
        "key_fingerprint": arms.fingerprint,
        "dmc_reason": dmc_reason,
    }
    if arms.blinded:

        def logged(con) -> None:
            con.execute(sql("report/insert_report_run"), params)
            if drawn:
                kept_charts.keep(con, drawn)

        written = outputs.write_blinded(Path(db), path.parent, path.name, data, "report", cut, also=logged)
    else:
        written = outputs.private_root(path.parent) / path.name
        with connect(Path(db)) as con:
            con.execute(sql("report/insert_report_run"), params)
        with outputs.placed(written, data, outputs.PRIVATE_FILE):
            pass
    log.info("report written: %s", written)
    return str(written)


def write_index(db: str, folder: str) -> str:
    """The blinded root's index.html (index_html), made again after each report."""
    html = index_html(Path(db), Path(folder))
    return str(outputs.write_blinded(Path(db), Path(folder), "index.html", html, "index", None))


def index_html(db: Path, root: Path) -> bytes:
    """The index of a blinded root: every report, PDF and data-query listing recorded there whose
    file is as recorded (exactly what `runback serve` publishes), newest first."""
    listed = outputs.published(db, root)
    pdfs = {o["path"] for o in listed if o["kind"] == "pdf"}
    reports = [o | {"pdf": p if (p := str(Path(o["path"]).with_suffix(".pdf"))) in pdfs else None} for o in listed]
    page = environment().get_template("index.html.j2")
    listings = [o for o in listed if o["kind"] == "listing"]
    html = page.render(
        reports=[r for r in reports if r["kind"] == "report"], listings=listings, timepoints=TIMEPOINT_LABELS
    )
    return html.encode("utf-8")


def print_pdf(html_path: str, db: str, cut: int, blinded: bool, log: Log) -> str:
    """A PDF of the report, printed by headless Chromium beside it (recorded with the blinded
    outputs when blinded, private like its page when not)."""
    pdf = pdf_of(Path(html_path))
    if blinded:
        outputs.record(Path(db), pdf.parent, pdf.name, "pdf", cut)
    else:
        pdf.chmod(outputs.PRIVATE_FILE)
    log.info("PDF written: %s", pdf)
    return str(pdf)
