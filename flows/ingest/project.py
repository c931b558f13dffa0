"""Load a REDCap project's definition files (dictionary, events, designations, repeating
instruments, missing-data codes) into a `schemas.study.Study`.

Files are REDCap's own downloads, UI style (long headers, any delimiter, maybe a BOM) or API
style (snake_case CSV or JSON). A project folder is searched by REDCap's file-name patterns; the
trial's own copy lives in `schemas/redcap/`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

from runback.flows.ingest.read import RefusedFile, decode, read_text_table
from runback.flows.settings import PROJECT_DIR
from runback.schemas.study import Study, StudyDefinitionError

_DATED = re.compile(r"_(\d{4}-\d{2}-\d{2})")
PATTERNS = {
    "dictionary": ("*DataDictionary*.csv", "*DataDictionary*.json", "dictionary.csv", "metadata.csv", "metadata.json"),
    "events": ("*_Events*.csv", "*_Events*.json", "event.csv", "events.csv", "event.json", "events.json"),
    "designations": (
        "*InstrumentDesignations*.csv",
        "*InstrumentDesignations*.json",
        "*formEventMapping*.csv",
        "*formEventMapping*.json",
        "instrument_designations.csv",
        "instrument_designations.json",
    ),
    "repeating": (
        "*RepeatingInstruments*.csv",
        "*RepeatingInstruments*.json",
        "*repeatingFormsEvents*.csv",
        "*repeatingFormsEvents*.json",
        "repeating*.csv",
        "repeating*.json",
    ),
    "missing_codes": ("*MissingDataCodes*.txt", "missing_data_codes.txt"),
}
"""REDCap's download names (UI: `<Title>_Events_<date>.csv`; API bodies saved as CSV or JSON)."""


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a small REDCap CSV or JSON download, keyed by header."""
    path = Path(path)
    data = path.read_bytes()
    if path.suffix.lower() == ".json":
        return json_rows(data, path)
    frame, _ = read_text_table(data, path)
    return frame.drop(columns="source_row").to_dict("records")


def json_rows(data: bytes, path: Path) -> list[dict[str, str]]:
    """Rows of a REDCap JSON answer (an array of objects); values as text, null as blank."""
    try:
        rows = json.loads(decode(data.lstrip(b"\xef\xbb\xbf"), path))
    except json.JSONDecodeError as err:
        raise RefusedFile(path, f"it is not valid JSON ({err}).", "Download the file again from REDCap.") from None
    if isinstance(rows, dict) and "error" in rows:
        raise RefusedFile(path, "it holds REDCap's error answer, not the project file.", "Download it again.")
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise RefusedFile(path, "it is JSON but not a list of rows.", "Download the file again from REDCap.")
    return [{k: "" if v is None else str(v) for k, v in row.items()} for row in rows]


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
    """The date in a project file's name (`..._YYYY-MM-DD...`), if any; a date the calendar does
    not have is refused, naming the file (which dictionary an export was read with must be known)."""
    match = _DATED.search(Path(path).name)
    if not match:
        return None
    try:
        return dt.date.fromisoformat(match[1])
    except ValueError:
        raise RefusedFile(
            Path(path),
            f"its name's date {match[1]} does not exist, so which exports it applies to cannot be known.",
            "Rename it with the day it was downloaded (YYYY-MM-DD), or move it out of the inbox.",
        ) from None


def files_for_export(export: Path, project: Path, export_day: dt.date | None) -> dict[str, Path]:
    """The project files to read an export with: the project's, replaced by any dated download
    beside the export made on or before its day (a newer dictionary, events, designations)."""
    files = project_files(project)
    if export_day is not None and Path(export).parent.resolve() != Path(project).resolve():
        files.update(project_files(Path(export).parent, until=export_day))
    return files


def dictionary_used(files: dict[str, Path], project: Path, study: Study | None = None) -> dict:
    """The dictionary file an export is read with: its path and sha256, and, when it is a dated
    download beside the export, the project folder's dictionary it replaces (`replaces`) and
    whether the two define different fields (`differs`; a same dictionary saved by the API with
    other column names does not)."""
    path = Path(files["dictionary"])
    project_dictionary = project_files(Path(project)).get("dictionary")
    replaces = project_dictionary if project_dictionary and path.resolve() != project_dictionary.resolve() else None
    differs = False
    if replaces is not None:
        differs = study is None or load_study(**project_files(Path(project))).fields != study.fields
    return {
        "path": str(path),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "replaces": str(replaces) if replaces else None,
        "differs": differs,
    }


def describe_dictionary(used: dict) -> str:
    """A log line naming the dictionary an export is read with (and what it replaces)."""
    line = f"read with the data dictionary {used['path']} (sha256 {used['sha256'][:16]}…)"
    if used["replaces"]:
        same = "" if used["differs"] else " (the same fields)"
        line += f", a dated download beside the export, instead of the project's {used['replaces']}{same}"
    return line


def load_project(folder: Path = PROJECT_DIR) -> Study:
    """The study defined by the REDCap project files in a folder (default: the trial's)."""
    files = project_files(folder)
    if "dictionary" not in files:
        raise RefusedFile(folder, "no data dictionary found (expected a file named like *_DataDictionary_*.csv).")
    return load_study(**files)
