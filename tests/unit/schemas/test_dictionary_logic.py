"""Validation as REDCap checks its own data: required only where shown, a value in a hidden field and
a calc field that differs from its formula flagged, logic that cannot be evaluated named. On the
trial's dictionary and on a small generic longitudinal project."""

import csv
import dataclasses
import datetime as dt
import json
import logging

import duckdb
import pytest

from runback.flows.ingest.dictionary import definition
from runback.flows.ingest.pipeline import ingest_file
from runback.flows.ingest.read import read_export
from runback.flows.ingest.split import split_export
from runback.flows.ingest.validate import validate_export
from runback.schemas.dictionary_logic import dictionary_logic
from runback.schemas.rules import Context
from runback.schemas.study import Study
from runback.schemas.trial import blinded_study
from tests.helpers import randomised, screened, visit, write_export


def _validate(tmp_path, study, rows):
    study = blinded_study(study)
    rows = [r | {"rand_group": "A"} if "rand_group" in r else r for r in rows]
    export = read_export(write_export(tmp_path, "PROJECT_DATA_2014-06-01_0200.csv", study, rows), study)
    return validate_export(split_export(export, study), study, Context(dt.date(2014, 6, 1)))


def _found(checked) -> set[tuple]:
    return {(f.form, f.record_id, f.event, f.column, f.check, f.action) for f in checked.failures.itertuples()}


def _with(study: Study, name: str, **changes) -> Study:
    fields = tuple(dataclasses.replace(f, **changes) if f.name == name else f for f in study.fields)
    return dataclasses.replace(study, fields=fields)


# -- the trial's dictionary --------------------------------------------------------------------------
def test_trial_required_only_where_the_branching_logic_shows_the_field(tmp_path, study):
    consent_required = _with(study, "consent", required=True)  # shown when [eligible] = '1'
    checked = _validate(
        tmp_path,
        consent_required,
        [
            screened("1", eligible="0", consent="", consent_date="", excl_reason___1="1"),  # hidden: loads
            screened("2", eligible="1", consent="", consent_date=""),  # shown and blank: held back
        ],
    )
    assert _found(checked) == {("screening", "2", "baseline_arm_1", "consent", "redcap_required", "quarantine")}
    assert list(checked.valid["screening"]["record_id"]) == ["1"]
    reason = checked.failures["reason"].iloc[0]
    assert reason == "a required field is blank (its branching logic shows it: [eligible] = '1')"


def test_trial_values_in_hidden_fields_and_a_stale_calculation_are_flagged(tmp_path, study):
    baseline = {"height_cm": "170.0", "weight_kg": "65.0", "baseline_characteristics_complete": "2"}
    checked = _validate(
        tmp_path,
        study,
        [
            randomised("1", excl_reason___5="1", **baseline, bmi="22.5"),  # consented: the reasons are hidden
            randomised("2", **baseline, bmi="25.0"),  # 65 / 1.70^2 = 22.49..., rounded to 22.5
            randomised("3", **baseline, bmi="22.50"),
            visit("3", "week_4_arm_1", psfs_date="2014-02-07", psfs_act1="Hills", psfs_score1="4", psfs_score3="7"),
        ],
    )
    assert _found(checked) == {
        ("screening", "1", "baseline_arm_1", "excl_reason", "hidden_with_value", "flag"),
        ("baseline_characteristics", "2", "baseline_arm_1", "bmi", "calculation_differs", "flag"),
        ("psfs", "3", "week_4_arm_1", "psfs_score3", "hidden_with_value", "flag"),
    }
    assert all(len(checked.valid[form]) == 3 for form in ("screening", "baseline_characteristics"))  # flags load
    by_check = checked.failures.set_index("check")
    assert by_check.loc["hidden_with_value"].set_index("column").loc["excl_reason", "value"] == "5"
    assert by_check.loc["calculation_differs", "reason"] == (
        "the stored value '25.0' is not what its calculation gives ('22.5'): round([weight_kg]/(([height_cm]/100)^2),1)"
    )
    psfs = by_check.loc["hidden_with_value"].set_index("column").loc["psfs_score3"]
    assert psfs["reason"] == "psfs_score3 holds '7' but its branching logic hides it: [psfs_act3] <> ''"


