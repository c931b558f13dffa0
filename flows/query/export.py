"""Export the analysis tables of a data cut for statisticians: CSV, Parquet or Stata, one file
per table, plus `data_dictionary.csv` (table, column, type, description).

De-identified by construction: identifier fields never enter the warehouse. CSV is written for
spreadsheets too: a text cell that starts with `=`, `+`, `-`, `@` (or a tab or carriage return)
gets a leading apostrophe, so that it cannot run as a formula; numeric columns are untouched.
Stata has no boolean or nullable integer type: booleans become 0/1 bytes, integer columns with
missing values become doubles, text longer than 2,045 characters is stored as strL.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from runback.flows.analyse.tables import TABLES
from runback.flows.errors import Refused
from runback.flows.warehouse import connect_read_only, rows, sql

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportError(Refused):
    """An export that cannot be made (no analysed cut, unknown cut)."""


def export_tables(db: Path, folder: Path, fmt: str, cut: int | None = None) -> list[Path]:
    """Write every analysis table of `cut` (default: the newest analysed) and the data dictionary."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with connect_read_only(db) as con:
        analysed = [r[0] for r in rows(con, "query/analysed_cuts")]
        if not analysed:
            raise ExportError("no data cut has been analysed yet: run `runback ingest` first")
        cut = analysed[-1] if cut is None else cut
        if cut not in analysed:
            raise ExportError(f"data cut {cut} has not been analysed (analysed: {', '.join(map(str, analysed))})")
        frames = {t: con.execute(sql("query/export_table", table=t), {"cut": cut}).df() for t in TABLES}
        dictionary = con.execute(sql("query/export_dictionary")).df()
    written = [write_table(frame, folder / table, fmt) for table, frame in frames.items()]
    dictionary_path = folder / "data_dictionary.csv"
    neutralise(dictionary).to_csv(dictionary_path, index=False)
    return [*written, dictionary_path]


def write_table(frame: pd.DataFrame, stem: Path, fmt: str) -> Path:
    """One table in the chosen format; returns the file written."""
    if fmt == "parquet":
        path = stem.with_suffix(".parquet")
        frame.to_parquet(path, index=False)
    elif fmt == "dta":
        path = stem.with_suffix(".dta")
        stata, strl = stata_ready(frame)
        stata.to_stata(path, write_index=False, version=118, convert_strl=strl)
    elif fmt == "csv":
        path = stem.with_suffix(".csv")
        neutralise(frame).to_csv(path, index=False)
    else:
        raise ExportError(f"unknown format {fmt!r}: csv, parquet or dta")
    return path


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula, with a leading apostrophe."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_string_dtype(out[column]) or out[column].dtype == object:
            text = out[column]
            risky = text.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_START))
            out[column] = text.where(~risky, "'" + text.astype(str))
    return out


def stata_ready(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """A frame Stata can store, and the text columns that need strL."""
    out = frame.copy()
    strl = []
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_bool_dtype(series) or (series.dtype == object and series.dropna().map(type).eq(bool).all()
                                                  and series.notna().any()):  # fmt: skip
            out[column] = series.astype("Float64").astype("float64") if series.isna().any() else series.astype("int8")
        elif pd.api.types.is_integer_dtype(series) and series.isna().any():
            out[column] = series.astype("float64")
        elif pd.api.types.is_string_dtype(series) or series.dtype == object:
            out[column] = series.astype(object).where(series.notna(), "")
            if out[column].map(len).max() > 2045:
                strl.append(column)
    return out, strl
