"""Flow `nightly-ingest`: new REDCap exports -> the outcome warehouse.

Reads   export files (`RUNBACK_DATA_YYYY-MM-DD_HHMM.csv`, or any raw REDCap CSV named) from the
        given files and folders (default: the inbox, `RUNBACK_INBOX`, after pulling tonight's
        export from the REDCap API when `RUNBACK_REDCAP_URL` is set), and the REDCap project
        files (default: the trial's copy in `schemas/redcap/`).
Writes  the warehouse (`RUNBACK_DB`): one transaction per export, oldest export first; the
        listing of open data queries; Prefect artifacts with the run's summary. Holds the
        warehouse's concurrency slot, so no two runs that write it overlap.
Run     on its schedule (`runback serve`, or a work pool with prefect.yaml), or
        `runback ingest [--db PATH] PATH...` with PREFECT_API_URL set (without it, the CLI runs
        the same steps in its own process: flows/night.py).

Every step is a task whose state's message says what it did (the log reads `Finished in state
Completed('loaded: 412 rows, data cut 3')`, never a bare state); its value is the state's result.
Each export file is a task named after it: loaded, unchanged or older it ends Completed; refused
or held it ends Failed with its reason, and the next file goes on. A night that needs a person (a
file refused or held, or nothing applied while the newest export is overdue) ends Failed, with
the reason as the run's state message, after its summary is published.
"""

from __future__ import annotations

import sys
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Completed, State

from runback.flows import night, settings
from runback.flows.ingest import summary
from runback.flows.ingest.files import Entry
from runback.flows.ingest.load import LoadResult
from runback.flows.ingest.pipeline import Options, ingest_file
from runback.flows.night import FileNotApplied, Night, NightNotWell
from runback.flows.runs import run_name, warehouse_slot


def _said(value, message: str) -> State:
    """A step's result with what it did as its state's message: the run's log and graph say it
    (`Finished in state Completed('3 export files')`), never a bare state."""
    return Completed(data=value, message=message)


@task(cache_policy=NO_CACHE)
def pull_from_redcap() -> State:  # data: the files pulled
    """Pull tonight's export from the REDCap API into the inbox, when the API is configured."""
    pulled = night.pull(settings.inbox_dir(), get_run_logger())
    return _said(pulled, f"{len(pulled)} file(s) pulled from the REDCap API")


@task(cache_policy=NO_CACHE)
def find_exports(paths: list[Path] | None, pulled: list[Path]) -> State:  # data: list[Entry]
    """The files to ingest, oldest export first: those named, or the inbox's."""
    found = night.find(paths, pulled, get_run_logger())
    return _said(found, f"{len(found)} export file(s)")


@task(cache_policy=NO_CACHE, task_run_name="ingest {entry.path.name}")
def ingest_export(entry: Entry, db: Path, project: Path, options: Options) -> State:  # data: LoadResult
    """Read, split, validate and load one export file; Failed when it is refused or held tonight."""
    result = ingest_file(entry, db, project, options, get_run_logger())
    if result.status.needs_a_person and not result.repeat:
        raise FileNotApplied(result)
    done = f"{result.status}: {result.rows or 0} rows" if result.status.applied else f"{result.status}"
    return _said(result, done + (f", data cut {result.data_cut}" if result.data_cut else ""))


@task(cache_policy=NO_CACHE)
def analyse_cuts(db: Path, project: Path) -> State:  # data: the cuts analysed
    """Refresh the analysis of every data cut not analysed yet (tonight's, or one a lost run left)."""
    done = night.analyse(db, project, get_run_logger())
    return _said(done, f"analysed data cut(s) {', '.join(map(str, done))}" if done else "no cut left to analyse")


