"""What every form model shares: key columns, REDCap value checks, row-level checks, and the
builder that derives a model from any project's dictionary.

Form frames reach validation as *text* (exactly as exported, identifiers already dropped), one row
per form row, indexed by `source_row`. Checks therefore read text: a value is blank, a missing-data
code ("missing for a reason", always accepted), or must parse as its field's kind and sit in its
range and choices. Checking the text, not a coerced column, keeps every bad cell visible with the
value the data manager will look for in REDCap (coercion failures would hide range failures).

Each check says what happens to a failing row: `quarantine` (the form row is not loaded) or
`flag` (the row loads and a data query is raised).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
import pyarrow as arrow
import pyarrow.compute as pc
from pandera import extensions
from pandera.typing import Series

from runback.schemas import study as s

QUARANTINE = "quarantine"
FLAG = "flag"

_PATTERNS = {
    s.KIND_INTEGER: r"-?\d+",
    s.KIND_NUMBER: r"-?(?:\d+\.?\d*|\.\d+)",
    s.KIND_NUMBER_COMMA: r"-?(?:\d+[.,]?\d*|[.,]\d+)",
    s.KIND_DATE: r"\d{4}-\d{2}-\d{2}",
    s.KIND_DATETIME: r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2})?",
    s.KIND_TIME: r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?",
    s.KIND_TIME_MS: r"[0-5]\d:[0-5]\d",
}
KIND_WORDS = {
    s.KIND_INTEGER: "a whole number",
    s.KIND_NUMBER: "a number",
    s.KIND_NUMBER_COMMA: "a number",
    s.KIND_DATE: "a real date (YYYY-MM-DD)",
    s.KIND_DATETIME: "a real date and time (YYYY-MM-DD HH:MM)",
    s.KIND_TIME: "a time (HH:MM)",
    s.KIND_TIME_MS: "a time (MM:SS)",
}


_TIMESTAMP_FORMATS = {  # kind -> (prefix added to the text, strptime formats tried in order)
    s.KIND_DATE: ("", ("%Y-%m-%d",)),
    s.KIND_DATETIME: ("", ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")),
    s.KIND_TIME: ("2000-01-01 ", ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")),
    s.KIND_TIME_MS: ("2000-01-01 00:", ("%Y-%m-%d %H:%M:%S",)),
}
_SAFE_INTEGER = 2.0**53
"""Whole numbers beyond this do not survive as numbers: they count as not a number."""


def parse(values: pd.Series, kind: str) -> pd.Series:
    """Text -> numbers or timestamps for a kind; NA where the text does not parse (vectorised, in
    Arrow). A date must exist: `2015-02-30` does not parse."""
    if kind not in _PATTERNS:
        return pd.Series(pd.NA, index=values.index, dtype="object")
    text = arrow.array(values.astype("str"), type=arrow.large_string(), from_pandas=True)
    return pd.Series(parse_arrow(text, kind).to_numpy(zero_copy_only=False), index=values.index)


def parse_arrow(text: arrow.Array, kind: str) -> arrow.Array:
    """`parse` on an Arrow string array: float64 for numbers, timestamp[s] for dates and times."""
    pattern = _PATTERNS[kind]
    shaped = pc.fill_null(pc.match_substring_regex(text, f"^(?:{pattern})$"), False)
    text = pc.if_else(shaped, text, arrow.scalar(None, text.type))
    if kind in _TIMESTAMP_FORMATS:
        prefix, formats = _TIMESTAMP_FORMATS[kind]
        text = (
            pc.binary_join_element_wise(arrow.scalar(prefix, text.type), text, arrow.scalar("", text.type))
            if prefix
            else text
        )
        parsed = None
        for fmt in formats:
            stamp = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
            parsed = stamp if parsed is None else pc.coalesce(parsed, stamp)
        # strptime rolls impossible days over (2015-02-30 -> 03-02): keep a stamp only where its day
        # is the day written, and (for a time) where printing it back gives the text
        if kind == s.KIND_DATE:
            written_day = pc.cast(pc.utf8_slice_codeunits(text, 8, 10), arrow.int64())
            exact = pc.equal(pc.day(parsed), written_day)
        else:
            printed = [pc.strftime(parsed, format=fmt) for fmt in formats]
            exact = pc.equal(printed[0], text) if len(printed) == 1 else pc.or_(*(pc.equal(p, text) for p in printed))
        return pc.if_else(pc.fill_null(exact, False), parsed, arrow.scalar(None, parsed.type))
    if kind == s.KIND_NUMBER_COMMA:
        text = pc.replace_substring(text, ",", ".")
    number = pc.cast(text, arrow.float64())
    if kind == s.KIND_INTEGER:
        number = pc.if_else(pc.less_equal(pc.abs(number), _SAFE_INTEGER), number, arrow.scalar(None, arrow.float64()))
    return number


def bound(text: str, kind: str):
    """A dictionary min/max as a comparable value (None when absent or not a value, e.g. 'today')."""
    if not text:
        return None
    value = parse(pd.Series([text]), kind).iloc[0]
    return None if pd.isna(value) else value


# -- registered checks: usable as Field(<name>={...}) in every model ----------------------------
@extensions.register_check_method(statistics=["kind", "missing"], supported_types=pd.Series)
def redcap_type(values: pd.Series, *, kind: str, missing: tuple[str, ...]) -> pd.Series:
    """The value is blank, a missing-data code, or parses as the field's kind."""
    return (values == "") | values.isin(missing) | parse(values, kind).notna()


