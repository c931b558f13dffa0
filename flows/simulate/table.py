"""The trial's REDCap data as REDCap holds it, and the snapshot of it that an export shows on a night.

Generators hand in `FormRows`: one batch of saved forms (one form, one event), each with the day it
documents, its raw values and, once `entry.py` has run, the day it was entered, its final
`_complete` status and the day that status was set. `TrialTable` lays them out as REDCap's flat
export does: one row per record x event (x repeat instrument x instance), sorted by record, event,
repeat instrument and instance, each form a contiguous block of columns.

A snapshot for a night keeps the rows with at least one form entered before it; within a row a
designated form entered later (or never) shows blank fields and `_complete` = 0, and a saved form
shows `0` until its status was set. `Overlay`s are cell values that differ on some nights only
(data corrections, injected faults). Rows that look the same as in the final state are reused
from a cached rendering, so a late night costs little more than writing it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from runback.flows.simulate.export import RAW, Dialect
from runback.schemas.study import (
    DAG_COLUMN,
    EVENT_COLUMN,
    REPEAT_INSTANCE_COLUMN,
    REPEAT_INSTRUMENT_COLUMN,
    Study,
)

NEVER = np.int64(2**40)
"""Day number meaning "not (yet) saved"; later than any night."""

_KEY_SHIFT = (16, 16, 2**20)  # events, repeat instruments, instances per record


@dataclass
class FormRows:
    """Saved instances of one form in one event: raw values plus when they were entered."""

    form: str
    event: str
    record: np.ndarray
    when: np.ndarray
    """Day the form documents (assessment, session or screening date)."""
    cells: dict[str, np.ndarray]
    """Field column -> object array of raw text ('' = blank)."""
    instance: np.ndarray | None = None
    """Repeat instance (1, 2, ...) of a repeating form; None otherwise."""
    entry: np.ndarray | None = None
    """Day the form was saved (set by `entry.enter`)."""
    final: np.ndarray | None = None
    """Its `_complete` code once settled ('2' or '1')."""
    settle: np.ndarray | None = None
    """Day from which `_complete` shows the final code (before: '0')."""

    def __len__(self) -> int:
        return len(self.record)


@dataclass(frozen=True)
class Overlay:
    """A cell showing `value` instead of its final value on nights `start` <= night < `stop`."""

    row: int
    column: str
    value: str
    start: int
    stop: int

    def active(self, night: int) -> bool:
        return self.start <= night < self.stop


@dataclass
class FormTable:
    """All saved instances of one form across the table."""

    name: str
    columns: list[str]
    complete: str
    row: np.ndarray
    cells: dict[str, np.ndarray]
    entry: np.ndarray
    final: np.ndarray
    settle: np.ndarray
    local: np.ndarray
    """Table row -> index into this form's arrays (-1 where the row has no saved instance)."""
    _segments: dict[str, pa.Array] = field(default_factory=dict, repr=False)

    def segments(self, dialect: Dialect) -> pa.Array:
        """Each instance's field cells written and joined with the delimiter (cached for RAW)."""
        if dialect.name in self._segments:
            return self._segments[dialect.name]
        parts = [dialect.cells(c, pa.array(self.cells[c], type=pa.string())) for c in self.columns]
        if not len(self.row):
            joined = pa.array([], type=pa.string())
        else:
            joined = pc.binary_join_element_wise(*parts, dialect.delimiter)
        if dialect is RAW:
            self._segments[dialect.name] = joined
        return joined

    def segment(self, local: int, dialect: Dialect, changes: dict[str, str]) -> str:
        """One instance's segment with some cells changed."""
        values = [changes.get(c, self.cells[c][local]) for c in self.columns]
        return dialect.delimiter.join(dialect.cell(c, v) for c, v in zip(self.columns, values, strict=True))


