"""A form's schema is what the dictionary says, plus the trial's row checks for the form."""

import pandas as pd
import pytest

import runback.schemas as schemas
from runback.schemas.form import schema_for, with_row_checks


def _frame(**columns):
    n = len(next(iter(columns.values())))
    base = {"record_id": ["1"] * n, "event": ["baseline_arm_1"] * n, "instance": [1] * n}
    return pd.DataFrame(base | columns, index=pd.RangeIndex(2, 2 + n, name="source_row"))


def test_the_dictionary_gives_each_field_its_type_range_codes_and_requirement(study):
    frame = _frame(
        nprs_date=["2014-01-02", "2014-02-30", "2014-01-02", "2014-01-02", ""],
        nprs_run=["3", "4", "14", "UNK", "2"],
        nprs_avg=["", "x", "2", "NA", "10"],
        nprs_complete=["2", "2", "2", "2", "3"],
    )
    with pytest.raises(Exception) as err:
        schema_for(study, "nprs").validate(frame, lazy=True)
    cases = err.value.failure_cases
    failed = set(zip(cases["column"], cases["index"]))
    assert failed == {("nprs_date", 3), ("nprs_avg", 3), ("nprs_run", 4), ("nprs_date", 6), ("nprs_complete", 6)}


def test_the_row_checks_are_added_and_one_that_cannot_run_is_said(study):
    derived = schema_for(study, "screening")
    schema, notes = with_row_checks(derived, schemas.MODELS["screening"])
    assert "consent_has_date" in [c.name for c in schema.checks]
    assert notes == []
    # a dictionary without consent_date: the row check that reads it cannot run, and says so
    columns = [c for c in derived.columns if c != "consent_date"]
    schema, notes = with_row_checks(derived, schemas.MODELS["screening"], columns)
    assert "consent_has_date" not in [c.name for c in schema.checks]
    assert notes == [
        "row check consent_has_date of form screening cannot run: the dictionary has no column 'consent_date'"
    ]


def test_every_row_check_reads_fields_the_dictionary_has(study):
    for form, model in schemas.MODELS.items():
        assert with_row_checks(schema_for(study, form), model)[1] == [], form


def _passes(form: str, check: str, **columns) -> list[bool]:
    found = {c.name: c for c in schemas.MODELS[form].to_schema().checks}
    return found[check]._check_fn(pd.DataFrame(columns)).tolist()


def test_consent_given_needs_its_date():
    assert _passes(
        "screening", "consent_has_date", consent=["1", "1", "0", ""], consent_date=["2014-01-02", "", "", ""]
    ) == [True, False, True, True]


def test_a_participant_who_did_not_complete_needs_a_reason():
    status = ["1", "", "2", "3", "4"]
    assert _passes(
        "study_end",
        "non_completion_has_reason",
        end_status=status,
        end_reason___1=["0", "0", "1", "0", "0"],
        end_reason___99=["0", "0", "0", "0", "1"],
        end_reason___unk=["0", "0", "0", "0", "0"],
    ) == [True, True, True, False, True]


def test_running_cannot_have_stopped_after_the_visit_that_reports_it():
    assert _passes(
        "running_status",
        "stopped_before_the_assessment",
        run_date=["2014-03-07", "2014-03-07", "2014-03-07", "2014-03-07"],
        run_stop_date=["2014-02-20", "2014-03-07", "2014-03-08", ""],
    ) == [True, True, False, True]


def test_a_co_intervention_cannot_stop_before_it_starts():
    assert _passes(
        "co_intervention",
        "stops_after_it_starts",
        cointv_start=["2014-02-01", "2014-02-01", "2014-02-01"],
        cointv_stop=["2014-02-10", "", "2014-01-31"],
    ) == [True, True, False]
