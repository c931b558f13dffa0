"""The checks REDCap's own data quality rules make from a dictionary's logic, on an export's form rows:

- **required when shown**: a required field is checked only where its branching logic shows it
  (quarantine, `redcap_required`, as for any required field); a required checkbox needs a box
  ticked (or a missing-data code);
- **hidden with a value**: a value in a field its branching logic hides (flag, `hidden_with_value`:
  the row loads, a data query names the field, the value and the logic);
- **calculations**: a calc field whose stored value is not what its formula gives (flag,
  `calculation_differs`).

Each form row is evaluated with the other forms of the same record and event (`[field]`), and of
another event where a reference names it (`[event][field]`). An expression that cannot be
evaluated (outside the supported language of `schemas/logic.py`, or reading a field the export
never holds) is named once in `DictionaryLogic.not_checked`, and its field is checked as a field
without logic: a required field is required everywhere, nothing is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from runback.schemas import logic
from runback.schemas.failures import FLAG, QUARANTINE, concat_failures, failures
from runback.schemas.form import KEY
from runback.schemas.study import KIND_CHECKBOX, Field, Study, normalise_code
from runback.schemas.values import PATTERNS, parse


@dataclass(frozen=True)
class NotChecked:
    """An expression of the dictionary that is not evaluated, and why."""

    field: str
    what: str  # "branching logic" or "calculation"
    expression: str
    reason: str

    def sentence(self) -> str:
        return f"field {self.field}: its {self.what} is not checked ({self.reason}): {self.expression}"


@dataclass(frozen=True)
class DictionaryLogic:
    """A dictionary's logic, parsed: the expressions evaluated, by field, and those that are not."""

    branching: dict[str, logic.Node]
    calculations: dict[str, logic.Node]
    not_checked: tuple[NotChecked, ...]

    def notes(self) -> list[str]:
        return [n.sentence() for n in self.not_checked]

    def not_checked_by_field(self) -> dict[str, list[str]]:
        """Field -> what of its logic is not checked, and why (as meta.dictionary_versions keeps it)."""
        found: dict[str, list[str]] = {}
        for n in self.not_checked:
            found.setdefault(n.field, []).append(f"{n.what}: {n.reason}")
        return found


def dictionary_logic(study: Study) -> DictionaryLogic:
    """The study's branching logic and calculations, parsed once per dictionary."""
    return _parsed(study.fields, tuple(study.event_map), tuple(study.missing_codes))


@lru_cache(maxsize=16)
def _parsed(fields: tuple[Field, ...], events: tuple[str, ...], missing: tuple[str, ...]) -> DictionaryLogic:
    by_name = {f.name: f for f in fields}
    branching, calculations, not_checked = {}, {}, []
    for f in fields:
        if not f.has_column:
            continue
        for what, text, into in (
            ("branching logic", f.branching, branching),
            ("calculation", _formula(f), calculations),
        ):
            if not text:
                continue
            try:
                node = logic.parse(text)
                _check_references(node, by_name, events, missing)
            except logic.Unsupported as why:
                not_checked.append(NotChecked(f.name, what, text, str(why)))
                continue
            into[f.name] = node
    return DictionaryLogic(branching, calculations, tuple(not_checked))


def _formula(f: Field) -> str:
    """The formula of a numeric calc field (a @CALCTEXT field's text is left alone)."""
    return f.calculation if f.field_type == "calc" and "@CALCTEXT" not in f.annotation else ""


def _check_references(node: logic.Node, fields: dict[str, Field], events: tuple[str, ...], missing) -> None:
    """Every reference names a field whose values an export holds, an option of a checkbox, and
    an event of the project."""
    for ref in logic.references(node):
        f = fields.get(ref.field)
        if f is None:
            raise logic.Unsupported(f"it reads {ref}, a field the dictionary does not have")
        if f.identifier:
            raise logic.Unsupported(f"it reads {ref}, an identifier, which is dropped when an export is read")
        if not f.has_column:
            raise logic.Unsupported(f"it reads {ref}, a descriptive field, which has no value")
        if ref.code is not None and f.kind != KIND_CHECKBOX:
            raise logic.Unsupported(f"it reads {ref}, an option of {f.name}, which is not a checkbox")
        codes = {normalise_code(c) for c, _ in f.choices} | {normalise_code(c) for c in missing}
        if ref.code is not None and normalise_code(ref.code) not in codes:
            raise logic.Unsupported(f"it reads {ref}, an option {f.name} does not have")
        if ref.event is not None and ref.event not in events:
            raise logic.Unsupported(f"it reads {ref}, of an event the project does not have")


