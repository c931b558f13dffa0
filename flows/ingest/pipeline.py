"""Ingest one export file: read, split, validate, load. Plain functions, no Prefect: the
`nightly-ingest` flow wraps them in a task, and tests or a recovery script can call them directly.

A file is skipped when its bytes were applied before, recorded (not applied) when it is older
than an export already loaded, refused whole when it cannot be read safely (nothing of it
loads), and otherwise loaded in one transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from runback.flows import allocation, settings
from runback.flows.ingest import dictionary, load
from runback.flows.ingest.files import (
    Entry,
    EntryHeld,
    EntryRefused,
    ExportFile,
    check_export_time,
    read_settled,
)
from runback.flows.ingest.load import LoadResult
from runback.flows.ingest.project import describe_dictionary, dictionary_used, files_for_export, load_study
from runback.flows.ingest.read import RefusedFile, read_export
from runback.flows.ingest.split import split_export
from runback.flows.ingest.validate import validate_export
from runback.flows.warehouse import connect, form_tables, rows, sql
from runback.schemas.file_status import FileStatus
from runback.schemas.rules import Context
from runback.schemas.trial import ALLOCATION_FIELDS, allocation_fields, blinded_study

Log = logging.Logger | logging.LoggerAdapter


@dataclass(frozen=True)
class Options:
    """How a run ingests its files: the user's overrides (each off by default) and the allocation
    key file (default RUNBACK_KEY). `export_time` names the export time of the one file given
    (for a file whose name has none, or cannot be trusted)."""

    accept_dictionary: bool = False
    accept_deletions: bool = False
    accept_identifiers: bool = False
    export_time: dt.datetime | None = None
    key: Path | None = None

    @classmethod
    def of(cls, *, export_time: str | None = None, key: str | None = None, **accept: bool) -> Options:
        """The options of the flow's parameters (an ISO export time, a key file's path, the accept_* flags)."""
        when = dt.datetime.fromisoformat(export_time) if export_time else None
        return cls(**accept, export_time=when, key=Path(key) if key else None)

    @property
    def accepts_anything(self) -> bool:
        return self.accept_dictionary or self.accept_deletions or self.accept_identifiers


def ingest_file(
    entry: Entry | Path | str, db: Path | str, project: Path | str, options: Options = Options(), log: Log | None = None
) -> LoadResult:
    """Read, split, validate and load one export file: loaded, unchanged, recorded as older,
    refused or held (recorded, with the reason), or waiting (not recorded: still being written)."""
    entry = entry if isinstance(entry, Entry) else Entry(Path(entry))
    con = connect(Path(db))
    try:
        return _ingest(con, entry, Path(db), Path(project), options, log or logging.getLogger("runback"))
    finally:
        con.close()


def _ingest(con, entry: Entry, db: Path, project: Path, how: Options, log: Log) -> LoadResult:
    """ingest_file on an open warehouse."""
    try:
        data = read_settled(entry.path, entry.scanned_in, entry.settle_s)
    except EntryHeld as waiting:  # not recorded: its bytes are not final yet
        log.warning("%s", waiting)
        return LoadResult(ExportFile(entry.path, "", 0, None).name, FileStatus.WAITING, message=waiting.problem)
    except EntryRefused as refused:  # no bytes to know it by: it is known by its name
        file = ExportFile(entry.path, "", 0, None)
        return _not_applied(con, file, FileStatus.REFUSED, refused, log, load.prior(con, file).earlier)
    file = ExportFile.of(entry.path, data)
    if how.export_time is not None:
        file = file.with_export_time(how.export_time)
    known = load.prior(con, file)
    earlier = known.earlier
    retry = entry.scanned_in is None or how.accepts_anything or file.time_named
    if earlier is not None and (earlier.status.applied or not retry):
        log.info("%s: already seen (file %s, %s); nothing to do", file.name, earlier.file_id, earlier.status)
        return replace(
            earlier, message=f"already seen as file {earlier.file_id} ({earlier.status}) {earlier.message}", repeat=True
        )
    try:
        check_export_time(file, settings.timezone(), settings.site_now())
        check_order(file, known, entry.conflict)
    except EntryHeld as held:
        return _not_applied(con, file, FileStatus.HELD, held, log, earlier)
    except EntryRefused as refused:
        return _not_applied(con, file, FileStatus.REFUSED, refused, log, earlier)
    if known.newer_export_loaded(file.export_time):
        result = load.record_file(con, file, FileStatus.OLDER, "older than an export already loaded; not applied")
        log.warning("%s: %s", result.file, result.message)
        return result
    try:
        named = entry.scanned_in is None  # deletions are accepted only for a file named, never for a scan's
        return _load(con, file, data, known, db, project, how if named else replace(how, accept_deletions=False), log)
    except RefusedFile as refused:
        return _not_applied(con, file, FileStatus.REFUSED, refused, log, earlier)


def _load(con, file: ExportFile, data: bytes, known: load.Prior, db, project, how: Options, log: Log) -> LoadResult:
    """Read, mask, split, validate and load an export whose place among the exports is known
    (RefusedFile when it cannot be read safely)."""
    day = file.export_time.date() if file.export_time else None
    files = files_for_export(file.path, project, day)
    unblinded = load_study(**files)
    study = blinded_study(unblinded)
    masked = allocation_fields(unblinded)
    if set(masked) - set(ALLOCATION_FIELDS):
        log.warning(
            "%s: masked as the allocation (their choices are the allocation's): %s",
            file.name,
            ", ".join(sorted(set(masked) - set(ALLOCATION_FIELDS))),
        )
    used = dictionary_used(files, project, unblinded)
    (log.warning if used["differs"] else log.info)("%s: %s", file.name, describe_dictionary(used))
    check_dictionary(known.dictionary, study, how.accept_dictionary, how.accept_identifiers, file.path)
    export = read_export(file, study, data)
    del data  # the parsed table holds what is needed; free the file's bytes
    key = allocation_key(con, how.key or settings.key_path(), db, export, masked, log)
    if key is not None:
        export.table = allocation.mask(export.table, key, masked)
    if export.rows == 0:
        raise RefusedFile(file.path, "it holds no records (a header only).", "Export 'All data' again.")
    parts = split_export(export, study)
    export.table = None  # split into form rows: the wide table is no longer needed
    if not how.accept_deletions:
        check_deletions(con, export, parts)
    checked = validate_export(parts, study, Context(day, warehouse_randomisation(con)))
    for note in checked.notes:
        log.warning("%s: %s", file.name, note)
    result = load.load_export(con, export, parts, checked, study, key.fingerprint if key else None, used)
    log.info(
        "%s: %s rows, %s form rows loaded, %s quarantined, %s flagged; %s",
        result.file,
        result.rows,
        sum(f["loaded"] for f in result.forms.values()),
        result.quarantined,
        result.flagged,
        f"data cut {result.data_cut}" if result.data_cut else result.message,
    )
    return result


def allocation_key(con, key_file: Path, db: Path, export, masked: tuple[str, ...], log: Log) -> allocation.Key | None:
    """The key that masks this export's allocation: the warehouse's (checked by its fingerprint),
    or a new one when neither the warehouse nor the key file has one yet and the export is the
    first to hold a randomisation. None when the project has no allocation field."""
    if not masked:
        return None
    (recorded,) = rows(con, "ingest/key_fingerprint")[0]
    older = recorded is None and "randomisation" in form_tables(con, "clean")
    if older and rows(con, "ingest/unmasked_allocation", form="randomisation")[0][0]:
        raise allocation.KeyError_(
            f"the warehouse {db} holds the allocation unmasked (made by an older runback).",
            f"Mask it once with `runback key migrate --key FILE --db {db}`.",
        )
    allocation.check_location(key_file, db)
    if key_file.exists() or recorded is not None:
        key = allocation.read_key(key_file)
        if recorded is not None and key.fingerprint != recorded:
            raise allocation.KeyError_(
                f"the allocation key {key_file} (fingerprint {key.fingerprint}) is not this warehouse's "
                f"(fingerprint {recorded}).",
                "Name the trial's key with --key or RUNBACK_KEY.",
            )
        return key
    if not allocation.holds_allocation(export.table, masked):
        return None
    key = allocation.first_key(key_file)
    log.warning(
        "the first randomisation: made the allocation key %s (fingerprint %s); keep it outside the "
        "warehouse and away from blinded readers",
        key_file,
        key.fingerprint,
    )
    return key


def _not_applied(con, file: ExportFile, status: FileStatus, why, log: Log, earlier: LoadResult | None) -> LoadResult:
    """Record a file refused or held (once: a repeat of the same bytes is not recorded again)."""
    if earlier is not None and earlier.status == status:
        log.info("%s: %s before (file %s); not recorded again", file.name, status, earlier.file_id)
        return replace(earlier, message=str(why), repeat=True)
    log.error("%s %s", status, why) if status is FileStatus.REFUSED else log.warning("%s %s", status, why)
    return load.record_file(con, file, status, str(why))


def check_order(file: ExportFile, known: load.Prior, conflict: str | None) -> None:
    """Hold a file whose place among the exports cannot be known: another file claims its export
    time, it claims the time of an applied export with other bytes, or its name has no time while
    exports are already applied (it could be older than they are)."""
    if file.time_named:
        return
    if conflict:
        raise EntryHeld(file.name, conflict, _NAME_THE_TIME)
    if file.export_time is None and known.latest_export_time is not None:
        raise EntryHeld(
            file.name,
            "its name carries no export time, so it cannot be ordered among the exports "
            "already applied (it may be older than they are).",
            _NAME_THE_TIME,
        )
    if file.export_time is not None and file.export_time in known.applied_times:
        when = f"{file.export_time:%Y-%m-%d %H:%M}"
        raise EntryHeld(
            file.name,
            f"an export with other contents and the same time ({when}) was applied already; "
            "which of the two is newer cannot be known.",
            _NAME_THE_TIME,
        )


_NAME_THE_TIME = (
    "Check which export is the newer; apply this one with "
    "`runback ingest --export-time 'YYYY-MM-DD HH:MM' FILE`, or remove it."
)


def check_dictionary(loaded_with: list[dict] | None, study, accept: bool, accept_identifiers: bool, path: Path) -> None:
    """Refuse an export read with a dictionary that breaks what is loaded (unless accepted), or
    that stops marking a field as an identifier (unless that is accepted on its own)."""
    if loaded_with is None:  # a new warehouse: any dictionary is the first
        return
    change = dictionary.diff(loaded_with, dictionary.definition(study))
    unmarked = dictionary.unmarked_identifiers(change)
    if unmarked and not accept_identifiers:
        raise RefusedFile(
            path,
            f"its data dictionary no longer marks {', '.join(unmarked)} as identifier(s): their values would be "
            "stored in the warehouse.",
            "If the trial team really declassified them, run the ingest with --accept-identifier-change; "
            "otherwise download the dictionary again.",
        )
    problems = dictionary.breaking(change)
    if problems and not accept:
        raise RefusedFile(
            path,
            "its data dictionary breaks the one the warehouse was loaded with: " + "; ".join(problems) + ".",
            "Check the change with the trial team; to load it anyway, run the ingest with --accept-dictionary.",
        )
    if change["added"]:
        logging.getLogger("runback").info("the data dictionary changed: %s (recorded)", dictionary.describe(change))


def check_deletions(con, export, parts) -> None:
    """Refuse a snapshot that lacks form rows the clean layer holds (a truncated, filtered or
    half-written export would otherwise close them), naming what would go."""
    vanished: list[tuple] = []
    for form in form_tables(con, "clean"):
        present = _present_keys(parts, form)
        con.register("present", present)
        try:
            vanished += [(form, *r) for r in con.execute(sql("ingest/vanished_rows", form=form)).fetchall()]
        finally:
            con.unregister("present")
    if not vanished:
        return
    present = set(parts.problems["record_id"]).union(*(set(f.raw["record_id"]) for f in parts.forms.values()))
    records = {r[1] for r in vanished} - present
    shown = ", ".join(f"{form} {record} {event}#{instance}" for form, record, event, instance in vanished[:8])
    more = f" and {len(vanished) - 8} more" if len(vanished) > 8 else ""
    raise RefusedFile(
        export.path,
        f"{len(vanished)} form row(s) in the warehouse are missing from this snapshot ({len(records)} whole "
        f"record(s) among them): {shown}{more}. A truncated, filtered or half-written export?",
        "Export 'All data' again; if the rows were deleted in REDCap on purpose, run the ingest with "
        "--accept-deletions.",
    )


def _present_keys(parts, form: str) -> pd.DataFrame:
    """The keys of the form's rows in the export: sound rows and those quarantined for their place."""
    sound = parts.forms[form].rows[["record_id", "event", "instance"]] if form in parts.forms else None
    held = parts.problems.loc[parts.problems["form"] == form, ["record_id", "event", "instance"]]
    held = held.assign(instance=pd.to_numeric(held["instance"], errors="coerce")).dropna(subset=["instance"])
    keys = pd.concat([k for k in (sound, held) if k is not None and len(k)] or [held])
    return keys.astype({"record_id": "str", "event": "str", "instance": "int64"}).drop_duplicates()


def warehouse_randomisation(con) -> pd.DataFrame:
    """The randomisation already loaded (text), or an empty frame on a new warehouse."""
    if "randomisation" not in form_tables(con, "clean"):
        return pd.DataFrame(columns=["record_id", "rand_group", "rand_date"])
    return con.execute(sql("ingest/current_randomisation")).df()
