"""Read: the bytes of a REDCap CSV file -> a table with every column as text.

Handles what real exports carry (`design/redcap-format.md` §1.6-1.7): a UTF-8 byte-order mark,
the delimiters `,` `;` tab `|` `^`, RFC 4180 quoting with line breaks inside values, CRLF line
ends, blank lines, and the UI's CSV-injection guard (one space or tab before a value starting with
`-` `+` `@` `=`). Anything it cannot read safely is refused with `RefusedFile`, naming the file,
the line and what to do; nothing is guessed.

`read_export` then checks the header against the study definition and drops identifier fields
before the table goes anywhere else.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from runback.flows.errors import Refused
from runback.flows.ingest.files import ExportFile, safe_name
from runback.schemas.study import (
    DAG_COLUMN,
    EVENT_COLUMN,
    KIND_CHECKBOX,
    REPEAT_INSTANCE_COLUMN,
    REPEAT_INSTRUMENT_COLUMN,
    SURVEY_IDENTIFIER_COLUMN,
    Study,
)


def use_jemalloc() -> None:
    """Make jemalloc pyarrow's memory pool for this process, unless the user chose one
    (`ARROW_DEFAULT_MEMORY_POOL`) or this pyarrow build lacks it (the system allocator then).

    pyarrow's default, mimalloc (apache/arrow#43254), made a 20,000-participant night about 3 s
    slower and its CSV parse erratic (measured in `docs/scaling.md`)."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:
        pa.set_memory_pool(pa.system_memory_pool())


use_jemalloc()

DELIMITERS = (",", ";", "\t", "|", "^")
BOM = b"\xef\xbb\xbf"
BLOCK_SIZE = 16 << 20
"""Bytes pyarrow parses at a time (a row must fit in one; a longer row is retried whole)."""
MAX_CELL = 65_535
"""The longest value REDCap can store in a field (a MySQL TEXT column)."""
SOURCE_ROW = "source_row"
"""Position of a record among the file's data rows: 1 is the first row after the header."""

# Header cells that only a labels export ("CSV / Microsoft Excel (labels)") has.
_LABEL_HEADER = re.compile(r"^(Record ID|Event Name|Repeat Instrument|Repeat Instance|Complete\?)$|\(choice=")
_INJECTION_GUARD = r"^[ \t]([-+@=])"


PRESENT, ABSENT, PARTLY, NOT_APPLICABLE = "present", "absent", "partly present", "not applicable"
"""Whether an export has the checkbox columns of the project's missing-data codes."""


class RefusedFile(Refused):
    """An input file that cannot be ingested as a whole; nothing of it is loaded."""

    def __init__(self, path: Path | str, problem: str, advice: str = ""):
        self.path = str(path)
        super().__init__(f"{safe_name(Path(self.path).name)}: {problem}", advice)
        self.problem = problem


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    bom: bool


@dataclass
class ExportTable:
    """A raw export as read: an Arrow table of text columns (identifiers dropped), `source_row` first."""

    file: ExportFile
    table: pa.Table | None
    dialect: Dialect
    dropped: tuple[str, ...] = ()
    optional_columns: tuple[str, ...] = field(default_factory=tuple)
    overlong: tuple[str, ...] = ()  # columns holding a value longer than REDCap can store
    rows: int = 0  # data rows of the file
    missing_code_columns: str = NOT_APPLICABLE  # present | absent | partly present | not applicable
    lacking_missing_codes: tuple[str, ...] = ()  # checkbox fields whose missing-code columns are absent
    combined_checkboxes: tuple[str, ...] = ()  # checkbox fields written as one column of codes

    @property
    def path(self) -> Path:
        return self.file.path


def _utf16_without_bom(head: bytes) -> bool:
    """ASCII text as UTF-16 writes it: every other byte NUL (little- or big-endian)."""
    return len(head) >= 8 and any(head[i::2].count(0) >= 0.9 * len(head[i::2]) for i in (0, 1))


