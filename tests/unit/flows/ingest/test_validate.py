"""Validation of form rows: every failure found, with a reason; flags load, quarantine holds back."""

import datetime as dt

import pandas as pd

from runback.flows.ingest.read import read_export
from runback.flows.ingest.split import split_export
from runback.flows.ingest.validate import validate_export
from runback.schemas.rules import Context
from runback.schemas.trial import blinded_study
from tests.helpers import randomised, session, visit, write_export


def _validate(tmp_path, study, rows, context=None):
    """Validate rows as the warehouse does: with the allocation masked (a fixed stand-in key here)."""
    study = blinded_study(study)
    rows = [
        r | {"rand_group": STAND_IN_KEY.get(r["rand_group"], r["rand_group"])} if "rand_group" in r else r for r in rows
    ]
    export = read_export(write_export(tmp_path, "RUNBACK_DATA_2014-06-01_0200.csv", study, rows), study)
    return validate_export(split_export(export, study), study, context or Context(dt.date(2014, 6, 1)))


STAND_IN_KEY = {"1": "A", "2": "B", "3": "C"}


def _found(checked):
    return {(f.form, f.record_id, f.column, f.check, f.action) for f in checked.failures.itertuples()}


def test_value_failures_name_column_value_and_reason(tmp_path, study):
    checked = _validate(
        tmp_path,
        study,
        [
            randomised("1", nprs_run="14"),
            randomised("2", nprs_avg="abc", scr_date="2015-02-30"),
            randomised("3", nprs_avg="UNK"),  # a missing-data code is missing for a reason, not an error
        ],
    )
    failures = checked.failures.set_index(["record_id", "column"])
    assert failures.loc[("1", "nprs_run"), "reason"] == "'14' is outside the allowed range 0 to 10"
    assert failures.loc[("2", "nprs_avg"), "reason"] == "'abc' is not a whole number"
    assert failures.loc[("2", "scr_date"), "reason"] == "'2015-02-30' is not a real date (YYYY-MM-DD)"
    assert "3" not in set(checked.failures["record_id"])
    # the unit of quarantine is the form row: record 1's screening still loads, its nprs row does not
    assert "1" in set(checked.valid["screening"]["record_id"]) and "1" not in set(checked.valid["nprs"]["record_id"])


def test_required_field_and_choice(tmp_path, study):
    checked = _validate(tmp_path, study, [randomised("1", rand_group="4"), randomised("2", sex="")])
    assert ("randomisation", "1", "rand_group", "redcap_choice", "quarantine") in _found(checked)
    assert ("screening", "2", "sex", "redcap_required", "quarantine") in _found(checked)


def test_psfs_score_without_activity_loads_with_a_flag(tmp_path, study):
    checked = _validate(
        tmp_path,
        study,
        [
            randomised(
                "1",
                psfs_date="2014-01-09",
                psfs_act1="Running uphill",
                psfs_score1="4",
                psfs_score2="6",
                psfs_complete="2",
            )
        ],
    )
    assert _found(checked) == {("psfs", "1", "psfs_score2", "hidden_with_value", "flag")}
    assert len(checked.valid["psfs"]) == 1
    flag = checked.failures.iloc[0]
    assert flag["value"] == "6" and "[psfs_act2] <> ''" in flag["reason"]  # the field, the value, the logic


def test_cross_form_rules(tmp_path, study):
    checked = _validate(
        tmp_path,
        study,
        [
            randomised("1", consent_date="2014-01-12"),  # randomised on the 10th
            randomised("2"),
            visit("2", "week_8_arm_1", nprs_date="2014-04-20", nprs_run="2", nprs_complete="2"),  # day 100
            session("2", 1, sess_date="2014-05-30"),
            visit("2", "week_4_arm_1", nprs_date="2014-07-01", nprs_run="2", nprs_complete="2"),  # after the export
        ],
    )
    found = _found(checked)
    assert ("randomisation", "1", "rand_date", "consent_before_randomisation", "quarantine") in found
    assert ("nprs", "2", "nprs_date", "outside_visit_window", "flag") in found
    assert ("session_log", "2", "sess_date", "session_outside_programme", "flag") in found
    assert ("nprs", "2", "nprs_date", "date_after_export", "quarantine") in found
    reason = checked.failures.query("check == 'outside_visit_window'")["reason"].iloc[0]
    assert reason == "assessed on day 100 from randomisation; the week_8_arm_1 window is days 49 to 63"