def test_trial_logic_that_cannot_be_evaluated_is_named_and_its_field_checked_as_before(tmp_path, study):
    smart = _with(study, "consent", required=True, branching="[event-name] = 'baseline_arm_1'")
    checked = _validate(
        tmp_path, smart, [screened("1", eligible="0", consent="", consent_date="", excl_reason___1="1")]
    )
    assert dictionary_logic(smart).notes() == [
        "field age: its calculation is not checked (it reads [dob], an identifier, which is dropped when an export "
        'is read): rounddown(datediff([dob],[scr_date],"y","ymd"),0)',
        "field consent: its branching logic is not checked (the reference [event-name] is a smart variable): "
        "[event-name] = 'baseline_arm_1'",
    ]
    assert _found(checked) == {("screening", "1", "baseline_arm_1", "consent", "redcap_required", "quarantine")}
    recorded = {f["name"]: f["logic_not_checked"] for f in definition(smart) if "logic_not_checked" in f}
    assert recorded == {
        "age": ["calculation: it reads [dob], an identifier, which is dropped when an export is read"],
        "consent": ["branching logic: the reference [event-name] is a smart variable"],
    }


# -- a generic longitudinal project --------------------------------------------------------------------
def _field(name, form, kind, branching="", required=False, choices="", validation="", calc=""):
    return {
        "field_name": name,
        "form_name": form,
        "field_type": kind,
        "field_label": name.replace("_", " "),
        "select_choices_or_calculations": choices or calc,
        "text_validation_type_or_show_slider_number": validation,
        "branching_logic": branching,
        "required_field": "y" if required else "",
    }


CLINIC_DICTIONARY = [
    _field("participant", "enrolment", "text"),
    _field("sex", "enrolment", "radio", required=True, choices="1, Male | 2, Female"),
    _field("pregnant", "enrolment", "yesno", "[sex] = '2'", required=True),
    _field("weight", "enrolment", "text", validation="number"),
    _field("height", "enrolment", "text", validation="number"),
    _field("bmi", "enrolment", "calc", calc="round([weight]/([height]/100)^2, 1)"),
    _field("pain", "followup", "yesno"),
    _field("pain_sites", "followup", "checkbox", "[pain] = '1'", required=True, choices="1, Back | 2, Hip"),
    _field("still_pregnant", "followup", "yesno", "[enrolment_arm_1][pregnant] = '1'"),
    _field("visit_note", "followup", "text", "[pain][previous-instance] = '1'", required=True),
]
CLINIC_CODES = "UNK, Unknown"
CLINIC_FILES = {
    "dictionary.csv": CLINIC_DICTIONARY,
    "events.csv": [
        {"event_name": "Enrolment", "arm_num": "1", "unique_event_name": "enrolment_arm_1"},
        {"event_name": "Follow-up", "arm_num": "1", "unique_event_name": "followup_arm_1"},
    ],
    "instrument_designations.csv": [
        {"arm_num": "1", "unique_event_name": "enrolment_arm_1", "form": "enrolment"},
        {"arm_num": "1", "unique_event_name": "followup_arm_1", "form": "followup"},
    ],
}


@pytest.fixture(scope="module")
def clinic() -> Study:
    """Enrolment (sex, pregnancy, BMI) then follow-up visits whose questions hang on the enrolment."""
    files = CLINIC_FILES
    return Study.from_rows(
        CLINIC_DICTIONARY, files["events.csv"], files["instrument_designations.csv"], missing_codes=CLINIC_CODES
    )


def _enrolled(record, **values):
    row = {"participant": record, "redcap_event_name": "enrolment_arm_1", "sex": "1", "pregnant": ""}
    return row | {"weight": "80", "height": "180", "bmi": "24.7", "enrolment_complete": "2"} | values


def _followup(record, **values):
    row = {"participant": record, "redcap_event_name": "followup_arm_1", "pain": "0", "visit_note": "seen"}
    return row | {"pain_sites___1": "0", "pain_sites___2": "0", "followup_complete": "2"} | values


def _validate_clinic(tmp_path, study, rows):
    export = read_export(write_export(tmp_path, "Clinic_DATA_2024-06-01_0900.csv", study, rows), study)
    return validate_export(split_export(export, study), study, Context(dt.date(2024, 6, 1)))


