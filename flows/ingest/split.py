"""Split: one wide export -> one text frame per form, keyed by (record_id, event, instance).

A row of a REDCap export carries every form designated to its event side by side. For each form
this module takes the rows where the form holds data (a form whose fields are blank, checkboxes
unticked and `_complete` 0 or blank was never started and is not data; a value in an identifier
field, dropped when the file was read, counts as data), then checks the row's
place in the project: a known event, a form designated to it, repeat columns that fit, a whole
instance number, a record id, a key no other row of the file has. A row that fails is a
structural problem: it is quarantined with its reason and never reaches validation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from runback.flows.ingest.read import MAX_CELL, SOURCE_ROW, ExportTable, identified_column
from runback.schemas.failures import concat_failures, failures
from runback.schemas.form import KEY
from runback.schemas.study import (
    CLASSIC_EVENT,
    DAG_COLUMN,
    EVENT_COLUMN,
    KIND_CHECKBOX,
    KIND_INTEGER,
    REPEAT_INSTANCE_COLUMN,
    REPEAT_INSTRUMENT_COLUMN,
    Study,
)
from runback.schemas.values import parse

RAW_KEY = ["record_id", EVENT_COLUMN, REPEAT_INSTRUMENT_COLUMN, REPEAT_INSTANCE_COLUMN]


@dataclass
class FormRows:
    """The rows of one form in one export: `raw` as written (text), `rows` keyed for validation."""

    form: str
    raw: pd.DataFrame  # every form row with data: RAW_KEY + form columns, index source_row
    rows: pd.DataFrame  # the structurally sound ones: KEY + form columns, index source_row
    columns: list[str]  # the form's data columns present in the export


@dataclass
class SplitExport:
    forms: dict[str, FormRows]
    problems: pd.DataFrame  # schemas.form.FAILURE_COLUMNS
    empty_rows: int  # rows of the file that carry no form's data


def split_export(export: ExportTable, study: Study) -> SplitExport:
    """Per-form frames of an export, with every structural problem as a quarantine record.

    The wide export stays an Arrow table; each form's columns are taken from it, its rows with
    data picked in Arrow, and only those become a pandas frame."""
    wide = _with_structure(export.table, study)
    forms, problems = {}, []
    carries_data = np.zeros(wide.num_rows, dtype=bool)
    for form in study.forms:
        columns = [c for c in study.form_columns(form) if c in wide.column_names]
        optional = [c for c in (study.forms[form].survey_timestamp_column, DAG_COLUMN) if c in wide.column_names]
        has_data = _has_data(wide, columns, study)
        if identified_column(form) in wide.column_names:  # values only in identifier fields: a form row
            has_data |= wide[identified_column(form)].to_numpy(zero_copy_only=False)
        carries_data |= has_data
        raw = wide.select([SOURCE_ROW, *RAW_KEY, *optional, *columns]).filter(pa.array(has_data))
        raw = raw.to_pandas().set_index(SOURCE_ROW)
        rows, found = _place(raw, form, study, [c for c in export.overlong if c in columns])
        forms[form] = FormRows(form, raw, rows[KEY + optional + columns], columns)
        problems.append(found)
    problems = concat_failures(problems)
    return SplitExport(forms, problems, int((~carries_data).sum()))


def _with_structure(table: pa.Table, study: Study) -> pa.Table:
    """The export with the record id named `record_id` and the structure columns filled in."""
    table = table.rename_columns(["record_id" if c == study.record_id else c for c in table.column_names])
    blanks = {EVENT_COLUMN: CLASSIC_EVENT, REPEAT_INSTRUMENT_COLUMN: "", REPEAT_INSTANCE_COLUMN: ""}
    for column, value in blanks.items():
        if column not in table.column_names:
            table = table.append_column(column, pa.array(np.full(table.num_rows, value, dtype=object), pa.string()))
    return table


def _has_data(wide: pa.Table, columns: list[str], study: Study) -> np.ndarray:
    """Rows where the form holds a value, a ticked box or a status beyond 'incomplete'."""
    owner = study.column_owner
    has = pc.invert(pc.is_in(wide[columns[-1]], pa.array(["", "0"])))  # the form's status
    for column in columns[:-1]:
        field = owner[column][1]
        boxed = field is not None and field.kind == KIND_CHECKBOX
        has = pc.or_(has, pc.equal(wide[column], "1") if boxed else pc.not_equal(wide[column], ""))
    return has.to_numpy(zero_copy_only=False)


def _place(raw: pd.DataFrame, form: str, study: Study, overlong: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Key the form rows and quarantine those that do not fit the project's structure.

    Checks run in order; a row is reported under the first one it fails. What depends on the event
    is looked up once per distinct event; a reason is written only for the rows that fail."""
    rows = raw.rename(columns={EVENT_COLUMN: "event"})
    instrument, instance_text = rows[REPEAT_INSTRUMENT_COLUMN], rows[REPEAT_INSTANCE_COLUMN]
    instance = parse(instance_text.where(instance_text != "", "1"), KIND_INTEGER)
    rows = rows.assign(instance=instance)
    codes, events = pd.factorize(rows["event"])

    def per_event(value) -> np.ndarray:
        return np.array([bool(value(e)) for e in events], dtype=bool)[codes] if len(events) else np.zeros(0, bool)

    known = per_event(lambda e: e in study.event_map) if study.longitudinal else np.ones(len(rows), bool)
    designated = per_event(lambda e: form in study.forms_in_event(e))
    repeats_yes = per_event(lambda e: study.repeats(e, form) is True)
    repeats_no = per_event(lambda e: study.repeats(e, form) is False)
    repeating_event = per_event(study.repeating_event)
    named = (instrument == form).to_numpy()
    blank_instrument = (instrument == "").to_numpy()
    given = (instance_text != "").to_numpy()
    needs_instance = named | repeating_event
    whole = (instance.notna() & (instance >= 1)).to_numpy()
    checks = [
        ((rows["record_id"] == "").to_numpy(), "record_id", "record_id_blank", "the record id is blank"),
        (~known, EVENT_COLUMN, "unknown_event", lambda bad: "'" + bad["event"] + "' is not an event of the project"),
        (
            ~designated,
            EVENT_COLUMN,
            "form_not_in_event",
            lambda bad: f"form {form} is not designated to event '" + bad["event"] + "'",
        ),
        (
            ~blank_instrument & ~named,
            REPEAT_INSTRUMENT_COLUMN,
            "values_on_other_repeat_row",
            lambda bad: f"values of form {form} on a repeating row of form '" + bad[REPEAT_INSTRUMENT_COLUMN] + "'",
        ),
        (
            named & repeats_no,
            REPEAT_INSTRUMENT_COLUMN,
            "repeat_on_non_repeating_form",
            f"repeat columns on form {form}, which does not repeat in this event",
        ),
        (
            blank_instrument & repeats_yes & ~repeating_event,
            REPEAT_INSTRUMENT_COLUMN,
            "repeat_instrument_missing",
            f"form {form} repeats in this event but the row does not name it",
        ),
        (
            needs_instance & ~given,
            REPEAT_INSTANCE_COLUMN,
            "repeat_instance_missing",
            "a repeating row without a repeat instance",
        ),
        (
            ~needs_instance & given & (repeats_yes | repeats_no),
            REPEAT_INSTANCE_COLUMN,
            "repeat_instance_on_non_repeating_row",
            "a repeat instance on a row that does not repeat",
        ),
        (
            ~whole,
            REPEAT_INSTANCE_COLUMN,
            "repeat_instance_invalid",
            lambda bad: "repeat instance '" + bad[REPEAT_INSTANCE_COLUMN] + "' is not a whole number from 1",
        ),
    ]
    too_long = f"a value longer than REDCap can store ({MAX_CELL:,} characters): a corrupted export?"
    checks += [((raw[c].str.len() > MAX_CELL).to_numpy(), c, "value_too_long", too_long) for c in overlong]
    problems, sound = [], np.ones(len(rows), dtype=bool)
    for mask, column, check, reason in checks:
        hit = mask & sound
        if hit.any():
            bad = rows[hit]
            why = reason(bad) if callable(reason) else reason
            problems.append(failures(bad, form, column, raw.loc[hit, column], check, why))
        sound &= ~hit
    rows = rows[sound].astype({"instance": "int64"})
    duplicated = rows.duplicated(KEY, keep=False)
    if duplicated.any():
        dups = rows[duplicated]
        problems.append(failures(dups, form, "record_id", dups["record_id"], "duplicate_key", _duplicate_reason(dups)))
        rows = rows[~duplicated]
    return rows, concat_failures(problems)


def _duplicate_reason(dups: pd.DataFrame) -> pd.Series:
    """'rows 5, 9 of the file share this key (record 3, event x, instance 1)' for each copy."""
    source = pd.Series(dups.index.astype(str), index=dups.index)
    rows = source.groupby([dups[k] for k in KEY]).transform(", ".join)
    return (
        "rows "
        + rows
        + " of the file share this key (record "
        + dups["record_id"]
        + ", event "
        + dups["event"]
        + ", instance "
        + dups["instance"].astype(str)
        + ")"
    )