# -- the checks ------------------------------------------------------------------------------------
def check_logic(frames: dict[str, pd.DataFrame], study: Study) -> pd.DataFrame:
    """The failures of every form row against the dictionary's branching logic and calculations."""
    found = []
    said = dictionary_logic(study)
    for form, rows in frames.items():
        if rows.empty or form not in study.forms:
            continue
        context = logic.Rows(rows.index, _Lookup(frames, study, form), tuple(study.missing_codes))
        for f in study.forms[form].fields:
            columns = [c for c in study.field_columns(f) if c in rows.columns]
            if not columns or f.name == study.record_id:
                continue
            check = _FieldCheck(study, form, f, rows, columns)
            shown = logic.evaluate(said.branching[f.name], context).truth() if f.name in said.branching else None
            found += [check.required(shown), check.hidden_with_value(shown)]
            if f.name in said.calculations:
                found.append(check.calculation(said.calculations[f.name], context))
    return concat_failures([f for f in found if f is not None])


@dataclass
class _FieldCheck:
    study: Study
    form: str
    field: Field
    rows: pd.DataFrame
    columns: list[str]

    @property
    def checkbox(self) -> bool:
        return self.field.kind == KIND_CHECKBOX

    def answered(self) -> pd.Series:
        """A value, or a missing-data code (a checkbox: any box ticked, a code's box included)."""
        if self.checkbox:
            return (self.rows[self.columns] == "1").any(axis=1)
        return self.rows[self.field.name] != ""

    def has_value(self) -> pd.Series:
        """A value that is not a missing-data code (a checkbox: a choice ticked)."""
        if not self.checkbox:
            text = self.rows[self.field.name]
            return (text != "") & ~text.isin(list(self.study.missing_codes))
        return (self.rows[self._choice_columns()] == "1").any(axis=1)

    def shown_value(self, where: pd.Series) -> pd.Series:
        """The value of the rows `where`, as the data manager reads it (a checkbox: its ticked codes)."""
        if not self.checkbox:
            return self.rows.loc[where, self.field.name]
        choices = self.study.field_columns(self.field)
        columns = self._choice_columns()
        ticks = self.rows.loc[where, columns] == "1"
        codes = [",".join(choices[c] for c, t in zip(columns, row, strict=True) if t) for row in ticks.to_numpy()]
        return pd.Series(codes, index=ticks.index, dtype="str")

    def _choice_columns(self) -> list[str]:
        choices = self.study.field_columns(self.field)
        return [c for c in self.columns if choices[c] not in self.study.missing_codes]

    def required(self, shown: pd.Series | None) -> pd.DataFrame | None:
        """A required field shown by its logic (or a required checkbox, always checked here) is blank.

        A required field without evaluated logic that is not a checkbox is checked by its column's
        `redcap_required` check (schemas/form.py)."""
        if not self.field.required or (shown is None and not self.checkbox):
            return None
        blank = ~self.answered() if shown is None else shown & ~self.answered()
        if not blank.any():
            return None
        reason = "a required field is blank"
        if shown is not None:
            reason += f" (its branching logic shows it: {self.field.branching})"
        bad = self.rows[blank]
        return failures(bad, self.form, self.field.name, "", "redcap_required", reason, QUARANTINE)

    def hidden_with_value(self, shown: pd.Series | None) -> pd.DataFrame | None:
        """A value where the branching logic hides the field (calc fields are REDCap's to fill)."""
        if shown is None or self.field.field_type == "calc":
            return None
        hidden = self.has_value() & ~shown
        if not hidden.any():
            return None
        bad, value = self.rows[hidden], self.shown_value(hidden)
        reason = f"{self.field.name} holds '" + value + f"' but its branching logic hides it: {self.field.branching}"
        return failures(bad, self.form, self.field.name, value, "hidden_with_value", reason, FLAG)

    def calculation(self, node, context: logic.Rows) -> pd.DataFrame | None:
        """The stored value is not what the formula gives (rows whose inputs are not valid values
        of their fields are left out: what REDCap made of them cannot be known)."""
        stored = self.rows[self.field.name]
        computed = logic.evaluate(node, context)
        differs = ~_same(stored, computed) & ~stored.isin(list(self.study.missing_codes))
        if not differs.any():
            return None
        differs &= _inputs_valid(node, context, self.study)
        if not differs.any():
            return None
        bad = self.rows[differs]
        reason = (
            "the stored value '"
            + stored[differs]
            + "' is not what its calculation gives ('"
            + computed.text[differs]
            + f"'): {self.field.calculation}"
        )
        return failures(bad, self.form, self.field.name, stored[differs], "calculation_differs", reason, FLAG)


