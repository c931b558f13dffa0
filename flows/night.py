"""A night of ingest, step by step, without Prefect.

The `nightly-ingest` flow (flows/nightly_ingest.py) runs these steps as Prefect tasks on a
Prefect server; `run` runs the same steps in order in this process, for a one-off command
without a server (`runback ingest`, `runback demo`), where starting Prefect would cost more
than the work (docs/architecture.md, "Flows").

1. `pull`: tonight's export from the REDCap API into the inbox, when the API is configured.
2. `find`: the export files named, or those in the inbox, oldest export first.
3. `pipeline.ingest_file`, per file: loaded, unchanged, older, refused, held or waiting.
4. `analyse`: every data cut not analysed yet (tonight's, or one a lost run left).
5. `listings`: the open data queries of every analysed cut without its listing, as a CSV for the
   sites (recorded in `meta.cut_outputs`, so a run lost before it wrote one leaves it to the next).
6. `freshness`: a warning when the newest export seen is overdue.

A `Night` holds what came of it, and says whether the night is well.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from runback.flows import outputs, progress, settings
from runback.flows.cuts import cuts
from runback.flows.errors import Refused
from runback.flows.ingest import redcap_api
from runback.flows.ingest import summary as run_summary
from runback.flows.ingest.files import Entry, find_exports
from runback.flows.ingest.load import LoadResult
from runback.flows.ingest.pipeline import Log, Options, ingest_file
from runback.flows.query import freshness as overdue
from runback.flows.warehouse import connect, connect_read_only, rows, sql
from runback.schemas.file_status import FileStatus


@dataclass
class Night:
    """What a night did: every file's result (tonight's and those seen before), the new data cut
    and its listing of open data queries, and the freshness warning, if any."""

    results: list[LoadResult]
    cut: int | None = None
    listing: Path | None = None
    stale: str | None = None
    scanned: bool = True  # a folder was scanned (the inbox: a scheduled night), not only files named by a person

    @property
    def tonight(self) -> list[LoadResult]:
        return run_summary.tonight(self.results)

    @property
    def problems(self) -> list[str]:
        """Why the night is not well (empty when it is): an export refused or held, or, on a
        scheduled night, none applied nor settling while the newest is overdue."""
        named_or_new = self.tonight if self.scanned else self.results  # a file named is read again, whatever it was
        held = [r.file for r in named_or_new if r.status.needs_a_person]
        found = [f"{len(held)} export(s) refused or held: {', '.join(held[:5])}"] if held else []
        arrived = any(r.status.applied or r.status is FileStatus.WAITING for r in self.tonight)
        if self.stale and self.scanned and not arrived:
            found.append(self.stale)
        return found

    @property
    def partly(self) -> bool:
        """Some of tonight's files were applied and some need a person."""
        return any(r.status.applied for r in self.tonight) and any(r.status.needs_a_person for r in self.tonight)

    @property
    def headline(self) -> str:
        """The night in one line: how many of tonight's files ended how, and the new data cut."""
        counts = Counter(str(r.status) for r in self.tonight)
        files = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no new export"
        return files + (f"; data cut {self.cut}" if self.cut else "")

    @property
    def text(self) -> str:
        """The night on one screen (what the CLI prints and the flow logs)."""
        return run_summary.run_text(self.results)


class NightNotWell(Refused):
    """A night that needs a person: the reason, and the night itself (for its summary)."""

    def __init__(self, night: Night):
        self.night = night
        super().__init__("; ".join(night.problems), "See the run's summary: each file says why.")

    def __reduce__(self):  # pickled as it was made (Prefect pickles a failed run's exception)
        return type(self), (self.night,)


class FileNotApplied(Refused):
    """A file that was refused or held tonight (recorded with its reason)."""

    def __init__(self, result: LoadResult):
        self.result = result
        super().__init__(f"{result.file} {result.status}: {result.message}")

    def __reduce__(self):
        return type(self), (self.result,)


def pull(inbox: Path, log: Log) -> list[Path]:
    """Tonight's export from the REDCap API, into the inbox (nothing when the API is not configured)."""
    connection = redcap_api.configured()
    if connection is None:
        return []
    files = redcap_api.pull(connection, inbox, settings.site_now())
    log.info("pulled %d files from the REDCap API into %s", len(files), inbox)
    return files


def find(paths: list[Path] | None, pulled: list[Path], log: Log) -> list[Entry]:
    """The files to ingest: those named, or the inbox's, oldest export first. A file dropped in
    the inbox moments ago may still be being written: it must have settled before it is read
    (the files runback pulled itself were written whole)."""
    if not paths:
        settings.inbox_dir().mkdir(parents=True, exist_ok=True)
    where = paths or [settings.inbox_dir()]
    entries = find_exports(where, 0.0 if paths else settings.settle_seconds())
    if not entries:
        log.warning("no export in %s: is the nightly export job running?", ", ".join(map(str, where)))
    return [replace(e, settle_s=0.0) if e.path in pulled else e for e in entries]


