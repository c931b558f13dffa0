"""Faults that real exports carry, injected into chosen nights, and the manifest that lists them.

Only nights 2..N-1 get faults; the last night stays a good, loadable file, and no night carries
two file-level faults. Each fault hits its own record, never an identifier field, and never a
value that a data correction changes. Value faults show on their night only (the next export has
the right value again); a changed randomisation stays changed.

| kind | what is written | runback should |
|---|---|---|
| `out_of_range` | e.g. `nprs_run` = `14`, `ke_torque_l` = `9.50` | quarantine the form row |
| `non_numeric` | e.g. `sorensen_s` = `abc`, `weight_kg` = `72,5` | quarantine |
| `impossible_date` | e.g. `psfs_date` = `2015-02-30` | quarantine |
| `randomisation_changed` | `rand_group` differs from earlier exports (one entry per file from then on) | quarantine |
| `duplicate_key` | an event row written twice, or two `session_log` rows with one instance | quarantine |
| `unknown_event` | a row for event `week_12_arm_1` with NPRS values | quarantine |
| `labels_header` | the whole night written as a labels export | refuse the file |
| `hand_export` | the whole night as a hand download: BOM, `;`, CRLF, notes on one line, ` -x` | load |
| `leading_space` | a value starting with `-` written with one space before it | load |

The manifest (`defects.json`) is a list of `{"file", "kind", "record", "event", "instance",
"form", "field", "value", "expect"}`, null where a key does not apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from runback.flows.simulate import days
from runback.flows.simulate.export import RAW
from runback.flows.simulate.table import NEVER, Overlay, TrialTable

MANIFEST_FILE = "defects.json"
EXPECT = {
    "out_of_range": "quarantine",
    "non_numeric": "quarantine",
    "impossible_date": "quarantine",
    "randomisation_changed": "quarantine",
    "duplicate_key": "quarantine",
    "unknown_event": "quarantine",
    "labels_header": "refuse",
    "hand_export": "load",
    "leading_space": "load",
}
UNKNOWN_EVENT = "week_12_arm_1"
UNKNOWN_EVENT_DAY = 84
FOLLOW_UP_EVENTS = ("week_4_arm_1", "week_8_arm_1", "month_3_arm_1", "month_6_arm_1")
NOTE_FORMS = {"session_log": "sess_note", "adverse_event": "ae_desc"}


def _impossible_date(value: str, rng: np.random.Generator) -> str:
    """A date typed with a day its month does not have (near the real date): 2015-02-30."""
    year, month = int(value[:4]), int(value[5:7])
    if month == 2 or days.days_in_month(year, month) == 30:
        return f"{year}-{month:02d}-{31 if month != 2 else 30}"
    for near in (month - 1, month + 1):
        if near == 2:
            return f"{year}-02-30"
        if 1 <= near <= 12 and days.days_in_month(year, near) == 30:
            return f"{year}-{near:02d}-31"
    return f"{year}-02-30"


@dataclass(frozen=True)
class ValueFault:
    kind: str
    form: str
    field: str
    bad: Callable[[str, np.random.Generator], str]
    needs: Callable[[str], bool] = lambda value: True


VALUE_FAULTS = (
    ValueFault("out_of_range", "nprs", "nprs_run", lambda v, rng: str(int(rng.integers(11, 16)))),
    ValueFault("out_of_range", "physical_tests", "ke_torque_l", lambda v, rng: "9.50"),
    ValueFault("out_of_range", "psfs", "psfs_score1", lambda v, rng: "12"),
    ValueFault("non_numeric", "physical_tests", "sorensen_s", lambda v, rng: "abc"),
    ValueFault("non_numeric", "baseline_characteristics", "weight_kg", lambda v, rng: v.replace(".", ",")),
    ValueFault("impossible_date", "psfs", "psfs_date", _impossible_date),
    ValueFault("impossible_date", "odi", "odi_date", _impossible_date),
    ValueFault("leading_space", "session_log", "sess_note", lambda v, rng: " " + v, lambda v: v.startswith("-")),
)


@dataclass(frozen=True)
class ExtraRow:
    """A line added to a night's file right after the line of table row `after`.

    `source`: the row whose line is copied (its instance replaced by `instance` if given);
    `text`: a ready-made line instead."""

    night: int
    after: int
    source: int | None = None
    instance: int | None = None
    text: str | None = None


@dataclass
class DefectPlan:
    overlays: list[Overlay] = field(default_factory=list)
    extra_rows: list[ExtraRow] = field(default_factory=list)
    file_kind: dict[int, str] = field(default_factory=dict)
    """Night index -> `labels_header` or `hand_export`."""
    manifest: list[dict] = field(default_factory=list)


class _Planner:
    def __init__(self, rng, table: TrialTable, nights: list[int], files: list[str], avoid: set[int]):
        self.rng, self.table, self.nights, self.files = rng, table, nights, files
        self.used = set(avoid)
        self.plan = DefectPlan()

    # -- helpers --------------------------------------------------------------------------------
    def note(
        self,
        night: int,
        kind: str,
        row: int | None = None,
        form=None,
        field=None,
        value=None,
        event=None,
        instance=None,
    ) -> None:
        t = self.table
        record = str(int(t.record[row])) if row is not None else None
        if row is not None and event is None:
            event = t.event_name(row)
            instance = int(t.instance[row]) if t.repeat[row] else instance
        self.plan.manifest.append(
            {
                "file": self.files[night],
                "kind": kind,
                "record": record,
                "event": event,
                "instance": instance,
                "form": form,
                "field": field,
                "value": value,
                "expect": EXPECT[kind],
            }
        )

    def free(self, rows: np.ndarray) -> np.ndarray:
        """Rows of records not yet used by another fault."""
        return rows[~np.isin(self.table.record[rows], list(self.used))] if self.used else rows

    def take(self, rows: np.ndarray) -> int | None:
        rows = self.free(rows)
        if not len(rows):
            return None
        row = int(rows[self.rng.integers(0, len(rows))])
        self.used.add(int(self.table.record[row]))
        return row

    # -- faults ---------------------------------------------------------------------------------
    def value_fault(self, fault: ValueFault, order: list[int]) -> None:
        ft = self.table.form(fault.form)
        values = ft.cells[fault.field]
        codes = self.table.study.missing_codes
        usable = np.array([v != "" and v not in codes and fault.needs(v) for v in values], dtype=bool)
        for k in order:
            row = self.take(ft.row[usable & (ft.entry < self.nights[k])])
            if row is None:
                continue
            bad = fault.bad(values[ft.local[row]], self.rng)
            night = self.nights[k]
            self.plan.overlays.append(Overlay(row, fault.field, bad, night, night + 1))
            self.note(k, fault.kind, row, fault.form, fault.field, bad)
            return

    def randomisation_changed(self, k: int, loadable: list[int]) -> None:
        t = self.table
        earlier = [j for j in loadable if j < k]
        if not earlier:
            return
        ft = t.form("randomisation")
        row = self.take(ft.row[ft.entry < self.nights[earlier[-1]]])
        if row is None:
            return
        old = ft.cells["rand_group"][ft.local[row]]
        new = str(self.rng.choice([g for g in ("1", "2", "3") if g != old]))
        self.plan.overlays.append(Overlay(row, "rand_group", new, self.nights[k], int(NEVER)))
        for j in loadable:
            if j >= k:
                self.note(j, "randomisation_changed", row, "randomisation", "rand_group", new)

    def duplicate_row(self, k: int) -> None:
        t = self.table
        follow_up = np.isin(t.event, [t.event_names.index(e) for e in FOLLOW_UP_EVENTS])
        row = self.take(np.flatnonzero(follow_up & (t.repeat == 0) & (t.first_entry < self.nights[k])))
        if row is None:
            return
        self.plan.extra_rows.append(ExtraRow(k, row, source=row))
        self.note(k, "duplicate_key", row)

    def duplicate_instance(self, k: int) -> None:
        t = self.table
        ft = t.form("session_log")
        saved = ft.row[ft.entry < self.nights[k]]
        # a session followed by the same person's next session, both in the file
        pairs = saved[:-1][(np.diff(saved) == 1) & (t.record[saved[1:]] == t.record[saved[:-1]])]
        row = self.take(pairs)
        if row is None:
            return
        instance = int(t.instance[row])
        self.plan.extra_rows.append(ExtraRow(k, row, source=row + 1, instance=instance))
        self.note(k, "duplicate_key", row, form="session_log")

    def unknown_event(self, k: int, header: list[str]) -> None:
        t = self.table
        night = self.nights[k]
        nprs = t.form("nprs")
        week_8 = t.event_names.index("week_8_arm_1")
        rand = t.form("randomisation")
        rand_day = {int(t.record[r]): days.day(v) for r, v in zip(rand.row, rand.cells["rand_date"], strict=True)}
        rows = nprs.row[(t.event[nprs.row] == week_8) & (nprs.entry < night)]
        rows = rows[[rand_day.get(int(t.record[r]), night) + UNKNOWN_EVENT_DAY + 7 < night for r in rows]]
        row = self.take(rows)
        if row is None:
            return
        local = int(nprs.local[row])
        record = int(t.record[row])
        values = {c: "" for c in header}
        values[header[0]] = str(record)
        values["redcap_event_name"] = UNKNOWN_EVENT
        values["nprs_date"] = days.iso(np.array([rand_day[record] + UNKNOWN_EVENT_DAY]))[0]
        values["nprs_run"] = nprs.cells["nprs_run"][local]
        values["nprs_avg"] = nprs.cells["nprs_avg"][local]
        values["nprs_complete"] = "2"
        self.plan.extra_rows.append(ExtraRow(k, row, text=RAW.line(header, [values[c] for c in header])))
        self.note(k, "unknown_event", row, "nprs", "redcap_event_name", UNKNOWN_EVENT, event=UNKNOWN_EVENT)

    def file_fault(self, k: int, kind: str) -> None:
        self.plan.file_kind[k] = kind
        self.note(k, kind)


def plan_defects(
    rng: np.random.Generator,
    table: TrialTable,
    nights: list[int],
    files: list[str],
    header: list[str],
    avoid_records: set[int] = frozenset(),
) -> DefectPlan:
    """Choose the faulty nights and cells; `avoid_records` are records with data corrections."""
    planner = _Planner(rng, table, nights, files, avoid_records)
    hand, labels, value_nights = _fault_nights(rng, table, nights)
    if not value_nights:
        return planner.plan
    order = [int(k) for k in rng.permutation(value_nights)]
    for i, fault in enumerate(VALUE_FAULTS):
        planner.value_fault(fault, _rotated(order, i))
    planner.randomisation_changed(order[0], [k for k in range(len(nights)) if k != labels])
    planner.duplicate_row(_rotated(order, 1)[0])
    planner.duplicate_instance(_rotated(order, 2)[0])
    planner.unknown_event(order[-1], header)
    if labels is not None:
        planner.file_fault(labels, "labels_header")
    if hand is not None:
        planner.file_fault(hand, "hand_export")
    planner.plan.manifest.sort(key=lambda e: (files.index(e["file"]), e["kind"], e["record"] or ""))
    return planner.plan


def _fault_nights(rng: np.random.Generator, table: TrialTable, nights: list[int]):
    """(hand-export night, labels night, value-fault nights) among nights 2..N-1.

    Value faults need one night, each file-level fault its own: with fewer middle nights the
    hand export is left out first, then the labels export."""
    middle = list(range(1, len(nights) - 1))
    hand = labels = None
    if len(middle) >= 3:
        ready = _hand_export_ready(table)
        hand = int(rng.choice([k for k in middle if nights[k] >= ready] or middle))
    if len(middle) >= 2:
        labels = int(rng.choice([k for k in middle if k != hand]))
    return hand, labels, [k for k in middle if k not in (hand, labels)]


def _rotated(order: list[int], start: int) -> list[int]:
    """The nights in `order`, starting at position `start` (wrapping): spreads faults over nights."""
    start %= len(order)
    return order[start:] + order[:start]


def _hand_export_ready(table: TrialTable) -> int:
    """The day from which exports hold a note starting with `-` and a note with a line break."""
    dash = _first_entry_of_note(table, lambda n: n.startswith("-"))
    newline = _first_entry_of_note(table, lambda n: "\n" in n)
    return max(dash, newline) + 1


def _first_entry_of_note(table: TrialTable, wanted: Callable[[str], bool]) -> int:
    """The earliest entry day of a free-text note that matches."""
    first = int(NEVER)
    for form, column in NOTE_FORMS.items():
        ft = table.form(form)
        match = np.fromiter((bool(n) and wanted(n) for n in ft.cells[column]), dtype=bool, count=len(ft.row))
        if match.any():
            first = min(first, int(ft.entry[match].min()))
    return first