def sniff(data: bytes, path: Path | str = "<bytes>") -> Dialect:
    """Detect the BOM and the delimiter from the header line; refuse what is not a CSV text."""
    if not data[:65536].strip(BOM + b" \t\r\n") and not data.strip(BOM + b" \t\r\n"):
        raise RefusedFile(path, "the file is empty.", "Export the data again from REDCap.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or _utf16_without_bom(data[:128]):
        raise RefusedFile(
            path,
            "this is UTF-16 text (a spreadsheet's 'Unicode text'), not a UTF-8 CSV export.",
            "Export 'CSV (raw data)' from REDCap again, or save it as 'CSV UTF-8'.",
        )
    if b"\x00" in data:  # anywhere in the file, not only its start: a NUL byte is no CSV text
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise RefusedFile(
            path,
            f"line {line} holds a NUL byte: this is a binary file (or a damaged one), not a CSV export.",
            "Export 'CSV (raw data)' from REDCap again.",
        )
    bom = data.startswith(BOM)
    header = _first_line(data[len(BOM) if bom else 0 :])
    counts = {d: _count_outside_quotes(header, d) for d in DELIMITERS}
    delimiter = max(DELIMITERS, key=lambda d: counts[d])
    return Dialect(delimiter=delimiter if counts[delimiter] else ",", bom=bom)


def decode(data: bytes, path: Path | str) -> str:
    """The file as text; a file that is not UTF-8 is refused with the line of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise RefusedFile(
            path,
            f"line {line} is not UTF-8 (byte 0x{data[err.start]:02x}); the file was probably re-saved "
            "in another encoding (e.g. Latin-1 by a spreadsheet).",
            "Export it again from REDCap, or save it as 'CSV UTF-8'.",
        ) from None


def read_table(data: bytes, path: Path | str = "<bytes>") -> tuple[pa.Table, Dialect]:
    """Parse CSV bytes into an Arrow table of text columns (blank = ''), `source_row` first.

    The bytes are parsed where they lie (no decoded copy of the file is made); the file is decoded
    only to say where a fault is."""
    dialect = sniff(data, path)
    start = len(BOM) if dialect.bom else 0
    while data[start : start + 1] in (b"\r", b"\n"):
        start += 1
    if data.count(b'"') % 2:
        raise RefusedFile(
            path,
            f"line {_unclosed_quote_line(decode(data[start:], path))} opens a quoted value that is never closed "
            "(an unterminated quote).",
            "Nothing was loaded; export the file again from REDCap.",
        )
    try:
        header = next(csv.reader(io.StringIO(_first_line(data, start)), delimiter=dialect.delimiter), [])
    except csv.Error:  # a cell longer than the csv module's field limit (131,072 characters)
        raise RefusedFile(
            path,
            f"a header cell is longer than {csv.field_size_limit():,} characters: this is not a REDCap export header.",
            "Export 'CSV (raw data)' from REDCap.",
        ) from None
    header = [h.strip() for h in header]
    _check_header_cells(header, path)
    bad_rows: list[str] = []

    def on_bad_row(row: pacsv.InvalidRow) -> str:
        bad_rows.append(row.text)
        return "skip"

    body = pa.py_buffer(memoryview(data)[start:])
    table = _parse(body, header, dialect, on_bad_row, path, lambda: decode(data[start:], path))
    if bad_rows:
        raise RefusedFile(
            path,
            _describe_bad_row(decode(data[start:], path), bad_rows[0], len(header), dialect),
            "Nothing was loaded; export the file again from REDCap (do not edit it by hand).",
        )
    table = _strip_injection_guard(table)
    overlong = [
        name
        for name, col in zip(table.column_names, table.columns, strict=True)
        if len(col) and (pc.max(pc.utf8_length(col)).as_py() or 0) > MAX_CELL
    ]
    table = table.add_column(0, SOURCE_ROW, pa.array(np.arange(1, table.num_rows + 1, dtype="int32")))
    return table.replace_schema_metadata({"overlong": ",".join(overlong)}), dialect


def read_text_table(data: bytes, path: Path | str = "<bytes>") -> tuple[pd.DataFrame, Dialect]:
    """A small CSV file (project files, tests) as a pandas frame of text columns, `source_row` first."""
    table, dialect = read_table(data, path)
    return table.to_pandas(), dialect


def read_export(source: Path | ExportFile, study: Study, data: bytes | None = None) -> ExportTable:
    """Read one raw export, check its header against the study, and drop identifier fields.

    A checkbox written as one column of codes (the API's `combineCheckboxOptions`) is expanded
    into REDCap's usual `<field>___<code>` columns first. A form row whose only values are in
    identifier fields is remembered before they are dropped (a boolean column per such form,
    `identified_column(form)`), so that the form row is kept without them."""
    path = source.path if isinstance(source, ExportFile) else Path(source)
    data = path.read_bytes() if data is None else data
    file = source if isinstance(source, ExportFile) else ExportFile.of(path, data)
    table, dialect = read_table(data, path)
    overlong = table.schema.metadata[b"overlong"].decode().split(",")
    check_longitudinal(table.column_names[1:], study, path)
    table, combined = expand_combined_checkboxes(table, study, path)
    optional = check_export_header(table.column_names[1:], study, path)
    dropped = tuple(c for c in table.column_names if _identifying(c, study))
    identified = _identified_forms(table, dropped, study)
    table = table.drop_columns(list(dropped))
    for form, mask in identified.items():
        table = table.append_column(_identified_column(form), pa.array(mask))
    presence, lacking = missing_code_presence(table.column_names, study)
    overlong = tuple(c for c in overlong if c and c not in dropped)
    return ExportTable(file, table, dialect, dropped, optional, overlong, table.num_rows, presence, lacking, combined)


def identified_column(form: str) -> str:
    """The name of the internal column saying which rows hold identifier values of `form`."""
    return _identified_column(form)


def _identified_column(form: str) -> str:
    return f"__identified__{form}"


def _identified_forms(table: pa.Table, dropped: tuple[str, ...], study: Study) -> dict[str, np.ndarray]:
    """Per form with identifier fields, the rows where one of them holds a value."""
    out: dict[str, np.ndarray] = {}
    for column in dropped:
        owner = study.column_owner.get(column)
        if owner is None:  # the survey identifier: not a form's field
            continue
        field_ = owner[1]
        ticked = pc.equal(table[column], "1") if field_ is not None and field_.kind == KIND_CHECKBOX else None
        has = (ticked if ticked is not None else pc.not_equal(table[column], "")).to_numpy(zero_copy_only=False)
        out[owner[0]] = out.get(owner[0], np.zeros(table.num_rows, bool)) | has
    return out


def missing_code_presence(header: list[str], study: Study) -> tuple[str, tuple[str, ...]]:
    """Whether the export has the missing-data-code checkbox columns: present, absent or partly
    present (with the checkbox fields that lack some), or not applicable (none are expected)."""
    expected = study.missing_code_columns
    if not expected:
        return NOT_APPLICABLE, ()
    have = set(header)
    lacking = tuple(dict.fromkeys(f for c, f in expected.items() if c not in have))
    if not lacking:
        return PRESENT, ()
    if all(c not in have for c in expected):
        return ABSENT, lacking
    return PARTLY, lacking


def check_longitudinal(header: list[str], study: Study, path: Path | str) -> None:
    """Refuse a longitudinal export read with project files that define no events."""
    if EVENT_COLUMN in header and not study.longitudinal:
        raise RefusedFile(
            path,
            f"this export is longitudinal (it has a '{EVENT_COLUMN}' column) but the project files have no "
            "events: the events file (<Title>_Events_<date>.csv) and the instrument designations "
            "(<Title>_InstrumentDesignations_<date>.csv) are missing.",
            "Download them from REDCap (Project Setup -> Define my events, and -> Designate instruments for "
            "my events; or the API with content=event, content=formEventMapping and content=repeatingFormsEvents) "
            "and put them in the project folder (--project) beside the data dictionary; CSV or JSON.",
        )


def expand_combined_checkboxes(table: pa.Table, study: Study, path: Path | str) -> tuple[pa.Table, tuple[str, ...]]:
    """A checkbox exported as one column of comma-separated codes -> one `<field>___<code>` column
    per choice (and per missing-data code), as a usual export writes it."""
    combined = [c for c in table.column_names if c in study.field_map and study.field_map[c].kind == KIND_CHECKBOX]
    for name in combined:
        table = _expand_checkbox(table, study, name, path)
    return table, tuple(combined)


def _expand_checkbox(table: pa.Table, study: Study, name: str, path: Path | str) -> pa.Table:
    field_ = study.field_map[name]
    columns = study.field_columns(field_)  # column -> code
    both = [c for c in columns if c in table.column_names]
    if both:
        raise RefusedFile(
            path,
            f"checkbox '{name}' is both one column of codes and separate columns ({_names(both, 3)}).",
            "Export the data again from REDCap with one of the two checkbox layouts.",
        )
    values = table[name].to_pylist()
    chosen = [{code.strip() for code in v.split(",") if code.strip()} for v in values]
    unknown = sorted(set().union(*chosen) - set(columns.values())) if chosen else []
    if unknown:
        first = next(i for i, c in enumerate(chosen, start=1) if c - set(columns.values()))
        raise RefusedFile(
            path,
            f"column '{name}' (a checkbox written as one column of codes) holds {len(unknown)} code(s) that are "
            f"not choices of the field (first in data row {first}).",
            "Export the data again from REDCap; if the field gained choices, ingest with the new dictionary.",
        )
    complete = study.forms[field_.form].complete_column
    status = table[complete].to_pylist() if complete in table.column_names else [""] * len(values)
    at = table.column_names.index(name)
    table = table.remove_column(at)
    for offset, (column, code) in enumerate(columns.items()):
        cells = ["1" if code in c else ("0" if (v or s) else "") for c, v, s in zip(chosen, values, status)]
        table = table.add_column(at + offset, column, pa.array(cells, pa.string()))
    return table


def check_export_header(header: list[str], study: Study, path: Path | str) -> tuple[str, ...]:
    """Refuse a header that is not a raw export of this project; return the optional columns present.

    Optional columns are those REDCap adds only on request: the data access group, the survey
    identifier and survey timestamps. The missing-data-code checkbox columns may be present, absent
    or partly present (`missing_code_presence` says which).
    """
    rid = study.record_id
    if rid not in header:
        raise RefusedFile(
            path,
            f"the record-id column '{rid}' (the first field of the data dictionary) is missing; "
            f"the header starts {_names(header[:4])}.",
            "Export all fields, including the record id, as 'CSV (raw data)'.",
        )
    optional_codes = study.missing_code_columns  # missing-data-code checkbox columns may be absent
    expected = study.export_columns()
    structural = [EVENT_COLUMN] if study.longitudinal else []
    if study.has_repeats:
        structural += [REPEAT_INSTRUMENT_COLUMN, REPEAT_INSTANCE_COLUMN]
    survey = {form.survey_timestamp_column for form in study.forms.values()}
    optional_names = {DAG_COLUMN, SURVEY_IDENTIFIER_COLUMN, REPEAT_INSTRUMENT_COLUMN, REPEAT_INSTANCE_COLUMN} | survey
    known = set(expected) | optional_names
    unknown = [c for c in header if c not in known]
    if unknown:
        raise RefusedFile(
            path,
            f"{len(unknown)} column(s) are not in the data dictionary: {_names(unknown)}.",
            "If the project's dictionary changed, ingest with the new dictionary "
            "(put RUNBACK_DataDictionary_<date>.csv beside the export or pass --project).",
        )
    identifiers = set(study.identifiers)
    missing = [
        c for c in expected if c not in header and c.split("___")[0] not in identifiers and c not in optional_codes
    ]
    missing += [c for c in structural if c not in header and c not in missing]
    if missing:
        raise RefusedFile(
            path,
            f"{len(missing)} column(s) of the data dictionary are missing: {_names(missing)}.",
            "Export 'All data' with every field (a report with a subset of fields cannot be a snapshot).",
        )
    if (REPEAT_INSTRUMENT_COLUMN in header) != (REPEAT_INSTANCE_COLUMN in header):
        raise RefusedFile(path, "only one of the two repeat columns is present.", "Export the data again from REDCap.")
    return tuple(c for c in header if c in optional_names and c not in structural)


def _identifying(column: str, study: Study) -> bool:
    return column == SURVEY_IDENTIFIER_COLUMN or column.split("___")[0] in set(study.identifiers)


def _check_header_cells(header: list[str], path: Path | str) -> None:
    if not any(header):
        raise RefusedFile(path, "the first line (the header) is blank.", "Export the data again from REDCap.")
    labels = [h for h in header if _LABEL_HEADER.search(h)]
    if labels:
        raise RefusedFile(
            path,
            f"this is a labels export (header cells such as {_names(labels[:3])}).",
            "Export 'CSV / Microsoft Excel (raw data)' instead: runback reads raw codes and variable names.",
        )
    seen, dups = set(), []
    for h in header:
        if h in seen and h not in dups:
            dups.append(h)
        seen.add(h)
    if dups:
        raise RefusedFile(path, f"the header repeats column(s) {_names(dups)}.", "Export the data again from REDCap.")
    if "" in header:
        raise RefusedFile(
            path, f"header column {header.index('') + 1} has no name.", "Export the data again from REDCap."
        )


def _parse(body: pa.Buffer, header: list[str], dialect: Dialect, on_bad_row, path, text) -> pa.Table:
    """pyarrow's CSV reader with every column as text; a row longer than a block (a huge value)
    is read again with the whole file as one block. Bytes that are not UTF-8 are refused with
    the line of the first one (`text()` decodes the file to find it), whatever fault pyarrow met first."""
    for block in (BLOCK_SIZE, body.size + 1):
        try:
            return pacsv.read_csv(
                pa.BufferReader(body),
                read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=block),
                parse_options=pacsv.ParseOptions(
                    delimiter=dialect.delimiter,
                    newlines_in_values=True,
                    ignore_empty_lines=True,
                    invalid_row_handler=on_bad_row,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string() for name in header},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                    null_values=[],
                ),
            )
        except pa.ArrowInvalid as err:
            if "straddl" in str(err) and block < body.size + 1:
                continue
            text()  # refuses bytes that are not UTF-8 (in a malformed row too), naming the first one's line
            raise RefusedFile(path, f"it cannot be parsed as CSV ({err}).", "Export it again from REDCap.") from None
    raise AssertionError("unreachable")


def _strip_injection_guard(table: pa.Table) -> pa.Table:
    """Remove the one space/tab REDCap's UI puts before values starting with - + @ =."""
    columns = []
    for col in table.columns:
        if _holds_a_blank(col) and pc.any(pc.or_(pc.starts_with(col, " "), pc.starts_with(col, "\t"))).as_py():
            col = pc.replace_substring_regex(col, _INJECTION_GUARD, r"\1", max_replacements=1)  # only then
        columns.append(col)
    return pa.table(columns, names=table.column_names)


def _holds_a_blank(col: pa.ChunkedArray) -> bool:
    """Whether any byte of the column's text is a space or a tab: a scan of its data buffers at
    memory speed, so that the per-value check runs only on columns that may need it (most columns
    of a wide export are codes, numbers and dates, or empty)."""
    for chunk in col.chunks:
        data = chunk.buffers()[2]
        if data is not None and data.size and (b" " in (raw := data.to_pybytes()) or b"\t" in raw):
            return True
    return False


def _describe_bad_row(text: str, row_text: str, n_columns: int, dialect: Dialect) -> str:
    at = text.find(row_text[:200])
    line = text.count("\n", 0, at) + 1 if at >= 0 else None
    where = f"line {line}" if line else "a row"
    fields = next(csv.reader(io.StringIO(row_text), delimiter=dialect.delimiter), [])
    if row_text.count('"') % 2:
        return f"{where} opens a quoted value that is never closed (an unterminated quote)."
    return f"{where} has {len(fields)} values where the header has {n_columns} columns."


def _unclosed_quote_line(text: str) -> int:
    """The line where the quoted value that never closes begins."""
    quoted, line, opened = False, 1, 1
    for ch in text:
        if ch == '"':
            quoted = not quoted
            if quoted:
                opened = line
        elif ch == "\n":
            line += 1
    return opened


def _first_line(data: bytes, start: int = 0) -> str:
    """The first non-blank line of the bytes from `start` (only the head of the file is read)."""
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        line = data[start:end]
        if line.strip():
            return line.decode("utf-8", errors="replace").rstrip("\r")
        start = end + 1
    return ""


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == delimiter and not quoted:
            count += 1
    return count


_SHOWN_CELL = re.compile(r"^[A-Za-z][A-Za-z0-9_ ]{0,99}$")
"""A header cell a message may quote: a variable name or a label. Anything else (a token, a line
of some other file) is described, not quoted, so that a refusal never copies a file's content."""


def _shown(cell: str) -> str:
    return repr(cell) if _SHOWN_CELL.match(cell) else f"<a cell of {len(cell)} characters that is not a field name>"


def _names(columns: list[str], limit: int = 12) -> str:
    shown = ", ".join(_shown(c) for c in columns[:limit])
    return shown + (f" and {len(columns) - limit} more" if len(columns) > limit else "")