def test_generic_project_checks_its_logic_within_and_across_events(tmp_path, clinic):
    checked = _validate_clinic(
        tmp_path,
        clinic,
        [
            _enrolled("1"),  # a man: the required pregnancy question is hidden and blank
            _enrolled("2", sex="2"),  # a woman: shown, required and blank
            _enrolled("3", pregnant="1"),  # a man with a pregnancy answer
            _enrolled("4", bmi="31.0"),  # 80 / 1.8^2 = 24.69...
            _enrolled("5", sex="2", pregnant="1"),
            _followup("1", pain="1", pain_sites___2="1"),
            _followup("2", pain="1"),  # pain sites shown, required, none ticked
            _followup("4", still_pregnant="0"),  # hidden: record 4 is not pregnant at enrolment
            _followup("5", still_pregnant="1"),  # shown by the enrolment's answer
            _followup("6", pain="1", pain_sites___1="1", visit_note=""),  # its logic is not evaluated: required
        ],
    )
    assert _found(checked) == {
        ("enrolment", "2", "enrolment_arm_1", "pregnant", "redcap_required", "quarantine"),
        ("enrolment", "3", "enrolment_arm_1", "pregnant", "hidden_with_value", "flag"),
        ("enrolment", "4", "enrolment_arm_1", "bmi", "calculation_differs", "flag"),
        ("followup", "2", "followup_arm_1", "pain_sites", "redcap_required", "quarantine"),
        ("followup", "4", "followup_arm_1", "still_pregnant", "hidden_with_value", "flag"),
        ("followup", "6", "followup_arm_1", "visit_note", "redcap_required", "quarantine"),
    }
    assert sorted(checked.valid["enrolment"]["record_id"]) == ["1", "3", "4", "5"]
    assert dictionary_logic(clinic).notes() == [
        "field visit_note: its branching logic is not checked (the reference [pain][previous-instance] names a "
        "repeat instance): [pain][previous-instance] = '1'"
    ]


def test_generic_project_missing_data_codes_answer_and_may_stay_in_hidden_fields(tmp_path, clinic):
    checked = _validate_clinic(
        tmp_path,
        clinic,
        [
            _enrolled("1", sex="2", pregnant="UNK"),  # shown and answered with a code
            _enrolled("2", pregnant="UNK"),  # hidden: REDCap keeps a code in a hidden field
            _enrolled("3", weight="UNK", bmi=""),  # a code is blank to a calculation
            _followup("1", pain="1", pain_sites___unk="1"),  # a required checkbox answered with a code
        ],
    )
    assert checked.failures.empty


def _write_project(folder, study_rows: dict[str, list[dict]]):
    folder.mkdir()
    for name, rows in study_rows.items():
        with (folder / name).open("w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    (folder / "missing_data_codes.txt").write_text(CLINIC_CODES)
    return folder


def test_generic_project_logic_not_evaluated_is_said_once_per_dictionary_and_recorded(tmp_path, clinic, caplog):
    """The ingest says it when the dictionary is first recorded, not on every night after."""
    project = _write_project(tmp_path / "project", CLINIC_FILES)
    db = tmp_path / "w.duckdb"
    with caplog.at_level(logging.WARNING, logger="runback"):
        for day in ("2024-06-01", "2024-06-02"):
            rows = [_enrolled("1"), _followup("1", visit_note=f"seen {day}")]
            path = write_export(tmp_path, f"Clinic_DATA_{day}_0900.csv", clinic, rows)
            assert ingest_file(str(path), str(db), str(project)).status == "loaded"
    said = [r.getMessage() for r in caplog.records if "is not checked" in r.getMessage()]
    assert said == [
        "data dictionary version 1: field visit_note: its branching logic is not checked (the reference "
        "[pain][previous-instance] names a repeat instance): [pain][previous-instance] = '1'"
    ]
    with duckdb.connect(str(db), read_only=True) as con:
        (recorded,) = con.execute("select definition from meta.dictionary_versions").fetchone()
    unchecked = {f["name"]: f["logic_not_checked"] for f in json.loads(recorded) if "logic_not_checked" in f}
    assert unchecked == {
        "visit_note": ["branching logic: the reference [pain][previous-instance] names a repeat instance"]
    }
