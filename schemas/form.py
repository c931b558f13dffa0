"""The form models: the key every form row has, the field builders, and the model of any project's
form derived from its dictionary.

Form frames reach validation as *text* (exactly as exported, identifiers already dropped), one row
per form row, indexed by `source_row`. The checks themselves are in `schemas/checks.py`, value
parsing in `schemas/values.py`, the failure record in `schemas/failures.py`; their names are
re-exported here so that `from runback.schemas.form import ...` keeps working.

What is checked is always what the dictionary says (`schema_for`); a form's model holds only its
row checks (`with_row_checks` adds them), which read several fields of a row: what a dictionary
cannot say. A row check that reads a field the dictionary no longer has is said, never silently
dropped.
"""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from runback.schemas import study as s
from runback.schemas.checks import (  # noqa: F401 - re-exported
    ROW_CHECKS,
    RowCheck,
    redcap_checkbox_codes,
    redcap_choice,
    redcap_range,
    redcap_required,
    redcap_type,
    row_check,
    sentence,
)
from runback.schemas.failures import (  # noqa: F401 - re-exported
    FAILURE_COLUMNS,
    FLAG,
    QUARANTINE,
    VALUE_SHOWN_MAX,
    concat_failures,
    failures,
    no_failures,
)
from runback.schemas.values import KIND_WORDS, PATTERNS, bound, parse, parse_arrow  # noqa: F401 - re-exported


# -- field builders: one per kind -----------------------------------------------------------------
def value_field(
    description: str,
    kind: str,
    *,
    min: str = "",
    max: str = "",
    codes: tuple[str, ...] = (),
    required: bool = False,
    missing: tuple[str, ...] = (),
    alias: str | None = None,
):
    """A pandera Field holding the REDCap checks for one column (or a regex of checkbox columns)."""
    checks: dict = {}
    if kind in PATTERNS:
        checks["redcap_type"] = {"kind": kind, "missing": tuple(missing)}
        if min or max:
            checks["redcap_range"] = {"kind": kind, "min": min, "max": max}
    if codes:
        checks["redcap_choice"] = {"codes": tuple(codes), "missing": tuple(missing)}
    if required:
        checks["redcap_required"] = {"missing": tuple(missing)}
    extra = {"alias": alias, "regex": True} if alias else {}
    return pa.Field(description=description, **checks, **extra)


def checkbox_alias(name: str, codes: tuple[str, ...], missing: tuple[str, ...]) -> str:
    """Regex naming the checkbox columns of a field: one per choice and per missing-data code."""
    suffixes = [s.normalise_code(code) for code in (*codes, *missing)]
    return rf"^{re.escape(name)}___({'|'.join(re.escape(x) for x in suffixes)})$"


def checkbox_field(name: str, description: str, codes: tuple[str, ...], missing: tuple[str, ...]):
    """The columns `<name>___<code>` of a checkbox field: each 1 (ticked), 0 or blank.

    The missing-data-code columns are optional: REDCap's API exports, older versions and
    `@NOMISSING` fields leave them out, so the regex may match all, some or none of them."""
    return pa.Field(
        description=f"{description} (one column per choice: 1 ticked, 0 not)",
        alias=checkbox_alias(name, codes, missing),
        regex=True,
        redcap_choice={"codes": ("0", "1"), "missing": ()},
        redcap_checkbox_codes={"codes": tuple(codes)},
    )


def complete_field(form: str):
    """`<form>_complete`: 0 incomplete, 1 unverified, 2 complete."""
    return value_field(f"Status of form {form}: 0 incomplete, 1 unverified, 2 complete", "", codes=s.COMPLETE_CODES)


class FormModel(pa.DataFrameModel):
    """Key of every form row: (record_id, event, instance). The index is the file's `source_row`."""

    record_id: Series[str] = pa.Field(
        description="The record id (the dictionary's first field)", redcap_required={"missing": ()}
    )
    event: Series[str] = pa.Field(description="Unique event name, e.g. baseline_arm_1")
    instance: Series[int] = pa.Field(ge=1, description="Repeat instance; 1 on a row that does not repeat")

    class Config:
        strict = True


KEY = ["record_id", "event", "instance"]


# -- a model for any project's form, from its dictionary ---------------------------------------------
def field_for(f: s.Field, missing: tuple[str, ...]):
    """The Field(s) of one dictionary field: {column name or regex: pandera Field}."""
    missing = missing if f.allows_missing_codes else ()
    if f.kind == s.KIND_CHECKBOX:
        codes = tuple(code for code, _ in f.choices)
        return {f.name: checkbox_field(f.name, f.label, codes, missing)}
    return {
        f.name: value_field(
            f.label, f.kind, min=f.range[0], max=f.range[1], codes=f.codes, required=f.required, missing=missing
        )
    }


def schema_for(study: s.Study, form: str, optional_columns: tuple[str, ...] = ()) -> pa.DataFrameSchema:
    """A strict text schema for one form of any REDCap project, derived from its dictionary.

    `optional_columns` are the REDCap system columns an export carries on request (data access
    group, survey timestamp): plain text, with no check, so they never change what is checked.
    A required field with branching logic that is evaluated is checked where its logic shows it
    (`schemas/dictionary_logic.py`), not here."""
    from runback.schemas.dictionary_logic import dictionary_logic  # it reads the form key from here

    missing = tuple(study.missing_codes)
    shown_by_logic = dictionary_logic(study).branching
    columns = dict(FormModel.to_schema().columns)
    for f in study.forms[form].fields:
        if f.name == study.record_id or f.identifier or not f.has_column:
            continue
        if f.name in shown_by_logic:
            f = dataclasses.replace(f, required=False)
        for name, fld in field_for(f, missing).items():
            columns[fld.alias or name] = _column(fld, name)
    complete = study.forms[form].complete_column
    columns[complete] = _column(complete_field(form), complete)
    for col in optional_columns:
        columns[col] = pa.Column(str, description=f"{col} (exported on request)")
    return pa.DataFrameSchema(columns, strict=True, name=form)


def with_row_checks(
    schema: pa.DataFrameSchema, model: type[FormModel] | None, columns: list[str] | None = None
) -> tuple[pa.DataFrameSchema, list[str]]:
    """The dictionary's schema plus the row-level checks of a hand-written model.

    A row check that cannot run on the form's `columns` (default: the schema's named columns) —
    it reads a field the dictionary no longer has, or a column this export lacks — is left out
    and said: the second value lists such notes."""
    if model is None:
        return schema, []
    names = columns if columns is not None else [n for n in schema.columns if not _is_regex(schema, n)]
    probe = pd.DataFrame({name: pd.Series(dtype="str") for name in names})
    kept, notes = [], []
    for check in model.to_schema().checks:
        try:
            check._check_fn(probe)
        except KeyError as err:
            notes.append(f"row check {check.name} of form {schema.name} cannot run: the dictionary has no column {err}")
            continue
        kept.append(check)
    return _with_checks(schema, kept), notes


def _with_checks(schema: pa.DataFrameSchema, checks: list) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(schema.columns, checks=checks, strict=schema.strict, name=schema.name)


def _is_regex(schema: pa.DataFrameSchema, name: str) -> bool:
    return bool(schema.columns[name].regex)


def _column(fld, name: str) -> pa.Column:
    """A schema Column from a model Field, so both kinds of model share one definition of checks.

    A regex column (a checkbox's `<name>___<code>` columns) is not required: an export may carry
    some, all or none of its missing-data-code columns."""
    regex = bool(fld.regex)
    return pa.Column(
        str, checks=fld.checks, name=fld.alias or name, regex=regex, required=not regex, description=fld.description
    )
