"""Load: one validated export into the warehouse, in one DuckDB transaction.

What lands, per export: a `meta.source_files` row; new row versions in `raw.<form>`; the clean
layer's validity intervals (`clean.<form>`: the exports are full snapshots, so a row that changed
or disappeared closes its interval and the new version opens one); `quarantine.rows` and
`quarantine.flags`; row counts per form (`meta.file_forms`); and a new `meta.data_cuts` row when
the clean layer or the open queries changed. Either all of it lands or none of it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from runback.flows.cuts import cuts
from runback.flows.hashing import clean_form_hash, frame_hash, hashes_hash
from runback.flows.ingest import dictionary
from runback.flows.ingest.coerce import row_hashes, typed_rows
from runback.flows.ingest.files import ExportFile, safe_name
from runback.flows.ingest.read import SOURCE_ROW, ExportTable
from runback.flows.ingest.split import RAW_KEY, SplitExport
from runback.flows.ingest.validate import Validated
from runback.flows.warehouse import describe, form_tables, rows, sql, table_columns, transaction
from runback.schemas.dictionary_logic import dictionary_logic
from runback.schemas.file_status import APPLIED, FINAL, FileStatus
from runback.schemas.form import KEY, QUARANTINE
from runback.schemas.study import Study


@dataclass
class LoadResult:
    """What one file did to the warehouse: the one result of an ingest, whatever became of the file."""

    file: str
    status: FileStatus
    file_id: int | None = None
    data_cut: int | None = None
    rows: int | None = None
    message: str = ""
    forms: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    repeat: bool = False  # the same bytes were seen before: nothing was recorded this time

    @property
    def quarantined(self) -> int:
        return sum(f["quarantined"] for f in self.forms.values())

    @property
    def flagged(self) -> int:
        return sum(f["flagged"] for f in self.forms.values())


@dataclass(frozen=True)
class Prior:
    """What the warehouse already holds that decides how a file is treated, asked in one go."""

    earlier: LoadResult | None  # the earlier outcome of a file with the same bytes
    latest_export_time: dt.datetime | None  # of the newest export applied
    applied_times: frozenset[dt.datetime]  # export times of the files applied
    dictionary: list[dict] | None  # the field definitions the warehouse was last loaded with

    def newer_export_loaded(self, when: dt.datetime | None) -> bool:
        """Whether an export newer than `when` has been applied already."""
        return when is not None and self.latest_export_time is not None and self.latest_export_time > when


def prior(con: duckdb.DuckDBPyConnection, file: ExportFile) -> Prior:
    """The warehouse's answer to every question asked before a file is read."""
    found = rows(con, "ingest/file_by_identity", {"sha256": file.sha256, "file_name": file.name, "final": FINAL})
    earlier = None
    if found:
        file_id, status, cut, message = found[0]
        earlier = LoadResult(
            file=file.name, status=FileStatus(status), file_id=file_id, data_cut=cut, message=message or ""
        )
    applied = frozenset(r[0] for r in rows(con, "ingest/applied_export_times", {"applied": APPLIED}))
    return Prior(earlier, max(applied, default=None), applied, latest_dictionary(con))


def record_file(con, file: ExportFile, status: FileStatus, message: str = "", n_rows: int | None = None) -> LoadResult:
    """Record a file that is not applied (refused, or older than what is loaded)."""
    with transaction(con):
        file_id = _insert_source_file(con, file, n_rows, status, message, None)
    return LoadResult(file=file.name, status=status, file_id=file_id, rows=n_rows, message=message)


