"""Load a REDCap project's definition files (dictionary, events, designations, repeating
instruments, missing-data codes) into a `schemas.study.Study`.

Files are REDCap's own downloads, UI style (long headers, any delimiter, maybe a BOM) or API
style (snake_case CSV or JSON). A project folder is searched by REDCap's file-name patterns; the
trial's own copy lives in `schemas/redcap/`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from runback.flows.ingest.read import RefusedFile, decode, read_text_table
from runback.flows.settings import PROJECT_DIR
from runback.schemas.study import Study, StudyDefinitionError

_DATED = re.compile(r"_(\d{4}-\d{2}-\d{2})")
PATTERNS = {
    "dictionary": ("*DataDictionary*.csv", "*DataDictionary*.json", "dictionary.csv", "metadata.csv", "metadata.json"),
    "events": ("*_Events*.csv", "event.csv", "events.csv"),
    "designations": ("*InstrumentDesignations*.csv", "*formEventMapping*.csv", "instrument_designations.csv"),
    "repeating": ("*RepeatingInstruments*.csv", "repeating*.csv"),
    "missing_codes": ("*MissingDataCodes*.txt", "missing_data_codes.txt"),
}


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a small REDCap CSV or JSON download, keyed by header."""
    data = Path(path).read_bytes()
    if path.suffix.lower() == ".json":
        try:
            rows = json.loads(decode(data.lstrip(b"\xef\xbb\xbf"), path))
        except json.JSONDecodeError as err:
            raise RefusedFile(path, f"it is not valid JSON ({err}).") from None
        return [{k: "" if v is None else str(v) for k, v in row.items()} for row in rows]
    frame, _ = read_text_table(data, path)
    return frame.drop(columns="source_row").to_dict("records")


def load_study(
    dictionary: Path,
    events: Path | None = None,
    designations: Path | None = None,
    repeating: Path | None = None,
    missing_codes: Path | None = None,
) -> Study:
    """A study from explicit files (only the dictionary is required)."""
    try:
        return Study.from_rows(
            read_rows(dictionary),
            events=read_rows(events) if events else None,
            designations=read_rows(designations) if designations else None,
            repeating=read_rows(repeating) if repeating else None,
            missing_codes=decode(missing_codes.read_bytes().lstrip(b"\xef\xbb\xbf"), missing_codes)
            if missing_codes
            else "",
        )
    except StudyDefinitionError as err:
        raise RefusedFile(dictionary, str(err)) from None


def project_files(folder: Path, until: dt.date | None = None) -> dict[str, Path]:
    """The project files found in a folder, by kind (the newest name when several match).

    With `until`, only files dated in their name (`..._YYYY-MM-DD...`) on or before that day count:
    the downloads a trial team leaves beside its exports."""
    found: dict[str, Path] = {}
    for kind, patterns in PATTERNS.items():
        matches = sorted({p for pattern in patterns for p in Path(folder).glob(pattern)})
        if until is not None:
            matches = [p for p in matches if (day := file_date(p)) is not None and day <= until]
        if matches:
            found[kind] = matches[-1]
    return found


def file_date(path: Path) -> dt.date | None:
    match = _DATED.search(Path(path).name)
    return dt.date.fromisoformat(match[1]) if match else None


def files_for_export(export: Path, project: Path, export_day: dt.date | None) -> dict[str, Path]:
    """The project files to read an export with: the project's, replaced by any dated download
    beside the export made on or before its day (a newer dictionary, events, designations)."""
    files = project_files(project)
    if export_day is not None and Path(export).parent.resolve() != Path(project).resolve():
        files.update(project_files(Path(export).parent, until=export_day))
    return files


def load_project(folder: Path = PROJECT_DIR) -> Study:
    """The study defined by the REDCap project files in a folder (default: the trial's)."""
    files = project_files(folder)
    if "dictionary" not in files:
        raise RefusedFile(folder, "no data dictionary found (expected a file named like *_DataDictionary_*.csv).")
    return load_study(**files)