def test_randomisation_changed_since_an_earlier_export_is_held_back(tmp_path, study):
    before = pd.DataFrame({"record_id": ["1"], "rand_group": ["1"], "rand_date": ["2014-01-10"]})
    checked = _validate(tmp_path, study, [randomised("1", group="3")], Context(dt.date(2014, 6, 1), before))
    assert ("randomisation", "1", "rand_group", "randomisation_changed", "quarantine") in _found(checked)
    assert checked.valid["randomisation"].empty


def test_an_export_of_sessions_only_validates(tmp_path, study):
    """Forms with no rows at all (a truncated export) leave nothing to join on, and nothing fails."""
    checked = _validate(tmp_path, study, [session("1", 1), session("1", 2)])
    assert checked.failures.empty and len(checked.valid["session_log"]) == 2
    assert checked.valid["randomisation"].empty


def test_intercurrent_event_forms_load_good_rows_and_quarantine_bad_ones(tmp_path, study):
    def running(record, **values):
        return visit(record, "week_8_arm_1", run_date="2014-03-07", running_status_complete="2", **values)

    def treatment(record, instance, **values):
        return visit(
            record,
            "week_8_arm_1",
            redcap_repeat_instrument="co_intervention",
            redcap_repeat_instance=str(instance),
            cointv_start="2014-02-01",
            co_intervention_complete="2",
            **values,
        )

    checked = _validate(
        tmp_path,
        study,
        [
            randomised("1"),
            running("1", run_still="0", run_stop_date="2014-02-20", run_stop_reason="1"),
            treatment("1", 1, cointv_type="1", cointv_stop="2014-02-10"),
            randomised("2"),
            running("2", run_still="0", run_stop_date="2014-03-20", run_stop_reason="2"),  # after the visit
            treatment("2", 1, cointv_type="7"),  # not a choice
            treatment("2", 2, cointv_type="2", cointv_stop="2014-01-20"),  # stops before it starts
            randomised("3"),
            running("3", run_still="0"),  # stopped, but no date nor reason
        ],
    )
    assert set(checked.valid["running_status"]["record_id"]) == {"1"}
    assert set(checked.valid["co_intervention"]["record_id"]) == {"1"}
    found = _found(checked)
    assert ("running_status", "2", "run_stop_date", "stopped_before_the_assessment", "quarantine") in found
    assert ("co_intervention", "2", "cointv_type", "redcap_choice", "quarantine") in found
    assert ("co_intervention", "2", "cointv_stop", "stops_after_it_starts", "quarantine") in found
    assert ("running_status", "3", "run_stop_date", "redcap_required", "quarantine") in found
    reasons = checked.failures.set_index(["record_id", "column"])["reason"]
    assert (
        reasons[("2", "run_stop_date")]
        == "the date running stopped is after the date of the assessment that reports it"
    )


def test_bad_intercurrent_event_rows_truncated_dated_before_randomisation_or_an_instance_twice(tmp_path, study):
    def running(record, **values):
        return visit(record, "week_8_arm_1", run_date="2014-03-07", running_status_complete="2", **values)

    def treatment(record, instance, **values):
        row = {"redcap_repeat_instrument": "co_intervention", "redcap_repeat_instance": str(instance)}
        return visit(record, "week_8_arm_1", **row, cointv_type="1", co_intervention_complete="2", **values)

    checked = _validate(
        tmp_path,
        study,
        [
            randomised("1"),  # on 2014-01-10, screened on 2014-01-06
            running("1", run_still="0", run_stop_date="2014-02", run_stop_reason="1"),  # truncated
            randomised("2"),
            running("2", run_still="0", run_stop_date="2014-01-08", run_stop_reason="1"),  # before randomisation
            randomised("3"),
            treatment("3", 1, cointv_start="2014-02-01"),
            treatment("3", 1, cointv_start="2014-02-03"),  # the same instance twice
            treatment("3", 2, cointv_start="2014-02"),
        ],
    )
    assert checked.valid["co_intervention"].empty
    assert set(checked.valid["running_status"]["record_id"]) == {"2"}  # loads, with a data query
    assert _found(checked) == {
        ("running_status", "1", "run_stop_date", "redcap_type", "quarantine"),
        ("running_status", "2", "run_stop_date", "stopped_before_randomisation", "flag"),
        ("co_intervention", "3", "record_id", "duplicate_key", "quarantine"),
        ("co_intervention", "3", "cointv_start", "redcap_type", "quarantine"),
    }
