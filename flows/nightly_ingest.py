"""Flow `nightly-ingest`: new REDCap exports -> the outcome warehouse.

Reads   export files (`RUNBACK_DATA_YYYY-MM-DD_HHMM.csv`, or any raw REDCap CSV named on the
        command line) from the given files and folders (default: the inbox, `RUNBACK_INBOX`,
        after pulling tonight's export from the REDCap API when `RUNBACK_REDCAP_URL` is set),
        and the REDCap project files (default: the trial's copy in `schemas/redcap/`).
Writes  the warehouse (`RUNBACK_DB`): one transaction per export, oldest export first; Prefect
        artifacts with the run's summary. Holds the `runback-warehouse` concurrency limit, so
        no two runs that write the warehouse overlap on a Prefect server that defines it.
Run     `runback ingest [--db PATH] PATH...`, `python -m runback.flows.nightly_ingest PATH...`,
        or on its schedule through `runback serve`.

The heavy libraries (pandas, pandera, scipy) are imported inside the tasks that need them,
so that a night without a new export costs no more than the warehouse's start-up.

Each file is read, split into form rows, validated and loaded; a file that cannot be read
as a whole is refused and recorded, and the next file goes on. When the run made a new data cut,
the analysis tables and model results of the newest cut are refreshed.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from runback.flows import progress, settings
from runback.flows.errors import Refused
from runback.flows.ingest import redcap_api
from runback.flows.ingest import summary as artifacts
from runback.flows.ingest.files import EXPORT_GLOB, in_export_order, same_time_conflicts
from runback.flows.query import freshness
from runback.flows.runs import failed, flow, logger, step, tracked, warehouse_slot
from runback.flows.settings import PROJECT_DIR, db_path, inbox_dir
from runback.flows.warehouse import connect, connect_read_only, sql


@step
def find_exports(paths: list[str]) -> list[dict]:
    """The export files under `paths`, oldest export first, each as {path, scanned_in, conflict}.

    A folder is scanned for entries named like exports (whatever they are: a folder, a pipe or a
    broken link named like one is refused by the ingest, one entry at a time). Two entries of a
    scan that claim the same export time with different contents cannot be ordered: both carry
    the conflict that holds them."""
    found: dict[Path, str | None] = {}
    for p in map(Path, paths):
        if p.is_dir():
            found |= dict.fromkeys(sorted(p.glob(EXPORT_GLOB)), str(p))
        elif p.exists() or p.is_symlink():
            found[p] = None
        else:
            raise Refused(f"no such file or folder: {p}", "Name an export file or a folder of exports.")
    conflicts = same_time_conflicts(list(found))
    ordered = in_export_order(list(found))
    return [{"path": str(f), "scanned_in": found[f], "conflict": conflicts.get(f)} for f in ordered]


def _file_task_name() -> str:
    """A task run named after its file: `ingest RUNBACK_DATA_2016-03-01_0200.csv`."""
    from prefect.runtime import task_run

    return f"ingest {Path(task_run.parameters.get('path', '?')).name}"


def _night_name() -> str:
    """A flow run named after its night (site time): `nightly 2016-03-01 02:00`."""
    return f"nightly {settings.site_now():%Y-%m-%d %H:%M}"


@step(name=_file_task_name)
def ingest_export(
    path: str,
    db: str,
    project: str,
    accept_dictionary: bool = False,
    accept_deletions: bool = False,
    accept_identifiers: bool = False,
    export_time: str | None = None,
    scanned_in: str | None = None,
    conflict: str | None = None,
    settle_s: float = 0.0,
    key: str | None = None,
) -> dict:
    """Read, split, validate and load one export file (refused whole when it cannot be read)."""
    import datetime as dt

    from runback.flows.ingest.pipeline import ingest_file  # pandas, pandera: imported only when there is a file

    when = dt.datetime.fromisoformat(export_time) if export_time else None
    return ingest_file(
        path,
        db,
        project,
        accept_dictionary,
        accept_deletions,
        log=logger(),
        accept_identifiers=accept_identifiers,
        export_time=when,
        scanned_in=scanned_in,
        settle_s=settle_s,
        conflict=conflict,
        key=key,
    )


@step
def unanalysed_cut(db: str) -> int | None:
    """The newest data cut when it has not been analysed (a new one, or one a crash left behind)."""
    if not Path(db).exists():
        return None
    with connect_read_only(Path(db)) as con:
        found = con.execute(sql("analyse/unanalysed_latest_cut")).fetchone()
    return found[0] if found else None


@step
def analyse_cut(db: str, project: str, cut: int) -> dict[str, int]:
    """Refresh the analysis tables and model results of a data cut (the trial's projects only)."""
    from runback.flows.analyse.refresh import analysable, refresh_analysis  # scipy: only when there is a cut
    from runback.flows.ingest.project import load_project

    study = load_project(Path(project))
    if not analysable(study):
        logger().info("this project has no trial analysis; the warehouse holds its clean data only")
        return {}
    con = connect(Path(db))
    try:
        with progress.counted(f"analysis of data cut {cut}: models") as told:
            done = refresh_analysis(con, study, cut, told)
    finally:
        con.close()
    logger().info(
        "analysis of data cut %s refreshed: %s; models fitted %d",
        cut,
        ", ".join(f"{t} {n}" for t, n in done.written.items()),
        done.fitted,
    )
    return done.written


@step
def summarise(results: list[dict]) -> str:
    """The run's summary (logged: the CLI prints it on stdout, a tracked run shows it in its log)."""
    text = artifacts.run_text(results)
    logger().log(logging.INFO if tracked() else logging.DEBUG, "run summary:\n%s", text)
    return text


@step
def pull_from_redcap(inbox: str) -> list[str]:
    """Pull tonight's export from the REDCap API into the inbox, when the API is configured."""
    connection = redcap_api.configured()
    if connection is None:
        return []
    files = redcap_api.pull(connection, Path(inbox), settings.site_now())
    logger().info("pulled %d files from the REDCap API into %s", len(files), inbox)
    return [str(f) for f in files]


@step
def publish(results: list[dict], db: str, cut: int | None) -> str | None:
    """The run's summary: the listing of open data queries (a CSV in RUNBACK_OUT/queries/, to send
    to the sites) and, in a tracked run, Prefect artifacts: a markdown report of tonight's files,
    form rows and queries, and a table of the data queries new tonight."""
    import pandas as pd

    queries, listing = pd.DataFrame(), None
    if cut is not None:
        with connect_read_only(Path(db)) as con:
            queries = con.execute(sql("analyse/queries_of_cut"), {"cut": cut}).df()
        if len(queries):
            listing = str(artifacts.write_listing(queries, settings.out_dir() / "queries", cut))
    if tracked():
        from prefect.artifacts import create_markdown_artifact, create_table_artifact

        markdown = artifacts.run_markdown(results, cut, queries, listing)
        create_markdown_artifact(
            markdown=markdown,
            key="nightly-ingest-summary",
            description="Tonight's files, form rows, the new cut, its data queries",
        )
        create_table_artifact(
            table=artifacts.query_table(queries),
            key="nightly-ingest-quarantine",
            description="The data queries new tonight: record, event, form, field, why",
        )
    return listing


@step
def check_freshness(db: str) -> str | None:
    """Warn when the newest export seen is older than RUNBACK_MAX_AGE_HOURS (default 36 h)."""
    with connect_read_only(Path(db)) as con:
        warning = freshness.stale(con, settings.site_now(), settings.max_age_hours())
    if warning:
        logger().warning(warning)
    return warning


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
) -> list[dict]:
    """Ingest every new export under `paths` (default: pull from REDCap if configured, then the
    inbox) into the warehouse `db`, analyse the newest cut if it is not analysed yet (made now,
    or left by a run that crashed before its analysis) and publish the run's summary.
    `export_time` ('YYYY-MM-DD HH:MM', site time) names the export time of the one file given;
    `key` is the allocation key file that masks the allocation (default RUNBACK_KEY)."""
    db = db or str(db_path())
    project = project or str(PROJECT_DIR)
    with warehouse_slot():
        pulled: list[str] = []
        if not paths:
            inbox_dir().mkdir(parents=True, exist_ok=True)
            pulled = pull_from_redcap(str(inbox_dir()))
        where = paths or [str(inbox_dir())]
        entries = find_exports(where)
        if not entries:
            logger().warning("no export in %s: is the nightly export job running?", ", ".join(where))
        for e in entries:  # a file dropped in the inbox moments ago may still be being written
            e["settle_s"] = settings.settle_seconds() if not paths and e["path"] not in pulled else 0.0
        if export_time and len(entries) != 1:
            raise Refused(
                f"--export-time names the time of one file, but {len(entries)} were given.",
                "Name exactly one export file with it.",
            )
        accept = (accept_dictionary, accept_deletions, accept_identifiers)
        results = []
        with progress.stage("export files", total=len(entries)) as advance:
            for e in entries:
                results.append(
                    ingest_export(
                        e["path"], db, project, *accept, export_time, e["scanned_in"], e["conflict"], e["settle_s"], key
                    )
                )
                advance()
        cut = unanalysed_cut(db)
        if cut is not None:
            analyse_cut(db, project, cut)
    summarise(results)
    stale = None
    if Path(db).exists():
        new_cuts = [r["data_cut"] for r in results if r["status"] == "loaded" and not r.get("repeat")]
        publish(results, db, max(new_cuts) if new_cuts else None)
        stale = check_freshness(db)
    return verdict(results, stale)


def verdict(results: list[dict], stale: str | None):
    """The run's results, or a Failed state carrying them when the night is not well: an export
    was refused or held, or none was applied while the newest is overdue (the Prefect UI shows
    the run red; the CLI exits with code 3)."""
    refused = [r["file"] for r in results if r["status"] in ("refused", "held") and not r.get("repeat")]
    applied = [r for r in results if r["status"] in ("loaded", "unchanged") and not r.get("repeat")]
    problems = [f"{len(refused)} export(s) refused or held: {', '.join(refused[:5])}"] if refused else []
    if stale and not applied:
        problems.append(stale)
    return failed("; ".join(problems), results) if problems else results


if __name__ == "__main__":
    nightly_ingest(sys.argv[1:] or None)