@extensions.register_check_method(statistics=["kind", "min", "max"], supported_types=pd.Series)
def redcap_range(values: pd.Series, *, kind: str, min: str, max: str) -> pd.Series:
    """A value that parses lies within [min, max] (blank, codes and unparsable values pass here)."""
    parsed = parse(values, kind)
    ok = pd.Series(True, index=values.index)
    low, high = bound(min, kind), bound(max, kind)
    if low is not None:
        ok &= ~(parsed < low).fillna(False)
    if high is not None:
        ok &= ~(parsed > high).fillna(False)
    return ok


@extensions.register_check_method(statistics=["codes", "missing"], supported_types=pd.Series)
def redcap_choice(values: pd.Series, *, codes: tuple[str, ...], missing: tuple[str, ...]) -> pd.Series:
    """The value is blank, a missing-data code or one of the field's codes."""
    return (values == "") | values.isin(codes) | values.isin(missing)


@extensions.register_check_method(statistics=["missing"], supported_types=pd.Series)
def redcap_required(values: pd.Series, *, missing: tuple[str, ...]) -> pd.Series:
    """A required field is not blank (a missing-data code counts as answered)."""
    return values != ""


# -- field builders: one per kind, shared by the trial's models and the generic builder ----------
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
    if kind in _PATTERNS:
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
    """The columns `<name>___<code>` of a checkbox field: each 1 (ticked), 0 or blank."""
    return pa.Field(
        description=f"{description} (one column per choice: 1 ticked, 0 not)",
        alias=checkbox_alias(name, codes, missing),
        regex=True,
        redcap_choice={"codes": ("0", "1"), "missing": ()},
        redcap_checkbox_codes={"codes": tuple(codes)},
    )


@extensions.register_check_method(statistics=["codes"], supported_types=pd.Series)
def redcap_checkbox_codes(values: pd.Series, *, codes: tuple[str, ...]) -> pd.Series:
    """Documents a checkbox field's choice codes (the column names carry them; always true)."""
    return pd.Series(True, index=values.index)


def complete_field(form: str):
    """`<form>_complete`: 0 incomplete, 1 unverified, 2 complete."""
    return value_field(f"Status of form {form}: 0 incomplete, 1 unverified, 2 complete", "", codes=s.COMPLETE_CODES)


# -- failure records: what quarantine.rows and quarantine.flags hold --------------------------------
FAILURE_COLUMNS = [
    "form",
    "source_row",
    "record_id",
    "event",
    "instance",
    "column",
    "value",
    "check",
    "reason",
    "action",
]


def failures(
    rows: pd.DataFrame, form: str, column: str, value, check: str, reason, action: str = QUARANTINE
) -> pd.DataFrame:
    """Failure records (FAILURE_COLUMNS) for `rows` (a frame with KEY-like columns, index source_row)."""
    return pd.DataFrame(
        {
            "form": form,
            "source_row": rows.index.to_numpy(),
            "record_id": rows["record_id"].to_numpy(),
            "event": rows["event"].astype(str).to_numpy(),
            "instance": rows["instance"].astype(str).to_numpy(),
            "column": column,
            "value": _shown(value),
            "check": check,
            "reason": reason if not isinstance(reason, pd.Series) else reason.to_numpy(),
            "action": action,
        },
        columns=FAILURE_COLUMNS,
    )


VALUE_SHOWN_MAX = 500
"""A failing value longer than this is kept cut, with its length, in quarantine.rows."""


def _shown(value):
    """The failing value(s) as recorded: text, cut to VALUE_SHOWN_MAX characters."""
    if not isinstance(value, pd.Series):
        return value
    text = value.astype(str)
    long = text.str.len() > VALUE_SHOWN_MAX
    if long.any():
        text = text.where(
            ~long, text.str.slice(0, VALUE_SHOWN_MAX) + "… (" + text.str.len().astype(str) + " characters)"
        )
    return text.to_numpy()


def no_failures() -> pd.DataFrame:
    return pd.DataFrame(columns=FAILURE_COLUMNS)


def concat_failures(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else no_failures()


# -- row-level checks (several columns of one form row) --------------------------------------------
@dataclass(frozen=True)
class RowCheck:
    """What a failed row-level check means: the column to point at, the action and the reason."""

    column: str
    action: str
    reason: str


ROW_CHECKS: dict[str, RowCheck] = {}


def row_check(*, column: str, reason: str, action: str = QUARANTINE) -> Callable:
    """Declare a dataframe check of a form model (returns True for good rows)."""

    def register(fn: Callable) -> Callable:
        ROW_CHECKS[fn.__name__] = RowCheck(column, action, reason)
        return pa.dataframe_check(name=fn.__name__)(fn)

    return register


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
    """A strict text schema for one form of any REDCap project, derived from its dictionary."""
    missing = tuple(study.missing_codes)
    columns = dict(FormModel.to_schema().columns)
    for f in study.forms[form].fields:
        if f.name == study.record_id or f.identifier or not f.has_column:
            continue
        for name, fld in field_for(f, missing).items():
            columns[fld.alias or name] = _column(fld, name)
    complete = study.forms[form].complete_column
    columns[complete] = _column(complete_field(form), complete)
    for col in optional_columns:
        columns[col] = pa.Column(str, description=f"{col} (exported on request)")
    return pa.DataFrameSchema(columns, strict=True, name=form)


def _column(fld, name: str) -> pa.Column:
    """A schema Column from a model Field, so both kinds of model share one definition of checks."""
    return pa.Column(str, checks=fld.checks, name=fld.alias or name, regex=bool(fld.regex), description=fld.description)
