"""The study definition: a REDCap project's dictionary, events and designations as one typed object.

Every other part of runback (reader, validation, load, simulator, analysis) asks this object what
the export should look like: which columns exist, which form owns them, their types, ranges and
choices, which fields identify a person, which events carry which forms and which forms repeat.

It is built from rows already parsed out of REDCap's own download formats (see
`flows/ingest/project.py` for the file side) and works for any REDCap project, not only the trial's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

CLASSIC_EVENT = "event_1_arm_1"
"""The event REDCap gives every row of a classic (non-longitudinal) project."""

EVENT_COLUMN = "redcap_event_name"
REPEAT_INSTRUMENT_COLUMN = "redcap_repeat_instrument"
REPEAT_INSTANCE_COLUMN = "redcap_repeat_instance"
DAG_COLUMN = "redcap_data_access_group"
SURVEY_IDENTIFIER_COLUMN = "redcap_survey_identifier"

# The API (snake_case) names of the 18 dictionary columns, in order; the UI download uses the
# long headers beside them. Both are accepted.
DICTIONARY_COLUMNS = {
    "field_name": "Variable / Field Name",
    "form_name": "Form Name",
    "section_header": "Section Header",
    "field_type": "Field Type",
    "field_label": "Field Label",
    "select_choices_or_calculations": "Choices, Calculations, OR Slider Labels",
    "field_note": "Field Note",
    "text_validation_type_or_show_slider_number": "Text Validation Type OR Show Slider Number",
    "text_validation_min": "Text Validation Min",
    "text_validation_max": "Text Validation Max",
    "identifier": "Identifier?",
    "branching_logic": "Branching Logic (Show field only if...)",
    "required_field": "Required Field?",
    "custom_alignment": "Custom Alignment",
    "question_number": "Question Number (surveys only)",
    "matrix_group_name": "Matrix Group Name",
    "matrix_ranking": "Matrix Ranking?",
    "field_annotation": "Field Annotation",
}
_UI_TO_API = {ui: api for api, ui in DICTIONARY_COLUMNS.items()}

# Value kinds: how a field's text is checked and which type it gets in the warehouse.
KIND_TEXT = "text"
KIND_INTEGER = "integer"
KIND_NUMBER = "number"
KIND_NUMBER_COMMA = "number_comma"
KIND_DATE = "date"
KIND_DATETIME = "datetime"
KIND_TIME = "time"
KIND_TIME_MS = "time_mm_ss"
KIND_YESNO = "yesno"
KIND_CHOICE = "choice"
KIND_CHECKBOX = "checkbox"

COMPLETE_CODES = ("0", "1", "2")
"""Codes of a `<form>_complete` column: incomplete, unverified, complete."""


class StudyDefinitionError(ValueError):
    """A REDCap project file that cannot be understood."""


def normalise_code(code: str) -> str:
    """REDCap's rule for a checkbox code in a column name: `-`/`.` to `_`, lower case, [a-z0-9_]."""
    code = code.replace("-", "_").replace(".", "_").lower()
    return re.sub(r"[^a-z0-9_]", "", code)


def parse_choices(text: str) -> tuple[tuple[str, str], ...]:
    """`"1, Male | 2, Female"` -> (("1", "Male"), ("2", "Female")); the code is before the first comma."""
    choices = []
    for part in (text or "").split("|"):
        part = part.strip()
        if not part:
            continue
        code, _, label = part.partition(",")
        choices.append((code.strip(), label.strip()))
    return tuple(choices)


_FIELD_TYPE_KINDS = {
    "radio": KIND_CHOICE,
    "dropdown": KIND_CHOICE,
    "yesno": KIND_YESNO,
    "truefalse": KIND_YESNO,
    "checkbox": KIND_CHECKBOX,
    "slider": KIND_INTEGER,
}
"""A field's kind by its REDCap field type (text and notes: by their validation; calc: below)."""
_VALIDATION_KINDS = {"time": KIND_TIME, "time_hh_mm_ss": KIND_TIME, "time_mm_ss": KIND_TIME_MS, "integer": KIND_INTEGER}
_VALIDATION_PREFIX_KINDS = {"date_": KIND_DATE, "datetime_": KIND_DATETIME, "number": KIND_NUMBER}
"""A text field's kind by its validation (exact, then by prefix; `number…comma_decimal` is KIND_NUMBER_COMMA)."""


