"""Coerce: validated text rows of one form -> an Arrow table with the warehouse's types.

Types follow the dictionary (`schemas.study` kinds): whole numbers BIGINT, numbers DOUBLE, dates
DATE, date-times TIMESTAMP, times TIME, yes/no and checkbox columns BOOLEAN, `_complete` TINYINT,
choice codes and text VARCHAR (codes stay codes: REDCap codes need not be numbers). A value that is
a missing-data code becomes NULL and its code is kept in the row's `missing_codes` (JSON object
field -> code); a ticked missing-code checkbox column (e.g. `excl_reason___unk`) does the same.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from runback.schemas import study as s
from runback.schemas.form import KEY
from runback.schemas.values import parse_arrow

ARROW_TYPES = {
    s.KIND_INTEGER: pa.int64(),
    s.KIND_NUMBER: pa.float64(),
    s.KIND_NUMBER_COMMA: pa.float64(),
    s.KIND_DATE: pa.date32(),
    s.KIND_DATETIME: pa.timestamp("s"),
    s.KIND_TIME: pa.time64("us"),
    s.KIND_YESNO: pa.bool_(),
}


def row_hashes(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """A 64-bit hash of each row's text in `columns` (stable for the same text and column order)."""
    if frame.empty:
        return pd.Series([], index=frame.index, dtype="uint64")
    return pd.util.hash_pandas_object(frame[columns], index=False)


def typed_rows(rows: pd.DataFrame, study: s.Study, form: str, columns: list[str]) -> pa.Table:
    """The typed table of a form's valid rows (index source_row; KEY and text columns)."""
    missing = pa.array(sorted(study.missing_codes), pa.large_string())
    owner = study.column_owner
    arrays: dict[str, pa.Array] = {
        "record_id": pa.array(rows["record_id"], pa.string(), from_pandas=True),
        "event": pa.array(rows["event"], pa.string(), from_pandas=True),
        "instance": pa.array(rows["instance"].to_numpy(dtype="int64"), pa.int64()),
    }
    for col in rows.columns:
        if col not in KEY and col not in columns:  # optional columns (DAG, survey timestamp) stay text
            arrays[col] = _blank_as_null(_arrow(rows[col])).cast(pa.string())
    codes: dict[str, pd.Series] = {}
    for col in columns:
        _, f = owner[col]
        values = _arrow(rows[col])
        if f is None:  # <form>_complete: 0, 1, 2 (validated)
            arrays[col] = pc.cast(_blank_as_null(values), pa.int8())
            continue
        if f.kind == s.KIND_CHECKBOX:
            code = study.field_columns(f)[col]
            if code in study.missing_codes:  # a ticked missing-data column says why the field is blank
                ticked = pc.equal(values, "1").to_numpy(zero_copy_only=False)
                codes[f.name] = _code_series(codes, f.name, rows.index).mask(ticked, code)
                continue
            arrays[col] = _boolean(values)
            continue
        is_code = pc.is_in(values, missing) if f.allows_missing_codes else pa.array(np.zeros(len(values), bool))
        if pc.any(is_code).as_py():
            mask = is_code.to_numpy(zero_copy_only=False)
            codes[f.name] = _code_series(codes, f.name, rows.index).mask(mask, rows[col])
            values = pc.if_else(is_code, pa.scalar("", values.type), values)
        arrays[col] = _typed(values, f.kind)
    arrays["missing_codes"] = _missing_json(codes, rows.index)
    return pa.table(arrays)


def _arrow(values: pd.Series) -> pa.Array:
    return pa.array(values, type=pa.large_string(), from_pandas=True)


def _blank_as_null(values: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type), values)


def _boolean(values: pa.Array) -> pa.Array:
    """'1' -> true, '0' -> false, blank -> null (yes/no fields and checkbox columns)."""
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.bool_()), pc.equal(values, "1"))


def _code_series(codes: dict[str, pd.Series], name: str, index: pd.Index) -> pd.Series:
    return codes.get(name, pd.Series(pd.NA, index=index, dtype="object"))


def _typed(values: pa.Array, kind: str) -> pa.Array:
    """A text column as its kind's Arrow type (blank -> null)."""
    if kind == s.KIND_YESNO:
        return _boolean(values)
    if kind not in ARROW_TYPES:
        return _blank_as_null(values).cast(pa.string())
    parsed = parse_arrow(values, kind)
    if kind == s.KIND_INTEGER:
        return pc.cast(parsed, pa.int64())
    if kind in (s.KIND_NUMBER, s.KIND_NUMBER_COMMA):
        return parsed
    return pc.cast(parsed, ARROW_TYPES[kind], safe=False)


def _missing_json(codes: dict[str, pd.Series], index: pd.Index) -> pa.Array:
    """Per row: '{"field": "CODE", ...}' for the fields left blank for a reason, else NULL."""
    out = np.full(len(index), None, dtype=object)
    if codes:
        table = pd.DataFrame(codes, index=index)
        present = table.notna().any(axis=1).to_numpy()
        for pos in np.flatnonzero(present):
            row = table.iloc[pos]
            out[pos] = json.dumps({k: v for k, v in row.items() if pd.notna(v)}, sort_keys=True)
    return pa.array(out, pa.string())