def load_export(
    con,
    export: ExportTable,
    parts: SplitExport,
    checked: Validated,
    study: Study,
    key_fingerprint: str | None = None,
    dictionary_file: dict | None = None,
) -> LoadResult:
    """Apply one export: everything in one transaction (raises and rolls back on any error).

    `key_fingerprint`: of the allocation key the export was masked with (recorded at first use).
    `dictionary_file` ({"path", "sha256"}) names the dictionary file the export was read with."""
    with transaction(con):
        file_id = _insert_source_file(con, export.file, export.rows, FileStatus.LOADED, "", None)
        if key_fingerprint is not None:
            con.execute(sql("ingest/record_key"), {"key_fingerprint": key_fingerprint, "file_id": file_id})
        dictionary_id = _dictionary_version(con, study, file_id)
        _insert_file_inputs(con, file_id, export, dictionary_file or {})
        hashes, content = {}, {}
        for form, part in parts.forms.items():
            hashes[form] = row_hashes(part.raw, [c for c in part.raw.columns if c not in RAW_KEY])
            content[form] = row_hashes(part.raw, content_columns(part.columns, study))
            write_raw(con, form, part.raw, hashes[form], file_id, study)
        known = {form: codes_known(export, study, form) for form in parts.forms}
        incoming = {
            form: _with_provenance(
                typed_rows(checked.valid[form], study, form, part.columns),
                content[form].loc[checked.valid[form].index],
                file_id,
                checked.valid[form].index,
            )
            for form, part in parts.forms.items()
        }
        held = _held_keys(checked.failures)
        cut = _next_cut(con, incoming, held, checked.failures, known)
        if cut is not None:
            for form, table in incoming.items():
                apply_clean(con, form, table, held.get(form), cut, study, known[form])
            _insert_cut(con, cut, file_id, export.file, checked.failures, list(incoming), key_fingerprint)
        _insert_failures(con, file_id, checked.failures)
        if cut is not None:
            con.execute(sql("ingest/insert_query_first_cuts"), {"cut": cut, "file_id": file_id})
        counts = _file_forms(parts, checked)
        _insert_file_forms(con, file_id, counts)
        status = FileStatus.LOADED if cut is not None else FileStatus.UNCHANGED
        message = "" if cut is not None else "no change since the last data cut"
        con.execute(
            sql("ingest/finish_source_file"),
            {"status": status, "data_cut": cut, "message": message, "dictionary_id": dictionary_id, "file_id": file_id},
        )
    return LoadResult(export.file.name, status, file_id, cut, export.rows, message, counts)


def write_raw(con, form: str, raw: pd.DataFrame, hashes: pd.Series, file_id: int, study: Study) -> None:
    """Store the form rows whose text is new (raw.<form> keeps one row per distinct version)."""
    table = pa.Table.from_pandas(raw, preserve_index=False)  # text columns, as read
    table = table.append_column("row_hash", pa.array(hashes.to_numpy(dtype="uint64"), pa.uint64()))
    table = table.append_column("file_id", pa.array(np.full(len(raw), file_id, dtype="int32")))
    table = table.append_column(SOURCE_ROW, pa.array(raw.index.to_numpy(dtype="int32")))
    con.register("incoming_raw", table)
    try:
        con.execute(sql("ingest/create_raw_table", form=form))
        align_columns(con, "raw", form, table.schema)
        describe(
            con,
            "raw",
            form,
            f"Form {form} as exported: one row per distinct version of a form row, text",
            column_descriptions(study, form, typed=False),
        )
        con.execute(sql("ingest/insert_raw", form=form))
    finally:
        con.unregister("incoming_raw")


def apply_clean(
    con, form: str, incoming: pa.Table, held: pd.DataFrame | None, cut: int, study: Study, codes_known: bool = True
) -> None:
    """Close changed or vanished rows and open the new versions, as of `cut`.

    Without `codes_known` (the export lacks the form's missing-data-code checkbox columns) a row
    whose values are unchanged stays open with the missing codes it had."""
    params = {"cut": cut, "codes_known": codes_known}
    with _registered(con, incoming, held):
        con.execute(sql("ingest/create_clean_table", form=form))
        align_columns(con, "clean", form, incoming.schema)
        describe(
            con,
            "clean",
            form,
            f"Form {form}, validated and typed: one row per form row and validity interval",
            column_descriptions(study, form, typed=True),
        )
        con.execute(sql("ingest/close_clean_rows", form=form), params)
        con.execute(sql("ingest/insert_clean_rows", form=form), params)


def content_columns(columns: list[str], study: Study) -> list[str]:
    """The columns whose text decides whether a clean row changed: the form's data columns,
    without the missing-data-code checkbox columns (their ticks count through `missing_codes`
    when the export has them) and without the system columns an export carries on request."""
    optional = study.missing_code_columns
    return [c for c in columns if c not in optional]


def codes_known(export: ExportTable, study: Study, form: str) -> bool:
    """Whether the export has every missing-data-code checkbox column of the form's fields."""
    lacking = set(export.lacking_missing_codes)
    return not any(f.name in lacking for f in study.forms[form].fields)


STRUCTURE = {
    "record_id": "REDCap record id",
    "event": "REDCap event (unique event name)",
    "redcap_event_name": "REDCap event",
    "instance": "Repeat instance (1 when the form does not repeat)",
    "redcap_repeat_instrument": "Repeating form, as exported",
    "redcap_repeat_instance": "Repeat instance, as exported",
    "redcap_data_access_group": "Data access group (site)",
    "row_hash": "Hash of the row's values (what changed between exports)",
    "file_id": "File the row version was first seen in",
    "source_row": "Position of the record among that file's data rows (1 = first)",
    "valid_from_cut": "First data cut in which this version is valid",
    "valid_to_cut": "First data cut in which it is not (null: valid now)",
    "missing_codes": "Fields answered with a missing-data code (JSON: field -> code)",
}
"""What the structure and provenance columns of the per-form tables hold."""


