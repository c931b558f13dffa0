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

from schemas import study as s
from schemas.form import KEY, parse

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
    missing = set(study.missing_codes)
    owner = study.column_owner
    arrays: dict[str, pa.Array] = {
        "record_id": pa.array(rows["record_id"], pa.string(), from_pandas=True),
        "event": pa.array(rows["event"], pa.string(), from_pandas=True),
        "instance": pa.array(rows["instance"].to_numpy(dtype="int64"), pa.int64()),
    }
    for col in rows.columns:
        if col not in KEY and col not in columns:  # optional columns (DAG, survey timestamp) stay text
            arrays[col] = _text(rows[col])
    codes: dict[str, pd.Series] = {}
    for col in columns:
        form_name, f = owner[col]
        values = rows[col]
        if f is None:  # <form>_complete
            arrays[col] = pa.array(pd.to_numeric(values.where(values != ""), errors="coerce").astype("Int8"), pa.int8())
            continue
        if f.kind == s.KIND_CHECKBOX:
            code = study.field_columns(f)[col]
            if code in missing:
                codes[f.name] = codes.get(f.name, pd.Series(pd.NA, index=rows.index, dtype="object")).mask(
                    values == "1", code
                )
                continue
            arrays[col] = pa.array(values.map({"1": True, "0": False}).astype("boolean"), pa.bool_())
            continue
        is_code = values.isin(missing) if f.allows_missing_codes else pd.Series(False, index=rows.index)
        if is_code.any():
            codes[f.name] = codes.get(f.name, pd.Series(pd.NA, index=rows.index, dtype="object")).mask(is_code, values)
        arrays[col] = _typed(values.mask(is_code, ""), f.kind)
    arrays["missing_codes"] = _missing_json(codes, rows.index)
    return pa.table(arrays)


def _text(values: pd.Series) -> pa.Array:
    return pa.array(values.where(values != ""), pa.string(), from_pandas=True)


def _typed(values: pd.Series, kind: str) -> pa.Array:
    blank = values == ""
    if kind == s.KIND_YESNO:
        return pa.array(values.map({"1": True, "0": False}).astype("boolean"), pa.bool_())
    if kind not in ARROW_TYPES:
        return _text(values)
    parsed = parse(values, kind).mask(blank)
    if kind in (s.KIND_INTEGER,):
        return pa.array(parsed.astype("Int64"), pa.int64())
    if kind in (s.KIND_NUMBER, s.KIND_NUMBER_COMMA):
        return pa.array(parsed.astype("Float64"), pa.float64())
    stamps = pa.array(parsed.astype("datetime64[us]"), pa.timestamp("us"))
    return stamps.cast(ARROW_TYPES[kind], safe=False)


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