class TrialTable:
    """Every row and form of the trial's REDCap project, and its snapshots night by night."""

    def __init__(self, study: Study, batches: list[FormRows], groups: dict[int, str] | None = None):
        self.study = study
        self.groups = groups
        """Record -> data access group (site), or None for a project without groups."""
        self.event_names = [e.unique_name for e in study.events]
        self.form_names = list(study.forms)
        keys = [self._keys(b) for b in batches]
        self.keys = np.unique(np.concatenate(keys)) if keys else np.array([], dtype=np.int64)
        self.record, self.event, self.repeat, self.instance = _split_key(self.keys)
        self.designated = self._designations()
        self.forms = [self._form_table(name, batches, keys) for name in self.form_names]
        entries = [ft for ft in self.forms if len(ft.row)]
        self.first_entry = np.full(len(self.keys), NEVER, dtype=np.int64)
        self.last_change = np.full(len(self.keys), -NEVER, dtype=np.int64)
        for ft in entries:
            np.minimum.at(self.first_entry, ft.row, ft.entry)
            np.maximum.at(self.last_change, ft.row, np.maximum(ft.entry, ft.settle))
        self._final_lines: pa.Array | None = None

    # -- construction -----------------------------------------------------------------------
    def _keys(self, batch: FormRows) -> np.ndarray:
        if batch.form not in self.study.forms_in_event(batch.event):
            raise ValueError(f"form {batch.form} is not designated to event {batch.event}")
        event = self.event_names.index(batch.event)
        repeats = bool(self.study.repeats(batch.event, batch.form))
        if repeats != (batch.instance is not None):
            raise ValueError(f"{batch.form} in {batch.event}: instances given for a non-repeating form or missing")
        repeat = self.form_names.index(batch.form) + 1 if repeats else 0
        instance = batch.instance if repeats else np.zeros(len(batch), dtype=np.int64)
        return _join_key(np.asarray(batch.record, dtype=np.int64), event, repeat, np.asarray(instance, dtype=np.int64))

    def _designations(self) -> np.ndarray:
        """(row, form) -> whether the form belongs on that row (so shows `_complete`)."""
        out = np.zeros((len(self.keys), len(self.form_names)), dtype=bool)
        for e, event in enumerate(self.event_names):
            base = [
                self.form_names.index(f) for f in self.study.forms_in_event(event) if not self.study.repeats(event, f)
            ]
            on_event = self.event == e
            out[np.ix_(on_event & (self.repeat == 0), base)] = True
        repeat_rows = np.flatnonzero(self.repeat > 0)
        out[repeat_rows, self.repeat[repeat_rows] - 1] = True
        return out

    def _form_table(self, name: str, batches: list[FormRows], keys: list[np.ndarray]) -> FormTable:
        form = self.study.forms[name]
        columns = self.study.form_columns(name)[:-1]
        mine = [i for i, b in enumerate(batches) if b.form == name]
        n_rows = len(self.keys)
        local = np.full(n_rows, -1, dtype=np.int64)
        if not mine:
            empty = np.array([], dtype=object)
            return FormTable(
                name,
                columns,
                form.complete_column,
                np.array([], dtype=np.int64),
                {c: empty for c in columns},
                np.array([], dtype=np.int64),
                empty,
                np.array([], dtype=np.int64),
                local,
            )
        row = np.searchsorted(self.keys, np.concatenate([keys[i] for i in mine]))
        for i in mine:
            unknown = set(batches[i].cells) - set(columns)
            if unknown:
                raise ValueError(f"columns {sorted(unknown)} are not fields of form {name}")
        cells = {c: np.concatenate([_column(batches[i], c) for i in mine]) for c in columns}
        order = np.argsort(row, kind="stable")
        row = row[order]
        if len(np.unique(row)) != len(row):
            raise ValueError(f"form {name} is saved twice on the same row")
        local[row] = np.arange(len(row))
        return FormTable(
            name=name,
            columns=columns,
            complete=form.complete_column,
            row=row,
            cells={c: v[order] for c, v in cells.items()},
            entry=np.concatenate([batches[i].entry for i in mine]).astype(np.int64)[order],
            final=np.concatenate([batches[i].final for i in mine]).astype(object)[order],
            settle=np.concatenate([batches[i].settle for i in mine]).astype(np.int64)[order],
            local=local,
        )

    # -- lookups ------------------------------------------------------------------------------
    def header(self) -> list[str]:
        """The export's columns: the project's, with the data access group after the repeat
        columns when the project has groups (REDCap's order)."""
        columns = self.study.export_columns()
        if self.groups is None:
            return columns
        at = columns.index(REPEAT_INSTANCE_COLUMN) + 1 if REPEAT_INSTANCE_COLUMN in columns else 2
        return [*columns[:at], DAG_COLUMN, *columns[at:]]

    def form(self, name: str) -> FormTable:
        return self.forms[self.form_names.index(name)]

    def event_name(self, row: int) -> str:
        return self.event_names[self.event[row]]

    def last_day(self) -> int:
        """The last day anything was entered or had its status set."""
        return int(self.last_change.max())

    def present(self, night: int) -> np.ndarray:
        """Rows with at least one form entered before the night."""
        return np.flatnonzero(self.first_entry < night)

    # -- snapshots ----------------------------------------------------------------------------
    def lines(self, night: int, dialect: Dialect = RAW, overlays: list[Overlay] = ()) -> pa.Array:
        """The export's data lines on a night, in row order (without header or line ends)."""
        rows = self.present(night)
        active = [o for o in overlays if o.active(night)]
        if dialect is not RAW:
            return self.render(rows, night, dialect, active)
        lines = self._final().take(pa.array(rows))
        stale = self.last_change[rows] >= night
        if active:
            stale |= np.isin(rows, [o.row for o in active])
        if stale.any():
            fresh = self.render(rows[stale], night, dialect, active)
            lines = pc.replace_with_mask(lines, pa.array(stale), fresh)
        return lines

    def _final(self) -> pa.Array:
        if self._final_lines is None:
            self._final_lines = self.render(np.arange(len(self.keys)), NEVER, RAW, [])
        return self._final_lines

    def render(self, rows: np.ndarray, night: int, dialect: Dialect, overlays: list[Overlay]) -> pa.Array:
        """Lines of the given rows (sorted) as they stood on a night."""
        if not len(rows):
            return pa.array([], type=pa.string())
        pieces = self._key_cells(rows, dialect)
        for j, ft in enumerate(self.forms):
            pieces += self._form_cells(j, ft, rows, night, dialect, overlays)
        return pc.binary_join_element_wise(*pieces, dialect.delimiter)

    def _form_cells(self, j, ft: FormTable, rows, night, dialect, overlays) -> list[pa.Array]:
        """A form's block of cells on the given rows: its fields, then `_complete`."""
        loc = ft.local[rows]
        safe = np.where(loc >= 0, loc, 0)
        saved = (loc >= 0) & (ft.entry[safe] < night) if len(ft.row) else np.zeros(len(rows), dtype=bool)
        blank = dialect.delimiter * (len(ft.columns) - 1)
        if saved.any():
            segment = pc.if_else(pa.array(saved), ft.segments(dialect).take(pa.array(safe)), blank)
            segment = self._patch(segment, ft, rows, safe, saved, dialect, overlays)
        else:
            segment = pa.array(np.full(len(rows), blank, dtype=object), type=pa.string())
        status = np.where(self.designated[rows, j], "0", "").astype(object)
        settled = saved & (ft.settle[safe] < night) if len(ft.row) else saved
        status[settled] = ft.final[safe[settled]]
        return [segment, dialect.cells(ft.complete, pa.array(status, type=pa.string()))]

    def _patch(self, segment, ft, rows, safe, saved, dialect, overlays) -> pa.Array:
        mine = [o for o in overlays if o.column in ft.cells]
        if not mine:
            return segment
        changes: dict[int, dict[str, str]] = {}
        for o in mine:
            changes.setdefault(o.row, {})[o.column] = o.value
        where = np.searchsorted(rows, list(changes))
        mask = np.zeros(len(rows), dtype=bool)
        values = {}
        for pos, (row, cells) in zip(where, changes.items(), strict=True):
            if pos < len(rows) and rows[pos] == row and saved[pos]:
                mask[pos] = True
                values[pos] = ft.segment(int(safe[pos]), dialect, cells)
        if not mask.any():
            return segment
        return pc.replace_with_mask(segment, pa.array(mask), pa.array([values[p] for p in sorted(values)]))

    def _key_cells(self, rows: np.ndarray, dialect: Dialect) -> list[pa.Array]:
        record = self.record[rows].astype(str).astype(object)
        event = np.asarray(self.event_names, dtype=object)[self.event[rows]]
        forms = np.asarray([""] + self.form_names, dtype=object)
        instrument = forms[self.repeat[rows]]
        instance = np.where(self.instance[rows] > 0, self.instance[rows].astype(str), "").astype(object)
        columns = [self.study.record_id, EVENT_COLUMN, REPEAT_INSTRUMENT_COLUMN, REPEAT_INSTANCE_COLUMN]
        values = [record, event, instrument, instance]
        if self.groups is not None:
            columns.append(DAG_COLUMN)
            values.append(np.asarray([self.groups.get(int(r), "") for r in self.record[rows]], dtype=object))
        return [dialect.cells(c, pa.array(v, type=pa.string())) for c, v in zip(columns, values, strict=True)]


def _column(batch: FormRows, column: str) -> np.ndarray:
    values = batch.cells.get(column)
    if values is None:
        return np.full(len(batch), "", dtype=object)
    return np.asarray(values, dtype=object)


def _join_key(record: np.ndarray, event: int, repeat: int, instance: np.ndarray) -> np.ndarray:
    n_event, n_repeat, n_instance = _KEY_SHIFT
    return ((record * n_event + event) * n_repeat + repeat) * n_instance + instance


def _split_key(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n_event, n_repeat, n_instance = _KEY_SHIFT
    instance = keys % n_instance
    rest = keys // n_instance
    repeat = rest % n_repeat
    rest //= n_repeat
    return rest // n_event, rest % n_event, repeat, instance
