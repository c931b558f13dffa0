"""The trial's pandera models state what the dictionary says, field by field."""

import pandas as pd
import pytest

import runback.schemas as schemas
from runback.flows.ingest.project import read_rows
from runback.flows.settings import PROJECT_DIR
from runback.schemas import trial
from runback.schemas.form import schema_for


def _checks(column) -> dict:
    return {check.name: check.statistics for check in column.checks}


@pytest.mark.parametrize("form", list(schemas.MODELS))
def test_every_dictionary_field_is_covered_with_its_type_range_and_choices(study, form):
    model = schemas.MODELS[form].to_schema()
    derived = schema_for(trial.blinded_study(study), form)  # the allocation is checked as masked at intake
    assert list(model.columns) == list(derived.columns), "columns differ from the dictionary"
    for name, column in derived.columns.items():
        assert _checks(model.columns[name]) == _checks(column), f"{form}.{name} differs from the dictionary"


def test_models_cover_every_form_of_the_project(study):
    assert set(schemas.MODELS) == set(study.forms)


def test_model_missing_codes_are_the_projects(study):
    assert trial.MISSING == tuple(study.missing_codes)


def test_trial_arms_match_the_dictionary(study):
    assert tuple(trial.ARMS) == study.field_map["rand_group"].codes
    assert trial.blinded_study(study).field_map["rand_group"].codes == trial.BLINDED_ARMS


def test_the_copied_project_matches_what_the_checks_were_written_for():
    rows = read_rows(next(PROJECT_DIR.glob("*DataDictionary*.csv")))
    assert rows[0]["Variable / Field Name"] == "record_id"


def _frame(**columns):
    n = len(next(iter(columns.values())))
    base = {"record_id": ["1"] * n, "event": ["baseline_arm_1"] * n, "instance": [1] * n}
    return pd.DataFrame(base | columns, index=pd.RangeIndex(2, 2 + n, name="source_row"))


def test_nprs_accepts_codes_and_rejects_bad_values():
    frame = _frame(
        nprs_date=["2014-01-02", "2014-02-30", "2014-01-02", "2014-01-02"],
        nprs_run=["3", "4", "14", "UNK"],
        nprs_avg=["", "x", "2", "NA"],
        nprs_complete=["2", "2", "2", "2"],
    )
    with pytest.raises(Exception) as err:
        schemas.Nprs.validate(frame, lazy=True)
    cases = err.value.failure_cases
    failed = set(zip(cases["column"], cases["index"]))
    assert failed == {("nprs_date", 3), ("nprs_avg", 3), ("nprs_run", 4)}


def test_the_dictionary_decides_the_checks_and_the_models_row_checks_are_added(study):
    from runback.schemas.form import disagreements, with_row_checks

    derived = schema_for(study, "screening")
    schema, notes = with_row_checks(derived, schemas.MODELS["screening"])
    assert [c.name for c in schema.checks] == ["consent_has_date"]
    assert notes == [] and disagreements(schemas.MODELS["screening"], derived) == []
    # a dictionary without consent_date: the row check that reads it cannot run, and says so
    columns = [c for c in derived.columns if c != "consent_date"]
    schema, notes = with_row_checks(derived, schemas.MODELS["screening"], columns)
    assert "consent_has_date" not in [c.name for c in schema.checks]
    assert notes == [
        "row check consent_has_date of form screening cannot run: the dictionary has no column 'consent_date'"
    ]


def test_a_model_that_disagrees_with_the_dictionary_is_described(study):
    from dataclasses import replace

    from runback.schemas.form import disagreements
    from runback.schemas.study import Study

    fields = tuple(replace(f, max="12") if f.name == "psfs_score1" else f for f in study.fields)
    wider = Study(fields, study.events, study.designations, study.repeating, study.missing_codes)
    found = disagreements(schemas.MODELS["psfs"], schema_for(wider, "psfs"))
    assert len(found) == 1 and found[0].startswith("column psfs_score1: the model checks ")
    assert "'max': '10'" in found[0] and "'max': '12'" in found[0]