@dataclass(frozen=True)
class Field:
    """One dictionary row: a question (or calculation) on a form."""

    name: str
    form: str
    field_type: str
    label: str
    validation: str = ""
    min: str = ""
    max: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    identifier: bool = False
    required: bool = False
    branching: str = ""
    annotation: str = ""
    calculation: str = ""  # a calc field's formula

    @property
    def kind(self) -> str:
        """How the value is checked and typed (one of the KIND_* constants)."""
        if self.field_type == "calc":
            return KIND_TEXT if "@CALCTEXT" in self.annotation else KIND_NUMBER
        if self.field_type in ("text", "notes"):
            v = self.validation
            if v.startswith("number") and v.endswith("comma_decimal"):
                return KIND_NUMBER_COMMA
            prefix = next((p for p in _VALIDATION_PREFIX_KINDS if v.startswith(p)), None)
            return _VALIDATION_KINDS.get(v) or _VALIDATION_PREFIX_KINDS.get(prefix, KIND_TEXT)
        return _FIELD_TYPE_KINDS.get(self.field_type, KIND_TEXT)

    @property
    def codes(self) -> tuple[str, ...]:
        """The allowed raw codes of a choice or yes/no field (empty for other kinds)."""
        if self.kind == KIND_YESNO:
            return ("1", "0")
        return tuple(code for code, _ in self.choices) if self.kind != KIND_TEXT else ()

    @property
    def range(self) -> tuple[str, str]:
        """(min, max) as written in the dictionary; sliders default to 0-100."""
        if self.field_type == "slider":
            return (self.min or "0", self.max or "100")
        return (self.min, self.max)

    @property
    def has_column(self) -> bool:
        """Descriptive fields have no column in an export."""
        return self.field_type != "descriptive"

    @property
    def allows_missing_codes(self) -> bool:
        return "@NOMISSING" not in self.annotation

    def checkbox_columns(self, missing_codes: Iterable[str] = ()) -> dict[str, str]:
        """Column name -> code for a checkbox: one per choice, then one per missing-data code."""
        codes = [code for code, _ in self.choices]
        if self.allows_missing_codes:
            codes += list(missing_codes)
        return {f"{self.name}___{normalise_code(code)}": code for code in codes}


@dataclass(frozen=True)
class Event:
    """A longitudinal event; day offset and window only when the Scheduling module gives them."""

    unique_name: str
    label: str
    arm: int = 1
    day_offset: float | None = None
    offset_min: float | None = None
    offset_max: float | None = None

    @property
    def visit(self) -> str:
        """The event name without its `_arm_N` suffix (the warehouse's visit code)."""
        return re.sub(r"_arm_\d+$", "", self.unique_name)

    @property
    def window(self) -> tuple[float, float] | None:
        """(earliest, latest) day from the reference date, or None without scheduling."""
        if self.day_offset is None:
            return None
        return (self.day_offset - (self.offset_min or 0), self.day_offset + (self.offset_max or 0))


@dataclass(frozen=True)
class Form:
    """An instrument: its fields in dictionary order."""

    name: str
    fields: tuple[Field, ...]

    @property
    def complete_column(self) -> str:
        return f"{self.name}_complete"

    @property
    def survey_timestamp_column(self) -> str:
        return f"{self.name}_timestamp"


