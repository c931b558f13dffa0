"""analysis.consort_flow (sql/analyse/consort_flow.sql): a missed visit is 'Lost to follow-up' or
'Withdrew' only after the participant's last contact; before it, they were in contact: 'Missed'."""

import duckdb

from tests.helpers import build_warehouse, randomised, visit


def _nprs(record, event, date):
    return visit(record, event, nprs_date=date, nprs_run="3", nprs_avg="2", nprs_complete="2")


def _end(record, status, date):
    return visit(
        record,
        "study_end_arm_1",
        end_status=status,
        end_date=date,
        study_end_complete="2",
        **{f"end_reason___{c}": "0" for c in ("1", "2", "3", "4", "99")},
    )


def _boxes(db):
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select stage, box, n from latest.consort_flow where stage like 'Follow-up%' and box <> 'Not yet due'"
        ).fetchall()
    return {(stage.removeprefix("Follow-up: "), box): n for stage, box, n in rows}


def test_missed_before_the_last_contact_lost_after_it(tmp_path, study):
    rows = [
        randomised("1"),
        _nprs("1", "week_8_arm_1", "2014-03-07"),
        _end("1", "3", "2014-03-20"),  # lost after week 8
        randomised("2"),
        _end("2", "2", "2014-02-01"),  # withdrew before week 4's window closed
        randomised("3"),
        _end("3", "3", "2014-05-20"),  # lost, but in contact until after week 8's window
    ]
    boxes = _boxes(build_warehouse(tmp_path, study, [rows]))
    assert boxes[("week_4", "Missed")] == 1 + 1  # 1 was assessed later; 3 was in contact then
    assert boxes[("week_8", "Assessed")] == 1
    assert boxes[("week_4", "Withdrew")] == 1 and boxes[("week_8", "Withdrew")] == 1
    assert boxes[("week_8", "Missed")] == 1  # 3
    assert ("week_4", "Lost to follow-up") not in boxes and ("week_8", "Lost to follow-up") not in boxes
