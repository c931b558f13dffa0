"""Export the analysis tables of a data cut for statisticians: CSV, Parquet or Stata, one file
per table, plus `data_dictionary.csv` (table, column, type, description).

De-identified by construction: identifier fields never enter the warehouse. CSV is written for
spreadsheets too (`runback.flows.spreadsheet`: no cell can run as a formula).
Stata has no boolean or nullable integer type: booleans become 0/1 bytes, integer columns with
missing values become doubles, text longer than 2,045 characters is stored as strL.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from runback.flows.analyse.tables import TABLES
from runback.flows.cuts import cuts
from runback.flows.errors import Refused
from runback.flows.spreadsheet import neutralise
from runback.flows.warehouse import connect_read_only, sql

if TYPE_CHECKING:  # a blinded export needs neither the key's module nor the trial's definitions
    from runback.flows.allocation import Key


class ExportError(Refused):
    """An export that cannot be made (no analysed cut, unknown cut)."""


def export_tables(db: Path, folder: Path, fmt: str, cut: int | None = None, key: Key | None = None) -> list[Path]:
    """Write every analysis table of `cut` (default: the newest analysed) and the data dictionary.

    Blinded, arm columns hold the warehouse's letters. With the warehouse's `key` (unblinded), they
    hold the true arm, the dictionary and an UNBLINDED.txt say so, and the export is logged in
    meta.unblinding before any file is written.

    All or nothing: the files are written into a new folder beside `folder`, renamed to `folder`
    when every one is whole. `folder` must be new or empty (an export never mixes with another);
    a write that fails (a full disk) leaves nothing and is refused, naming the folder."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or folder.is_symlink() or any(folder.iterdir())):
        raise ExportError(
            f"{folder} is not a new or empty folder: an export would mix with what it holds.",
            "Name a new folder with --to (each export in its own).",
        )
    cut, frames, dictionary = _tables(db, cut)
    if fmt not in WRITERS:
        raise ExportError(f"unknown format {fmt!r}: csv, parquet or dta")
    if key is not None:
        from runback.flows.allocation import log_unblinding

        log_unblinding(db, "export", key, str(folder.resolve()), cut)
        frames = {table: unblind(frame, key) for table, frame in frames.items()}
        marked = dictionary["column"].isin(["arm", "term"])
        unblinded = "UNBLINDED: " + dictionary["description"]
        dictionary = dictionary.assign(description=dictionary["description"].where(~marked, unblinded))
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".tmp"))
    try:
        names = [write_table(frame, staging / table, fmt).name for table, frame in frames.items()]
        if key is not None:
            text = (
                f"UNBLINDED export of data cut {cut}: arm columns hold the true arm (LL, LE, LS), unblinded with "
                f"the allocation key of fingerprint {key.fingerprint}. Logged in the warehouse (meta.unblinding).\n"
            )
            (staging / "UNBLINDED.txt").write_text(text)
            names.append("UNBLINDED.txt")
        neutralise(dictionary).to_csv(staging / "data_dictionary.csv", index=False)
        staging.chmod(0o777 & ~_umask())
        if folder.exists():
            folder.rmdir()  # empty, as checked
        staging.rename(folder)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise ExportError(
            f"the export could not be written beside {folder}: {err.strerror or err}; nothing was written.",
            "Free some space (or choose another folder) and export again.",
        ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [folder / name for name in [*names, "data_dictionary.csv"]]


def _tables(db: Path, cut: int | None) -> tuple[int, dict, pd.DataFrame]:
    """The cut to export (default: the newest, which must be analysed), its analysis tables and the data dictionary."""
    with connect_read_only(db) as con:
        known = cuts(con)
        if cut is None and known.latest in known.unanalysed:
            raise ExportError(
                f"the newest data cut {known.latest} is not analysed yet; an export would silently serve an older cut.",
                "Run `runback ingest` (it analyses the newest cut), or name a cut with --data-cut.",
            )
        cut = known.chosen_analysed(cut)
        frames = {t: con.execute(sql("query/export_table", table=t), {"cut": cut}).df() for t in TABLES}
        dictionary = con.execute(sql("query/export_dictionary")).df()
    return cut, frames, dictionary


def _stata(frame: pd.DataFrame, path: Path) -> None:
    stata, strl = stata_ready(frame)
    stata.to_stata(path, write_index=False, version=118, convert_strl=strl)


WRITERS = {
    "parquet": lambda frame, path: frame.to_parquet(path, index=False),
    "dta": _stata,
    "csv": lambda frame, path: neutralise(frame).to_csv(path, index=False),
}
"""Format -> how a table is written to a path (the suffix is the format's name)."""


def write_table(frame: pd.DataFrame, stem: Path, fmt: str) -> Path:
    """One table in the chosen format; returns the file written."""
    path = stem.with_suffix(f".{fmt}")
    _replace_into(path, lambda tmp: WRITERS[fmt](frame, tmp))
    return path


def _replace_into(path: Path, write) -> None:
    """Write a new file and rename it onto `path`: a symlink planted at `path` is replaced, never
    written through, and a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def unblind(frame: pd.DataFrame, key: Key) -> pd.DataFrame:
    """A table with its arm letters replaced by the arms they stand for (arm column, model terms)."""
    arms = {letter: arm for arm, letter in key.letters.items()}
    out = frame.copy()
    if "arm" in out.columns:
        out["arm"] = out["arm"].map(lambda v: arms.get(v, v))
    if "term" in out.columns:
        pattern = re.compile(r"\b(" + "|".join(arms) + r")\b")
        out["term"] = out["term"].map(lambda t: pattern.sub(lambda m: arms[m[1]], t) if isinstance(t, str) else t)
    return out


def stata_ready(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """A frame Stata can store, and the text columns that need strL."""
    out = frame.copy()
    strl = []
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_bool_dtype(series) or (
            series.dtype == object and series.dropna().map(type).eq(bool).all() and series.notna().any()
        ):
            out[column] = series.astype("Float64").astype("float64") if series.isna().any() else series.astype("int8")
        elif pd.api.types.is_integer_dtype(series) and series.isna().any():
            out[column] = series.astype("float64")
        elif pd.api.types.is_string_dtype(series) or series.dtype == object:
            # Stata ends a string at a NUL byte: show it as the two characters \0 rather than cut the value
            text = series.astype(object).where(series.notna(), "")
            out[column] = text.map(lambda v: str(v).replace("\x00", "\\0"))
            if out[column].map(len).max() > 2045:
                strl.append(column)
    return out, strl