@dataclass(frozen=True)
class Study:
    """A REDCap project: fields, forms, events, designations, repeating forms, missing-data codes.

    `designations` and `repeating` are None when the project files do not say (then every form may
    appear in every event, and a repeat row may name any form): the generic fallback for projects
    that ship only a dictionary.
    """

    fields: tuple[Field, ...]
    events: tuple[Event, ...] = ()
    designations: Mapping[str, tuple[str, ...]] | None = None
    repeating: frozenset[tuple[str, str]] | None = None
    missing_codes: Mapping[str, str] = field(default_factory=dict)

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def from_rows(
        cls,
        dictionary: list[Mapping[str, str]],
        events: list[Mapping[str, str]] | None = None,
        designations: list[Mapping[str, str]] | None = None,
        repeating: list[Mapping[str, str]] | None = None,
        missing_codes: str = "",
    ) -> Study:
        """Build from parsed REDCap downloads (rows as dicts keyed by their header)."""
        fields = tuple(_field_from_row(_api_keys(row)) for row in dictionary if not _blank_row(row))
        unnamed = [i for i, f in enumerate(fields, start=1) if not f.name or not f.form]
        if unnamed:
            raise StudyDefinitionError(
                f"field {unnamed[0]} of the data dictionary has values but no variable or form name"
            )
        if not fields:
            raise StudyDefinitionError("the data dictionary has no fields")
        event_list = [_event_from_row(row) for row in events or []]
        designated = None
        if designations:
            designated = {}
            for row in designations:
                designated.setdefault(row["unique_event_name"], []).append(row["form"])
            designated = {event: tuple(forms) for event, forms in designated.items()}
            if not event_list:
                event_list = [Event(name, name) for name in designated]
        repeats = None
        if repeating is not None:
            repeats = frozenset((row.get("event_name", "") or "", row.get("form_name", "") or "") for row in repeating)
        return cls(
            fields=fields,
            events=tuple(event_list),
            designations=designated,
            repeating=repeats,
            missing_codes=parse_missing_codes(missing_codes),
        )

    # -- fields and forms ---------------------------------------------------------------------
    @property
    def record_id(self) -> str:
        """The record-id field: the first field of the dictionary."""
        return self.fields[0].name

    @cached_property
    def forms(self) -> dict[str, Form]:
        grouped: dict[str, list[Field]] = {}
        for f in self.fields:
            grouped.setdefault(f.form, []).append(f)
        return {name: Form(name, tuple(fs)) for name, fs in grouped.items()}

    @cached_property
    def field_map(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @cached_property
    def identifiers(self) -> tuple[str, ...]:
        """Fields flagged `Identifier? = y`: dropped when an export is read."""
        return tuple(f.name for f in self.fields if f.identifier)

    def field_columns(self, f: Field) -> dict[str, str]:
        """Export column(s) of a field -> checkbox code ('' for a plain field)."""
        if not f.has_column:
            return {}
        if f.kind == KIND_CHECKBOX:
            return f.checkbox_columns(self.missing_codes)
        return {f.name: ""}

    def form_columns(self, form: str) -> list[str]:
        """A form's data columns in export order (record id excluded), then `<form>_complete`."""
        cols = [col for f in self.forms[form].fields if f.name != self.record_id for col in self.field_columns(f)]
        return cols + [self.forms[form].complete_column]

    @cached_property
    def missing_code_columns(self) -> dict[str, str]:
        """The checkbox columns a missing-data code adds (`excl_reason___unk`) -> their field.

        REDCap does not always write them (API exports, older versions, `@NOMISSING`), so an
        export may have all, some or none of them."""
        out = {}
        for f in self.fields:
            if f.kind == KIND_CHECKBOX and f.has_column and f.allows_missing_codes and not f.identifier:
                out |= {f"{f.name}___{normalise_code(code)}": f.name for code in self.missing_codes}
        return out

    @cached_property
    def column_owner(self) -> dict[str, tuple[str, Field | None]]:
        """Every data column -> (form, field); `_complete` columns map to (form, None)."""
        owner: dict[str, tuple[str, Field | None]] = {}
        fmap = self.field_map
        for form in self.forms:
            for col in self.form_columns(form):
                base = col.split("___")[0] if "___" in col else col
                owner[col] = (form, fmap.get(base) if base in fmap else fmap.get(col))
        return owner

    # -- events --------------------------------------------------------------------------------
    @property
    def longitudinal(self) -> bool:
        return bool(self.events)

    @cached_property
    def event_map(self) -> dict[str, Event]:
        return {e.unique_name: e for e in self.events}

    def forms_in_event(self, event: str) -> tuple[str, ...]:
        """Forms designated to an event (every form when the project gives no designations)."""
        if self.designations is None or not self.longitudinal:
            return tuple(self.forms)
        return self.designations.get(event, ())

    @property
    def has_repeats(self) -> bool:
        """Whether exports carry the two repeat columns (unknown projects: may or may not)."""
        return bool(self.repeating)

    def repeats(self, event: str, form: str) -> bool | None:
        """Whether a form repeats in an event (as a repeating form or a repeating event).

        None when the project does not say (no repeating-instruments file)."""
        if self.repeating is None:
            return None
        event_key = event if self.longitudinal else ""
        return (event_key, form) in self.repeating or (event_key, "") in self.repeating

    def repeating_event(self, event: str) -> bool:
        return bool(self.repeating) and ((event, "") in self.repeating)

    # -- the export header -----------------------------------------------------------------------
    def export_columns(self, with_identifiers: bool = True) -> list[str]:
        """The header of a raw "All data" export of this project, in REDCap's order."""
        cols = [self.record_id]
        if self.longitudinal:
            cols.append(EVENT_COLUMN)
        if self.has_repeats:
            cols += [REPEAT_INSTRUMENT_COLUMN, REPEAT_INSTANCE_COLUMN]
        ident = set(self.identifiers)
        for form in self.forms:
            for col in self.form_columns(form):
                owner = col.split("___")[0]
                if with_identifiers or owner not in ident:
                    cols.append(col)
        return cols


def parse_missing_codes(text: str) -> dict[str, str]:
    """`"UNK, Unknown | NASK, Not asked"` -> {"UNK": "Unknown", "NASK": "Not asked"}."""
    return dict(parse_choices(text.strip()))


def _blank_row(row: Mapping[str, str]) -> bool:
    """A dictionary row with no value in any column (a spreadsheet's trailing empty rows)."""
    return not any((value or "").strip() for key, value in row.items() if key is not None)


def _api_keys(row: Mapping[str, str]) -> dict[str, str]:
    """A dictionary row keyed by API names, whichever header style it came with."""
    out = {}
    for key, value in row.items():
        if key is None:
            continue
        key = key.strip()
        out[_UI_TO_API.get(key, key)] = "" if value is None else str(value)
    if "field_name" not in out or "form_name" not in out:
        raise StudyDefinitionError(
            "this is not a REDCap data dictionary: it needs the columns "
            "'Variable / Field Name' and 'Form Name' (or field_name, form_name)"
        )
    return out


def _field_from_row(row: dict[str, str]) -> Field:
    ftype = row.get("field_type", "").strip()
    return Field(
        name=row["field_name"].strip(),
        form=row["form_name"].strip(),
        field_type=ftype,
        label=row.get("field_label", "").strip(),
        validation=row.get("text_validation_type_or_show_slider_number", "").strip(),
        min=row.get("text_validation_min", "").strip(),
        max=row.get("text_validation_max", "").strip(),
        choices=(
            parse_choices(row.get("select_choices_or_calculations", ""))
            if ftype in ("radio", "dropdown", "checkbox")
            else ()
        ),
        identifier=row.get("identifier", "").strip().lower() == "y",
        required=row.get("required_field", "").strip().lower() == "y",
        branching=row.get("branching_logic", "").strip(),
        annotation=row.get("field_annotation", "").strip(),
        calculation=row.get("select_choices_or_calculations", "").strip() if ftype == "calc" else "",
    )


def _number(text: str | None) -> float | None:
    text = (text or "").strip()
    return float(text) if text else None


def _event_from_row(row: Mapping[str, str]) -> Event:
    return Event(
        unique_name=row["unique_event_name"].strip(),
        label=(row.get("custom_event_label") or row.get("event_name") or "").strip(),
        arm=int(row.get("arm_num") or 1),
        day_offset=_number(row.get("day_offset")),
        offset_min=_number(row.get("offset_min")),
        offset_max=_number(row.get("offset_max")),
    )