def _same(stored: pd.Series, computed: logic.Value) -> pd.Series:
    """Equal as numbers (to 9 significant digits) where both are numbers, else as text."""
    number = logic.Value(stored.index, _text=stored).num
    both = number.notna() & computed.num.notna()
    close = pd.Series(np.isclose(number.to_numpy(), computed.num.to_numpy(), rtol=1e-9, atol=1e-9), index=stored.index)
    return close.where(both, stored.str.strip() == computed.text)


def _inputs_valid(node, context: logic.Rows, study: Study) -> pd.Series:
    ok = pd.Series(True, index=context.index)
    for ref in set(logic.references(node)):
        f = study.field_map[ref.field]
        if ref.code is not None or f.kind not in PATTERNS:
            continue
        text = context.lookup(ref).fillna("")
        ok &= (text == "") | text.isin(list(study.missing_codes)) | parse(text, f.kind).notna()
    return ok


class _Lookup:
    """The text of a reference for each row of one form: the row's own column, or the value of
    the same record, event and instance on another form (instance 1 where that form does not
    repeat there), or of the event a reference names."""

    def __init__(self, frames: dict[str, pd.DataFrame], study: Study, form: str):
        self.frames, self.study, self.form = frames, study, form
        self.rows = frames[form]
        self._keyed: dict[tuple[str, str], pd.Series] = {}

    def __call__(self, ref: logic.Ref) -> pd.Series:
        owner = self.study.field_map[ref.field].form
        column = ref.field if ref.code is None else f"{ref.field}___{normalise_code(ref.code)}"
        if owner == self.form and ref.event is None:
            return self.rows[column] if column in self.rows.columns else self._blank()
        other = self.frames.get(owner)
        if other is None or column not in other.columns or other.empty:
            return self._blank()
        keyed = self._keyed_values(owner, column)
        events = self.rows["event"] if ref.event is None else pd.Series(ref.event, index=self.rows.index)
        found = _at(keyed, self.rows["record_id"], events, self.rows["instance"])
        first = _at(keyed, self.rows["record_id"], events, pd.Series(1, index=self.rows.index))
        return found.fillna(first).fillna("").astype("str")

    def _blank(self) -> pd.Series:
        return pd.Series("", index=self.rows.index, dtype="str")

    def _keyed_values(self, owner: str, column: str) -> pd.Series:
        if (owner, column) not in self._keyed:
            other = self.frames[owner]
            index = pd.MultiIndex.from_arrays([other[k].astype(str) for k in KEY])
            values = pd.Series(other[column].to_numpy(), index=index)
            self._keyed[(owner, column)] = values[~index.duplicated()]
        return self._keyed[(owner, column)]


def _at(keyed: pd.Series, records: pd.Series, events: pd.Series, instances: pd.Series) -> pd.Series:
    wanted = pd.MultiIndex.from_arrays([records.astype(str), events.astype(str), instances.astype(str)])
    return pd.Series(keyed.reindex(wanted).to_numpy(), index=records.index)