def column_descriptions(study: Study, form: str, typed: bool) -> dict[str, str]:
    """Column -> what it holds, for raw.<form> (text as exported) or clean.<form> (typed):
    the dictionary's label of each field, checkbox choices and the form's status column."""
    described = dict(STRUCTURE)
    for column in study.form_columns(form):
        owner = study.column_owner.get(column, (form, None))[1]
        if owner is None:
            described[column] = f"Status of form {form}: 0 incomplete, 1 unverified, 2 complete"
            continue
        label = owner.label or owner.name
        if "___" in column:
            code = column.split("___", 1)[1]
            choice = dict(owner.choices).get(code) or next((c[1] for c in owner.choices if c[0].lower() == code), code)
            label = f"{label}: {choice} (ticked)"
        described[column] = label if typed else f"{label} (as exported)"
    return described


DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.large_string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.int8(): "TINYINT",
    pa.uint64(): "UBIGINT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.time64("us"): "TIME",
    pa.timestamp("s"): "TIMESTAMP_S",
}


def align_columns(con, schema: str, form: str, incoming: pa.Schema) -> None:
    """Give a per-form table the columns a newer dictionary brought, with their types."""
    existing = table_columns(con, schema, form)
    for field in incoming:
        wanted = DUCKDB_TYPES[field.type]
        if field.name not in existing:
            con.execute(sql("ingest/add_column", schema=schema, form=form, column=field.name, type=wanted))
        elif existing[field.name] != wanted:
            con.execute(sql("ingest/retype_column", schema=schema, form=form, column=field.name, type=wanted))


def queries_hash(failures: pd.DataFrame) -> str:
    """Content hash of an export's failures (where and what, not the row numbers), in a fixed order."""
    cols = ["form", "record_id", "event", "instance", "column", "value", "check", "action"]
    return frame_hash(failures[cols].astype(str).sort_values(cols, ignore_index=True))


# -- steps -----------------------------------------------------------------------------------------
def _insert_source_file(con, file: ExportFile, n_rows, status, message, dictionary_id) -> int:
    params = {
        "file_name": file.name,
        "path": safe_name(str(file.path.resolve())),
        "sha256": file.sha256,
        "bytes": file.size,
        "rows": n_rows,
        "export_time": file.export_time,
        "status": status,
        "message": safe_name(message),
        "dictionary_id": dictionary_id,
    }
    return con.execute(sql("ingest/insert_source_file"), params).fetchone()[0]


def _insert_file_inputs(con, file_id: int, export: ExportTable, dictionary_file: dict) -> None:
    params = {
        "file_id": file_id,
        "dictionary_file": dictionary_file.get("path"),
        "dictionary_sha256": dictionary_file.get("sha256"),
        "missing_code_columns": export.missing_code_columns,
        "lacking_missing_codes": json.dumps(list(export.lacking_missing_codes)),
        "combined_checkboxes": json.dumps(list(export.combined_checkboxes)),
        "system_columns": json.dumps(list(export.optional_columns)),
    }
    con.execute(sql("ingest/insert_file_inputs"), params)


def _dictionary_version(con, study: Study, file_id: int) -> int:
    """The id of the study's dictionary version, recording it (with its diff) when new; a new
    version's logic that is not evaluated is said then, once (`schemas/dictionary_logic.py`)."""
    fields = dictionary.definition(study)
    sha = dictionary.sha256(fields)
    found = rows(con, "ingest/dictionary_version", {"sha256": sha})
    if found:
        return found[0][0]
    change = dictionary.diff(latest_dictionary(con), fields)
    params = {
        "sha256": sha,
        "fields": len(study.fields),
        "forms": len(study.forms),
        "file_id": file_id,
        "definition": json.dumps(fields, sort_keys=True),
        "diff": json.dumps(change),
    }
    dictionary_id = con.execute(sql("ingest/insert_dictionary_version"), params).fetchone()[0]
    for note in dictionary_logic(study).notes():
        logging.getLogger("runback").warning("data dictionary version %s: %s", dictionary_id, note)
    return dictionary_id


def latest_dictionary(con) -> list[dict] | None:
    """The field definitions of the newest dictionary version recorded, if any."""
    found = rows(con, "ingest/latest_dictionary")
    return json.loads(found[0][1]) if found else None


