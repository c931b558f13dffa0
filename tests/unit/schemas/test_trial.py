"""The trial's own definitions agree with its REDCap project."""

from runback.flows.ingest.project import read_rows
from runback.flows.settings import PROJECT_DIR
from runback.schemas import trial


def test_trial_arms_match_the_dictionary(study):
    assert tuple(trial.ARMS) == study.field_map["rand_group"].codes
    assert trial.blinded_study(study).field_map["rand_group"].codes == trial.BLINDED_ARMS


def test_the_copied_project_matches_what_the_checks_were_written_for():
    rows = read_rows(next(PROJECT_DIR.glob("*DataDictionary*.csv")))
    assert rows[0]["Variable / Field Name"] == "record_id"
