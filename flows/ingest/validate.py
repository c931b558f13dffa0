"""Validate: each form's rows against its pandera model, then the dictionary's branching logic and
calculations (`schemas/dictionary_logic.py`), then the study's cross-form rules.

Validation is lazy: every failure of every row is collected, each becomes a record with the
column, the value as written, the check and a reason a data manager understands. A form row with
any `quarantine` failure is held back; `flag` failures load with a data query.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa

import runback.schemas as schemas
from runback.flows import progress
from runback.flows.ingest.read import SOURCE_ROW
from runback.flows.ingest.split import SplitExport
from runback.schemas import rules
from runback.schemas.checks import ROW_CHECKS, sentence
from runback.schemas.dictionary_logic import check_logic
from runback.schemas.failures import FLAG, QUARANTINE, concat_failures, failures, no_failures
from runback.schemas.form import KEY, schema_for, with_row_checks
from runback.schemas.study import Study


@dataclass
class Validated:
    """Rows that may load, per form, and every failure (structural, per value, cross-form)."""

    valid: dict[str, pd.DataFrame]  # text rows without a quarantine failure, index source_row
    failures: pd.DataFrame  # schemas.failures.FAILURE_COLUMNS
    notes: list[str] = dataclasses.field(default_factory=list)  # where a form model and the dictionary differ

    def quarantined(self) -> pd.DataFrame:
        return self.failures[self.failures["action"] == QUARANTINE]

    def flagged(self) -> pd.DataFrame:
        return self.failures[self.failures["action"] == FLAG]


def model_for(study: Study, form: str, columns: list[str]) -> tuple[pa.DataFrameSchema, list[str]]:
    """The schema a form's rows are validated with, and notes on what the data manager should know.

    Always what the dictionary says, plus the trial's row checks for the form. The REDCap system
    columns an export may carry (data access group, survey timestamps) are text without checks:
    they never change which checks run. A row check that cannot run is a note."""
    optional = tuple(c for c in columns if c not in KEY and c not in study.form_columns(form))
    derived = schema_for(study, form, optional)
    model = schemas.MODELS.get(form)
    return with_row_checks(derived, model, columns)


def validate_form(rows: pd.DataFrame, schema: pa.DataFrameSchema, form: str) -> pd.DataFrame:
    """Every failed check of every row of one form, as failure records."""
    if rows.empty:
        return no_failures()
    try:
        schema.validate(rows, lazy=True, inplace=True)  # checks only: no copy of the frame
    except pa.errors.SchemaErrors as err:
        return _failure_records(err.failure_cases, rows, schema, form)
    return no_failures()


def validate_export(split: SplitExport, study: Study, context: rules.Context) -> Validated:
    """Validate every form of an export, then apply the cross-form and cross-export rules."""
    found, notes = [split.problems], []
    frames = {form: part.rows for form, part in split.forms.items()}
    with progress.stage("validating forms", total=len(split.forms)) as advance:
        for form, rows in frames.items():
            schema, said = model_for(study, form, list(rows.columns))
            notes += said
            found.append(validate_form(rows, schema, form))
            advance()
    found.append(check_logic(frames, study))
    found.append(rules.check_all(frames, study, context))
    all_failures = (
        concat_failures(found).drop_duplicates().sort_values(["form", SOURCE_ROW, "column", "check"], kind="stable")
    )
    held = all_failures[all_failures["action"] == QUARANTINE]
    valid = {}
    for form, rows in frames.items():
        bad = held.loc[held["form"] == form, SOURCE_ROW]
        valid[form] = rows[~rows.index.isin(bad)]
    return Validated(valid, all_failures.reset_index(drop=True), notes)


def _failure_records(cases: pd.DataFrame, rows: pd.DataFrame, schema: pa.DataFrameSchema, form: str) -> pd.DataFrame:
    """pandera's failure cases -> failure records with reasons (one per row, column and check)."""
    structural = cases[cases["index"].isna()]
    if not structural.empty:
        raise ValueError(f"form {form}: the frame does not fit its model: {structural.to_dict('records')}")
    records = []
    for (check, column), group in cases.groupby(["check", "column"], sort=False, dropna=False):
        name = str(check).split("(")[0]
        if name in ROW_CHECKS:
            info = ROW_CHECKS[name]
            idx = pd.Index(group["index"].unique())
            bad = rows.loc[idx]
            records.append(failures(bad, form, info.column, bad[info.column], name, info.reason, info.action))
            continue
        idx = pd.Index(group["index"])
        bad = rows.loc[idx]
        values = bad[column].astype(str)
        checks = _column_checks(schema, str(column))
        records.append(failures(bad, form, column, values, name, sentence(name, checks.get(name, {}), values)))
    return concat_failures(records).drop_duplicates(["form", SOURCE_ROW, "column", "check"])


def _column_checks(schema: pa.DataFrameSchema, column: str) -> dict[str, dict]:
    col = schema.columns.get(column)
    if col is None:  # a checkbox column matched by a regex alias
        col = next(c for name, c in schema.columns.items() if c.regex and pd.Series([column]).str.match(name).iloc[0])
    return {c.name: c.statistics for c in col.checks}
