"""The trial's definition: it agrees with its REDCap project, and which fields hold the allocation,
by what they are (schemas/trial.py)."""

from dataclasses import replace

from runback.flows.ingest.project import read_rows
from runback.flows.settings import PROJECT_DIR
from runback.schemas import trial
from runback.schemas.study import Field


def test_trial_arms_match_the_dictionary(study):
    assert tuple(trial.ARMS) == study.field_map["rand_group"].codes
    assert trial.blinded_study(study).field_map["rand_group"].codes == trial.BLINDED_ARMS


def test_the_copied_project_matches_what_the_checks_were_written_for():
    rows = read_rows(next(PROJECT_DIR.glob("*DataDictionary*.csv")))
    assert rows[0]["Variable / Field Name"] == "record_id"


def _with(study, *fields):
    return replace(study, fields=(*study.fields, *fields))


def test_the_randomisation_field_holds_the_allocation(study):
    assert trial.allocation_fields(study) == ("rand_group",)


def test_a_field_with_the_randomisation_fields_choices_holds_it_whatever_its_name(study):
    copy = replace(study.field_map["rand_group"], name="programme_given", form="study_end")
    assert trial.allocation_fields(_with(study, copy)) == ("rand_group", "programme_given")
    masked = trial.blinded_study(_with(study, copy)).field_map["programme_given"]
    assert masked.codes == trial.BLINDED_ARMS
    assert all(label.startswith("Arm ") for _, label in masked.choices)


def test_the_arms_codes_with_labels_that_name_the_arms_hold_it(study):
    reworded = Field(
        "arm_again",
        "study_end",
        "radio",
        "Programme",
        choices=(("1", "leg programme (LL)"), ("2", "Lumbar extensor strengthening"), ("3", "core: ls")),
    )
    assert "arm_again" in trial.allocation_fields(_with(study, reworded))


def test_three_choices_coded_like_the_arms_but_about_something_else_are_data(study):
    other = Field("pain_site", "study_end", "radio", "Where", choices=(("1", "Back"), ("2", "Leg"), ("3", "Both")))
    words = Field("fell", "study_end", "radio", "Fell", choices=(("1", "Falls"), ("2", "Left"), ("3", "Hills")))
    assert not {"pain_site", "fell"} & set(trial.allocation_fields(_with(study, other, words)))
