"""Ingest one export file: read, split, validate, load. Plain functions, no Prefect: the
`nightly-ingest` flow wraps them in a task, and tests or a recovery script can call them directly.

A file is skipped when its bytes were applied before, recorded (not applied) when it is older
than an export already loaded, refused whole when it cannot be read safely (nothing of it
loads), and otherwise loaded in one transaction.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc

from runback.flows.ingest import dictionary, load
from runback.flows.ingest.files import ExportFile
from runback.flows.ingest.project import describe_dictionary, dictionary_used, files_for_export, load_study
from runback.flows.ingest.read import RefusedFile, read_export
from runback.flows.ingest.split import split_export
from runback.flows.ingest.validate import validate_export
from runback.flows.warehouse import connect, form_tables, sql
from runback.schemas.rules import Context


def ingest_file(
    path: str,
    db: str,
    project: str,
    accept_dictionary: bool = False,
    accept_deletions: bool = False,
    log: logging.Logger | logging.LoggerAdapter | None = None,
) -> dict:
    """Read, split, validate and load one export file (refused whole when it cannot be read)."""
    log = log or logging.getLogger("runback")
    data = Path(path).read_bytes()
    file = ExportFile.of(path, data)
    con = connect(Path(db))
    try:
        known = load.prior(con, file)
        earlier = known.earlier
        if earlier is not None and earlier.status != load.REFUSED:
            log.info("%s: already seen (file %s, %s); nothing to do", file.name, earlier.file_id, earlier.status)
            return vars(earlier) | {"message": f"already seen as file {earlier.file_id}", "repeat": True}
        day = file.export_time.date() if file.export_time else None
        if known.newer_export_loaded(file.export_time):
            result = load.record_file(
                con, file, load.OLDER, "older than an export already loaded; recorded, not applied"
            )
            log.warning("%s: %s", result.file, result.message)
            return vars(result)
        try:
            files = files_for_export(file.path, Path(project), day)
            study = load_study(**files)
            used = dictionary_used(files, Path(project), study)
            (log.warning if used["differs"] else log.info)("%s: %s", file.name, describe_dictionary(used))
            check_dictionary(known.dictionary, study, accept_dictionary, file.path)
            export = read_export(file, study, data)
            data = None  # the parsed table holds what is needed; free the file's bytes
            check_records(con, export, study, accept_deletions)
        except RefusedFile as refused:
            log.error("refused %s", refused)
            if earlier is not None:  # refused before for the same bytes: do not record it twice
                return vars(earlier) | {"message": str(refused), "repeat": True}
            return vars(load.record_file(con, file, load.REFUSED, str(refused)))
        parts = split_export(export, study)
        export.table = None  # split into form rows: the wide table is no longer needed
        checked = validate_export(parts, study, Context(day, warehouse_randomisation(con)))
        for note in checked.notes:
            log.warning("%s: %s", file.name, note)
        result = load.load_export(con, export, parts, checked, study, used)
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


def check_dictionary(loaded_with: list[dict] | None, study, accept: bool, path: Path) -> None:
    """Refuse an export read with a dictionary that breaks what is loaded (unless accepted)."""
    if loaded_with is None:  # a new warehouse: any dictionary is the first
        return
    change = dictionary.diff(loaded_with, dictionary.definition(study))
    problems = dictionary.breaking(change)
    if problems and not accept:
        raise RefusedFile(
            path,
            "its data dictionary breaks the one the warehouse was loaded with: " + "; ".join(problems) + ".",
            "Check the change with the trial team; to load it anyway, run the ingest with --accept-dictionary.",
        )
    if change["added"]:
        logging.getLogger("runback").info("the data dictionary changed: %s (recorded)", dictionary.describe(change))


def check_records(con, export, study, accept: bool) -> None:
    """Refuse a snapshot that lacks records the warehouse holds (a truncated or filtered export)
    unless deletions are accepted; an export with no record at all is always refused."""
    if export.rows == 0:
        raise RefusedFile(export.path, "it holds no records (a header only).", "Export 'All data' again from REDCap.")
    held = set()
    for form in form_tables(con, "clean"):
        held |= {r[0] for r in con.execute(sql("ingest/open_records", form=form)).fetchall()}
    present = set(pc.unique(export.table[study.record_id]).to_pylist())
    missing = sorted(held - present, key=lambda r: (len(r), r))
    if missing and not accept:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise RefusedFile(
            export.path,
            f"{len(missing)} record(s) in the warehouse are missing from this snapshot ({shown}): "
            "a truncated or filtered export?",
            "Export 'All data' again; if the records were deleted in REDCap on purpose, run the ingest "
            "with --accept-deletions.",
        )


def warehouse_randomisation(con) -> pd.DataFrame:
    """The randomisation already loaded (text), or an empty frame on a new warehouse."""
    if "randomisation" not in form_tables(con, "clean"):
        return pd.DataFrame(columns=["record_id", "rand_group", "rand_date"])
    return con.execute(sql("ingest/current_randomisation")).df()
