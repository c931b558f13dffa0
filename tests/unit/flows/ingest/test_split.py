"""Splitting a wide export into form rows, and the structural problems found on the way."""

from runback.flows.ingest.read import read_export
from runback.flows.ingest.split import split_export
from tests.helpers import randomised, session, visit, write_export


def _split(tmp_path, study, rows):
    export = read_export(write_export(tmp_path, "RUNBACK_DATA_2014-03-01_0200.csv", study, rows), study)
    return split_export(export, study)


def test_forms_are_taken_from_their_events_and_repeat_rows(tmp_path, study):
    parts = _split(
        tmp_path,
        study,
        [
            randomised("1"),
            visit("1", "week_4_arm_1", nprs_date="2014-02-07", nprs_run="5", nprs_complete="2", psfs_complete="0"),
            session("1", 1),
            session("1", 2),
        ],
    )
    nprs = parts.forms["nprs"].rows
    assert nprs[["record_id", "event", "instance"]].values.tolist() == [
        ["1", "baseline_arm_1", 1],
        ["1", "week_4_arm_1", 1],
    ]
    assert parts.forms["session_log"].rows["instance"].tolist() == [1, 2]
    # designated but never saved (all blank, _complete 0) is not data
    assert parts.forms["psfs"].rows.empty and parts.forms["odi"].rows.empty
    assert parts.problems.empty


def test_structural_problems_are_quarantined_with_their_reason(tmp_path, study):
    parts = _split(
        tmp_path,
        study,
        [
            randomised("1"),
            visit("1", "week_12_arm_1", nprs_date="2014-04-01", nprs_run="5", nprs_complete="2"),
            visit("1", "week_4_arm_1", odi_date="2014-02-07", odi_q1="1", odi_complete="2"),
            visit(
                "1",
                "week_8_arm_1",
                redcap_repeat_instrument="nprs",
                redcap_repeat_instance="1",
                nprs_date="2014-03-07",
                nprs_run="3",
                nprs_complete="2",
            ),
            session("1", 1),
            session("1", 1, sess_rpe="7"),
            session("1", "x"),
            visit("", "week_4_arm_1", nprs_date="2014-02-07", nprs_run="5", nprs_complete="2"),
        ],
    )
    found = {(p["form"], p["source_row"], p["check"]) for _, p in parts.problems.iterrows()}
    assert found == {
        ("nprs", 2, "unknown_event"),
        ("odi", 3, "form_not_in_event"),
        ("nprs", 4, "repeat_on_non_repeating_form"),
        ("session_log", 5, "duplicate_key"),
        ("session_log", 6, "duplicate_key"),
        ("session_log", 7, "repeat_instance_invalid"),
        ("nprs", 8, "record_id_blank"),
    }
    reasons = dict(zip(parts.problems["check"], parts.problems["reason"]))
    assert reasons["unknown_event"] == "'week_12_arm_1' is not an event of the project"
    assert "rows 5, 6 of the file share this key" in reasons["duplicate_key"]
    # every form row is either sound or a problem: nothing dropped
    for form, part in parts.forms.items():
        problems = parts.problems[parts.problems["form"] == form]
        assert len(part.raw) == len(part.rows) + problems["source_row"].nunique()