@task(cache_policy=NO_CACHE)
def publish(results: list[LoadResult], db: Path) -> State:  # data: the listing of tonight's cut, or None
    """The listing of open data queries of every analysed cut without one (a CSV for the sites),
    the artifacts of every analysed cut without them (a table of its new data queries), and the
    run's summary artifact: tonight's files, form rows and queries. The listing of tonight's cut."""
    listings = night.listings(db)
    for cut in night.unpublished(db, "artifacts"):
        create_table_artifact(
            table=summary.query_table(night.queries(db, cut)),
            key=settings.artifact_key(f"data-queries-cut-{cut}"),
            description=f"The data queries new at data cut {cut}: record, event, form, field, why",
        )
        night.record(db, cut, "artifacts")
    cut = night.new_cut(results)
    listing = listings.get(cut)
    if listing is not None:  # through the reports' web server when one publishes the blinded root
        base = settings.reports_url()
        create_link_artifact(
            link=f"{base}/{summary.listing_path(cut)}" if base else listing.resolve().as_uri(),
            link_text=listing.name,
            key=settings.artifact_key("data-queries-listing"),
            description=f"The open data queries of data cut {cut}, to send to the sites",
        )
    create_markdown_artifact(
        markdown=summary.run_markdown(results, cut, night.queries(db, cut), str(listing) if listing else None),
        key=settings.artifact_key("nightly-ingest-summary"),
        description="Tonight's files, form rows, the new cut, its data queries",
    )
    return _said(listing, f"published data cut {cut}" if cut else "no new data cut: the summary only")


@task(cache_policy=NO_CACHE)
def check_freshness(db: Path, settling: bool) -> State:  # data: the warning, or None
    """Warn when the newest export seen is older than RUNBACK_MAX_AGE_HOURS (default 36 h), unless
    an export is `settling` (it arrived; the next run loads it)."""
    stale = night.freshness(db, get_run_logger(), settling)
    return _said(stale, stale or "the newest export is fresh")


def _night_name() -> str:
    """A flow run named after its trial and night, in the trial's time zone: `nightly cai2017
    2016-03-01 02:00 +08` (its scheduled time: known when the run is created)."""
    trial = flow_run.parameters.get("trial")
    with settings.use_trial(trial):
        when = settings.site_time(flow_run.scheduled_start_time)
        return run_name(" ".join(["nightly", *([trial] if trial else []), when]))


@flow(name="nightly-ingest", flow_run_name=_night_name)
def nightly_ingest(
    paths: list[str] | None = None,
    db: str | None = None,
    project: str | None = None,
    accept_dictionary: bool = False,
    accept_deletions: bool = False,
    accept_identifiers: bool = False,
    export_time: str | None = None,
    key: str | None = None,
    trial: str | None = None,
) -> Night:
    """Ingest every new export under `paths` (default: pull from REDCap if configured, then the
    inbox) into the warehouse `db`, analyse the newest cut if it is not analysed yet and publish
    the run's summary. `export_time` ('YYYY-MM-DD HH:MM', site time) names the export time of the
    one file given; `key` is the allocation key file that masks the allocation (default RUNBACK_KEY).
    `trial` names the trial file whose settings the run takes (docs/trials.md)."""
    with settings.use_trial(trial):
        where = [Path(p) for p in paths] if paths else None
        warehouse = Path(db) if db else settings.db_path()
        folder = Path(project) if project else settings.project_dir()
        options = Options.of(
            accept_dictionary=accept_dictionary,
            accept_deletions=accept_deletions,
            accept_identifiers=accept_identifiers,
            export_time=export_time,
            key=key,
        )
        with warehouse_slot():
            entries = find_exports(where, [] if where else pull_from_redcap().result()).result()
            night.check_export_time(entries, options)
            results = [_result(ingest_export(e, warehouse, folder, options, return_state=True)) for e in entries]
            analyse_cuts(warehouse, folder).result()
            listing = publish(results, warehouse).result()
            stale = check_freshness(warehouse, night.settling(results)).result()
            done = Night(results, night.new_cut(results), listing, stale, scanned=night.scanned(where))
        get_run_logger().info("run summary:\n%s", done.text)
    if done.problems:
        raise NightNotWell(done)
    return _said(done, done.headline)


def _result(state: State) -> LoadResult:
    """A file task's result: what it loaded, or the file refused or held (any other fault raises)."""
    value = state.result(raise_on_failure=False)
    if isinstance(value, FileNotApplied):
        return value.result
    if isinstance(value, BaseException):
        raise value
    return value


if __name__ == "__main__":
    nightly_ingest(sys.argv[1:] or None)
