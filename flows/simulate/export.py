"""How an export's bytes are written: the CSV dialects of REDCap's raw, labels and hand exports.

- `RAW`: the nightly "All data" job (API style): comma, LF, no BOM, PHP `fputcsv` quoting (a value
  is quoted only if it holds the delimiter, `"`, CR, LF, TAB or a space; `"` is doubled), line
  breaks inside notes kept, file ends with a line end.
- `HAND`: a download made by hand from the web page by a user whose delimiter preference is `;`:
  UTF-8 BOM, CRLF, line breaks inside values replaced by two spaces, and REDCap's CSV-injection
  guard (a space before every value that starts with `-`, `+`, `@` or `=`).
- `labels_dialect(study)`: "CSV / Microsoft Excel (labels)": label header and choice labels.

Cells are transformed column-wise with pyarrow, so a snapshot of 20,000 participants is written
in about a second.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from runback.schemas.study import (
    DAG_COLUMN,
    EVENT_COLUMN,
    KIND_CHECKBOX,
    KIND_CHOICE,
    KIND_YESNO,
    REPEAT_INSTANCE_COLUMN,
    REPEAT_INSTRUMENT_COLUMN,
    Study,
)

BOM = b"\xef\xbb\xbf"
DATA_FILE = "RUNBACK_DATA_{date}_{time}.csv"
DICTIONARY_FILE = "RUNBACK_DataDictionary_{date}.csv"
EXPORT_TIME = "0200"
"""The nightly job runs at 02:00."""

COMPLETE_LABELS = {"0": "Incomplete", "1": "Unverified", "2": "Complete"}
YESNO_LABELS = {"1": "Yes", "0": "No"}
CHECKBOX_LABELS = {"1": "Checked", "0": "Unchecked"}
FIXED_LABEL_HEADERS = {
    EVENT_COLUMN: "Event Name",
    REPEAT_INSTRUMENT_COLUMN: "Repeat Instrument",
    REPEAT_INSTANCE_COLUMN: "Repeat Instance",
    DAG_COLUMN: "Data Access Group",
}


@dataclass(frozen=True)
class Dialect:
    """How cells become text in one kind of export."""

    name: str
    delimiter: str = ","
    line_end: str = "\n"
    bom: bool = False
    ui: bool = False
    """UI download: line breaks in values become two spaces; CSV-injection guard."""
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Column -> raw code -> label, for a labels export."""
    header_labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def _needs_quotes(self) -> str:
        return "[" + re.escape(self.delimiter) + '"\r\n\t ]'

    def cells(self, column: str, values: pa.Array) -> pa.Array:
        """The text of a column's cells as written (labels, UI changes, quoting)."""
        mapping = self.labels.get(column)
        if mapping:
            codes = pa.array(list(mapping), type=pa.string())
            index = pc.index_in(values, value_set=codes)
            values = pc.if_else(pc.is_null(index), values, pc.take(pa.array(list(mapping.values())), index))
        if self.ui:
            values = pc.replace_substring_regex(values, r"\r\n|\n|\r", "  ")
            values = pc.replace_substring_regex(values, r"^([-+@=])", r" \1", max_replacements=1)
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(values, '"', '""'), '"', "")
        return pc.if_else(pc.match_substring_regex(values, self._needs_quotes), quoted, values)

    def cell(self, column: str, value: str) -> str:
        return self.cells(column, pa.array([value], type=pa.string()))[0].as_py()

    def line(self, columns: Iterable[str], values: Iterable[str]) -> str:
        """One row written from plain values."""
        return self.delimiter.join(self.cell(c, v) for c, v in zip(columns, values, strict=True))

    def header(self, columns: list[str]) -> str:
        names = [self.header_labels.get(c, c) for c in columns]
        return self.delimiter.join(self.cell("", name) for name in names)


RAW = Dialect("raw")
HAND = Dialect("hand", delimiter=";", line_end="\r\n", bom=True, ui=True)


def labels_dialect(study: Study, event_names: Mapping[str, str]) -> Dialect:
    """A labels export of `study` ("CSV (labels)" in the UI): label headers, labels for codes.

    `event_names` maps unique event names to the event names shown in the labels export.
    """
    labels: dict[str, dict[str, str]] = {
        EVENT_COLUMN: dict(event_names),
        REPEAT_INSTRUMENT_COLUMN: {form: _form_label(form) for form in study.forms},
    }
    headers = dict(FIXED_LABEL_HEADERS)
    missing = dict(study.missing_codes)
    for f in study.fields:
        label = _plain(f.label)
        if f.kind == KIND_CHECKBOX:
            names = dict(f.choices) | missing
            for column, code in study.field_columns(f).items():
                headers[column] = f"{label} (choice={names.get(code, code)})"
                labels[column] = CHECKBOX_LABELS
            continue
        headers[f.name] = label
        if f.kind == KIND_CHOICE:
            labels[f.name] = dict(f.choices)
        elif f.kind == KIND_YESNO:
            labels[f.name] = YESNO_LABELS
    for form in study.forms.values():
        headers[form.complete_column] = "Complete?"
        labels[form.complete_column] = COMPLETE_LABELS
    return Dialect("labels", ui=True, labels=labels, header_labels=headers)


def data_file_name(date: str) -> str:
    return DATA_FILE.format(date=date, time=EXPORT_TIME)


def dictionary_file_name(date: str) -> str:
    return DICTIONARY_FILE.format(date=date)


def write_export(path: Path, header: str, lines: pa.Array | list[str], dialect: Dialect) -> int:
    """Write one export file: header, one line per row, a line end after each; returns bytes."""
    end = dialect.line_end
    if isinstance(lines, list):
        body = "".join(line + end for line in lines).encode("utf-8")
    else:
        body = _concat(pc.binary_join_element_wise(lines, "", end)) if len(lines) else b""
    data = (BOM if dialect.bom else b"") + (header + end).encode("utf-8") + body
    path.write_bytes(data)
    return len(data)


def _concat(array: pa.Array) -> bytes:
    """All strings of an arrow string array, back to back (straight from its data buffer)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    _, offsets, data = array.buffers()
    width = np.int64 if pa.types.is_large_string(array.type) else np.int32
    offsets = np.frombuffer(offsets, dtype=width)
    start, stop = offsets[array.offset], offsets[array.offset + len(array)]
    return data[int(start) : int(stop)].to_pybytes() if data is not None else b""


def _form_label(form: str) -> str:
    """The instrument's display name (REDCap's default label from its unique name)."""
    return form.replace("_", " ").title().replace("Nprs", "NPRS").replace("Psfs", "PSFS").replace("Odi", "ODI")


def _plain(label: str) -> str:
    """A field label as a labels header: HTML stripped, `"` -> `'`, line breaks -> two spaces."""
    label = re.sub(r"<[^>]+>", "", label).replace('"', "'")
    return re.sub(r"\r\n|\n|\r", "  ", label)