def check_export_time(entries: list[Entry], options: Options) -> None:
    """An export time from the command line names the time of one file."""
    if options.export_time is not None and len(entries) != 1:
        raise Refused(
            f"--export-time names the time of one file, but {len(entries)} were given.",
            "Name exactly one export file with it.",
        )


def analyse(db: Path, project: Path, log: Log) -> list[int]:
    """Refresh the analysis tables and model results of every data cut not analysed yet, oldest
    first (tonight's, and any a run lost before its analysis left), for the trial's projects
    only; the cuts analysed."""
    if not db.exists():
        return []
    with connect_read_only(db) as con:
        unanalysed = cuts(con).unanalysed
    if not unanalysed:
        return []
    from runback.flows.analyse.refresh import analysable, refresh_analysis  # scipy: only when there is a cut
    from runback.flows.ingest.project import load_project

    study = load_project(project)
    if not analysable(study):
        log.info("this project has no trial analysis; the warehouse holds its clean data only")
        return []
    for cut in unanalysed:
        with connect(db) as con, progress.counted(f"analysis of data cut {cut}: models") as told:
            done = refresh_analysis(con, study, cut, told)
        log.info("analysis of data cut %s: %s", cut, ", ".join(f"{t} {n}" for t, n in done.written.items()))
    return list(unanalysed)


def new_cut(results: list[LoadResult]) -> int | None:
    """The newest data cut made tonight."""
    return max((r.data_cut for r in run_summary.tonight(results) if r.data_cut is not None), default=None)


def unpublished(db: Path, what: str) -> list[int]:
    """The analysed cuts that have not published `what` (`listing`, `artifacts`) yet, oldest first."""
    if not db.exists():
        return []
    with connect_read_only(db) as con:
        return [c for (c,) in rows(con, "analyse/unpublished_cuts", {"what": what})]


def queries(db: Path, cut: int | None):
    """The data queries of a cut (a pandas frame; empty without a cut)."""
    import pandas as pd

    if cut is None or not db.exists():
        return pd.DataFrame()
    with connect_read_only(db) as con:
        return con.execute(sql("analyse/queries_of_cut"), {"cut": cut}).df()


def listings(db: Path) -> dict[int, Path | None]:
    """The listing of open data queries of every analysed cut that has none yet (a CSV in the
    blinded root's queries/, for the sites; None for a cut without open queries), each written
    with its records (outputs.py) or recorded as done."""
    done = {}
    for cut in unpublished(db, "listing"):
        found = queries(db, cut)
        if not len(found):
            record(db, cut, "listing")
            done[cut] = None
            continue
        data, where = run_summary.listing_csv(found), run_summary.listing_path(cut)
        published = functools.partial(_published, cut=cut, what="listing")
        done[cut] = outputs.write_blinded(db, settings.out_dir(), where, data, "listing", cut, also=published)
    return done


def record(db: Path, cut: int, what: str) -> None:
    """Record that a cut published `what` (its listing, its artifacts)."""
    with connect(db) as con:
        _published(con, cut, what)


def _published(con, cut: int, what: str) -> None:
    con.execute(sql("analyse/record_cut_output"), {"cut": cut, "what": what})


def settling(results: list[LoadResult]) -> bool:
    """Whether one of tonight's files is still settling: an export arrived, the next run loads it."""
    return any(r.status is FileStatus.WAITING for r in run_summary.tonight(results))


def freshness(db: Path, log: Log, settling: bool = False) -> str | None:
    """A warning when the newest export seen is older than RUNBACK_MAX_AGE_HOURS (default 36 h),
    unless an export is `settling` (it has arrived)."""
    if settling or not db.exists():
        return None
    with connect_read_only(db) as con:
        warning = overdue.stale(con, settings.site_now(), settings.max_age_hours())
    if warning:
        log.warning(warning)
    return warning


def scanned(paths: list[Path] | None) -> bool:
    """Whether a run scans a folder (the inbox, or a folder named), rather than only files named."""
    return not paths or any(Path(p).is_dir() for p in paths)


def run(paths: list[Path] | None, db: Path, project: Path, options: Options = Options()) -> Night:
    """The night's steps in order, in this process (a one-off command without a Prefect server)."""
    log = logging.getLogger("runback")
    pulled = [] if paths else pull(settings.inbox_dir(), log)
    entries = find(paths, pulled, log)
    check_export_time(entries, options)
    results = []
    with progress.stage("export files", total=len(entries)) as advance:
        for entry in entries:
            results.append(ingest_file(entry, db, project, options, log))
            advance()
    analyse(db, project, log)
    cut = new_cut(results)
    night = Night(results, cut, listings(db).get(cut), freshness(db, log, settling(results)), scanned=scanned(paths))
    log.debug("run summary:\n%s", night.text)
    return night
