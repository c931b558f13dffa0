"""Flow `nightly-ingest`: new REDCap exports -> the outcome warehouse.

Reads   export files (`RUNBACK_DATA_YYYY-MM-DD_HHMM.csv`, or any raw REDCap CSV named on the
        command line) from the given files and folders (default: the inbox, `RUNBACK_INBOX`),
        and the REDCap project files (default: the trial's copy in `schemas/redcap/`).
Writes  the warehouse (`RUNBACK_DB`): one transaction per export, oldest export first.
Run     `runback ingest [--db PATH] PATH...`, `python -m flows.nightly_ingest PATH...`,
        or on its schedule through `runback serve`.

Each file is read, split into form rows, validated and loaded; a file that cannot be read
as a whole is refused and recorded, and the next file goes on. When the run made a new data cut,
the analysis tables and model results of the newest cut are refreshed.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger

from flows import load
from flows.analysis import analysable, refresh_analysis
from flows.project import load_project
from flows.read import RefusedFile, read_export, sha256_of
from flows.settings import PROJECT_DIR, db_path, inbox_dir
from flows.split import split_export
from flows.validate import validate_export
from flows.warehouse import connect, form_tables, sql
from schemas.rules import Context

EXPORT_GLOB = "*_DATA_*.csv"
"""Names of raw data exports in a folder (REDCap: `<Title>_DATA_<YYYY-MM-DD>_<HHMM>.csv`)."""


def logger() -> logging.Logger | logging.LoggerAdapter:
    """The run logger inside a flow or task run; a plain logger when called through `.fn()`."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("runback")


@task(cache_policy=NO_CACHE)
def find_exports(paths: list[str]) -> list[str]:
    """The export files under `paths`, oldest export first (files without a date keep their order)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(p.glob(EXPORT_GLOB))
        elif p.exists():
            found.append(p)
        else:
            raise FileNotFoundError(f"no such file or folder: {p}")
    dated = sorted((f for f in found if load.export_time(f)), key=lambda f: (load.export_time(f), f.name))
    undated = [f for f in found if not load.export_time(f)]
    return [str(f) for f in dict.fromkeys(dated + undated)]


@task(cache_policy=NO_CACHE)
def ingest_export(path: str, db: str, project: str) -> dict:
    """Read, split, validate and load one export file (refused whole when it cannot be read)."""
    log = logger()
    data = Path(path).read_bytes()
    con = connect(Path(db))
    try:
        earlier = load.seen_before(con, sha256_of(data))
        if earlier is not None:
            log.info("%s: already seen (file %s, %s); nothing to do", Path(path).name, earlier.file_id, earlier.status)
            earlier.file, earlier.message = Path(path).name, f"already seen as file {earlier.file_id}"
            return vars(earlier) | {"repeat": True}
        when = load.export_time(path)
        if load.newer_export_loaded(con, when):
            result = load.record_file(
                con,
                Path(path),
                sha256_of(data),
                len(data),
                load.OLDER,
                "older than an export already loaded; recorded, not applied",
            )
            log.warning("%s: %s", result.file, result.message)
            return vars(result)
        study = load_project(Path(project))
        try:
            export = read_export(Path(path), study, data)
        except RefusedFile as refused:
            result = load.record_file(con, Path(path), sha256_of(data), len(data), load.REFUSED, str(refused))
            log.error("refused %s", refused)
            return vars(result)
        parts = split_export(export, study)
        checked = validate_export(parts, study, Context(when.date() if when else None, warehouse_randomisation(con)))
        result = load.load_export(con, export, parts, checked, study)
    finally:
        con.close()
    log.info(
        "%s: %s rows, %s form rows loaded, %s quarantined, %s flagged; %s",
        result.file,
        result.rows,
        sum(f["loaded"] for f in result.forms.values()),
        result.quarantined,
        result.flagged,
        f"data cut {result.data_cut}" if result.data_cut else result.message,
    )
    return vars(result)


def warehouse_randomisation(con) -> pd.DataFrame:
    """The randomisation already loaded (text), or an empty frame on a new warehouse."""
    if "randomisation" not in form_tables(con, "clean"):
        return pd.DataFrame(columns=["record_id", "rand_group", "rand_date"])
    return con.execute(sql("clean/current_randomisation")).df()


@task(cache_policy=NO_CACHE)
def analyse_cut(db: str, project: str, cut: int) -> dict[str, int]:
    """Refresh the analysis tables and model results of a data cut (the trial's projects only)."""
    study = load_project(Path(project))
    if not analysable(study):
        logger().info("this project has no trial analysis; the warehouse holds its clean data only")
        return {}
    con = connect(Path(db))
    try:
        written = refresh_analysis(con, study, cut)
    finally:
        con.close()
    logger().info("analysis of data cut %s refreshed: %s", cut, ", ".join(f"{t} {n}" for t, n in written.items()))
    return written


@task(cache_policy=NO_CACHE)
def summarise(results: list[dict]) -> str:
    """A one-line-per-file summary of the run (logged)."""
    lines = [f"{'file':40} {'status':10} {'rows':>7} {'quarantined':>11} {'flagged':>7} {'cut':>4}"]
    for r in results:
        lines.append(
            f"{r['file'][:40]:40} {r['status']:10} {r.get('rows') or 0:>7} "
            f"{sum(f['quarantined'] for f in r.get('forms', {}).values()):>11} "
            f"{sum(f['flagged'] for f in r.get('forms', {}).values()):>7} {r.get('data_cut') or '-':>4}"
        )
    text = "\n".join(lines)
    logger().info("run summary (%d file(s)):\n%s", len(results), text)
    return text


@flow(name="nightly-ingest")
def nightly_ingest(paths: list[str] | None = None, db: str | None = None, project: str | None = None) -> list[dict]:
    """Ingest every new export under `paths` (default: the inbox) into the warehouse `db`."""
    db = db or str(db_path())
    project = project or str(PROJECT_DIR)
    files = find_exports(paths or [str(inbox_dir())])
    results = [ingest_export(path, db, project) for path in files]
    cuts = [r["data_cut"] for r in results if r["status"] == "loaded"]
    if cuts:
        analyse_cut(db, project, max(cuts))
    summarise(results)
    return results


if __name__ == "__main__":
    nightly_ingest(sys.argv[1:] or None)