def _with_provenance(table: pa.Table, hashes: pd.Series, file_id: int, source_rows: pd.Index) -> pa.Table:
    table = table.append_column("row_hash", pa.array(hashes.to_numpy(dtype="uint64"), pa.uint64()))
    table = table.append_column("file_id", pa.array([file_id] * len(table), pa.int32()))
    return table.append_column(SOURCE_ROW, pa.array(source_rows.to_numpy(dtype="int64"), pa.int32()))


def _held_keys(failures: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per form, the keys of rows held in quarantine (their last valid version stays open)."""
    held = failures[failures["action"] == QUARANTINE]
    held = held.assign(instance=pd.to_numeric(held["instance"], errors="coerce")).dropna(subset=["instance"])
    held = held.astype({"instance": "int64"})
    return {form: group[KEY].drop_duplicates() for form, group in held.groupby("form")}


def _next_cut(
    con, incoming: dict[str, pa.Table], held: dict[str, pd.DataFrame], failures: pd.DataFrame, known: dict[str, bool]
) -> int | None:
    """The id of the cut this export makes, or None when it changes nothing: no clean row, and the
    same data queries as the latest cut. The forms are compared only while nothing has changed."""
    latest = cuts(con).latest
    cut = (latest or 0) + 1
    if latest is None or rows(con, "ingest/queries_hash", {"cut": latest})[0][0] != queries_hash(failures):
        return cut
    existing = set(form_tables(con, "clean"))
    for form, table in incoming.items():
        if form not in existing:
            if table.num_rows:
                return cut
            continue
        with _registered(con, table, held.get(form)):
            closing, inserting = rows(con, "ingest/count_clean_changes", {"codes_known": known[form]}, form=form)[0]
        if closing or inserting:
            return cut
    return None


def _insert_cut(
    con, cut: int, file_id: int, file: ExportFile, failures: pd.DataFrame, forms: list[str], key_fingerprint: str | None
) -> None:
    form_hashes = {form: clean_form_hash(con, form, cut) for form in forms}
    params = {
        "key_fingerprint": key_fingerprint,
        "cut_id": cut,
        "file_id": file_id,
        "export_time": file.export_time,
        "clean_hash": hashes_hash(form_hashes),
        "queries_hash": queries_hash(failures),
    }
    con.execute(sql("ingest/insert_data_cut"), params)


def _insert_failures(con, file_id: int, failures: pd.DataFrame) -> None:
    table = failures.astype({c: "str" for c in failures.columns if c != SOURCE_ROW}).astype({SOURCE_ROW: "int64"})
    con.register("failures", table)
    try:
        con.execute(sql("ingest/insert_quarantine"), {"file_id": file_id})
        con.execute(sql("ingest/insert_flags"), {"file_id": file_id})
    finally:
        con.unregister("failures")


def _file_forms(parts: SplitExport, checked: Validated) -> dict[str, dict[str, int]]:
    """Row conservation per form: rows_in = loaded + quarantined."""
    counts = {}
    held = checked.quarantined()
    flagged = checked.flagged()
    for form, part in parts.forms.items():
        n_held = held.loc[held["form"] == form, SOURCE_ROW].nunique()
        counts[form] = {
            "rows_in": len(part.raw),
            "loaded": len(checked.valid[form]),
            "quarantined": int(n_held),
            "flagged": int(flagged.loc[flagged["form"] == form, SOURCE_ROW].nunique()),
        }
    return counts


def _insert_file_forms(con, file_id: int, counts: dict[str, dict[str, int]]) -> None:
    frame = pd.DataFrame([{"file_id": file_id, "form": form, **c} for form, c in counts.items()])
    con.register("file_forms", frame)
    try:
        con.execute(sql("ingest/insert_file_forms"))
    finally:
        con.unregister("file_forms")


class _registered:
    """Register the incoming table (and held keys) for the per-form SQL, and unregister after."""

    def __init__(self, con, incoming: pa.Table, held: pd.DataFrame | None):
        self.con, self.incoming = con, incoming
        self.held = (
            held
            if held is not None
            else pd.DataFrame(
                {
                    "record_id": pd.Series(dtype="str"),
                    "event": pd.Series(dtype="str"),
                    "instance": pd.Series(dtype="int64"),
                }
            )
        )

    def __enter__(self):
        self.con.register("incoming", self.incoming)
        self.con.register("held", self.held)
        return self.con

    def __exit__(self, *exc):
        self.con.unregister("incoming")
        self.con.unregister("held")
