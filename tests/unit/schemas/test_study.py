"""The study definition read from REDCap project files: the trial's and other projects'."""

import pytest

from runback.flows.ingest.project import load_study
from runback.schemas.study import Field, Study, normalise_code, parse_choices
from tests.helpers import SAMPLES


def test_trial_forms_events_and_windows(study):
    assert study.record_id == "record_id"
    assert list(study.forms) == [
        "screening",
        "baseline_characteristics",
        "randomisation",
        "nprs",
        "psfs",
        "odi",
        "physical_tests",
        "session_log",
        "adverse_event",
        "running_status",
        "co_intervention",
        "study_end",
    ]
    assert study.event_map["week_8_arm_1"].window == (49, 63)
    assert study.event_map["baseline_arm_1"].window == (-14, 0)
    assert study.event_map["month_6_arm_1"].visit == "month_6"
    assert study.forms_in_event("week_4_arm_1") == ("nprs", "psfs", "running_status", "co_intervention")
    assert study.repeats("week_4_arm_1", "co_intervention") is True
    assert study.repeats("programme_arm_1", "session_log") is True
    assert study.repeats("baseline_arm_1", "nprs") is False


def test_identifiers_and_missing_codes(study):
    assert set(study.identifiers) == {"first_name", "last_name", "nric", "phone", "email", "dob"}
    assert list(study.missing_codes) == ["UNK", "NASK", "ASKU", "NA"]


def test_checkbox_columns_follow_redcaps_rule(study):
    cols = study.field_columns(study.field_map["excl_reason"])
    assert list(cols)[:6] == [f"excl_reason___{c}" for c in ("1", "2", "3", "4", "5", "99")]
    assert cols["excl_reason___unk"] == "UNK"  # one column per missing-data code too
    assert normalise_code("-99") == "_99"
    assert normalise_code("B1b") == "b1b"
    assert normalise_code("1.5") == "1_5"


def test_export_header_order(study):
    header = study.export_columns()
    assert header[:4] == ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"]
    assert header.index("screening_complete") == header.index("consent_date") + 1
    assert "first_name" not in study.export_columns(with_identifiers=False)


def test_kinds_from_dictionary(study):
    f = study.field_map
    assert (f["nprs_run"].kind, f["nprs_run"].range) == ("integer", ("0", "10"))
    assert f["ke_torque_l"].kind == "number"
    assert f["rand_date"].kind == "date"
    assert f["rand_group"].codes == ("1", "2", "3")
    assert f["waitlist"].codes == ("1", "0")
    assert f["age"].kind == "number"  # a calc field


def test_parse_choices_spacing_variants():
    assert parse_choices("0, Female | 1, Male") == (("0", "Female"), ("1", "Male"))
    assert parse_choices("1, one|2, two, or more") == (("1", "one"), ("2", "two, or more"))


def test_a_file_that_is_not_a_dictionary_is_refused():
    with pytest.raises(ValueError, match="not a REDCap data dictionary"):
        Study.from_rows([{"name": "x", "form": "y"}])


def test_slider_defaults_to_0_100():
    assert Field("s", "f", "slider", "S").range == ("0", "100")


@pytest.mark.skipif(not SAMPLES.exists(), reason="../shared/redcap-samples is absent")
def test_other_projects_load_from_their_own_files():
    longitudinal = load_study(
        SAMPLES / "REDCapR/longitudinal/dictionary.csv", events=SAMPLES / "REDCapR/longitudinal/event.csv"
    )
    assert longitudinal.record_id == "study_id"
    assert len(longitudinal.events) == 12
    api_json = load_study(SAMPLES / "REDCapTidieR/api-8d708c-POST.json")
    assert api_json.field_columns(api_json.field_map["checkbox_multiple"])["checkbox_multiple____99"] == "-99"
    assert not api_json.longitudinal
