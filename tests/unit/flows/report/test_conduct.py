"""Recruitment, retention and visit windows in the report, from a few rows, against the numbers
worked out by hand."""

from __future__ import annotations

import duckdb

from runback.flows.report.blinding import arms_for
from runback.flows.report.context import conduct
from runback.schemas.trial import RECRUITMENT
from tests.helpers import build_warehouse, randomised, visit

REASONS = ("1", "2", "3", "4", "99", "unk", "nask", "asku", "na")


def test_recruitment_retention_and_windows(tmp_path, study):
    rows = [
        randomised("1", scr_date="2014-01-06", rand_date="2014-01-10"),
        randomised("2", group="2", scr_date="2014-01-20", rand_date="2014-01-24", nprs_date="2014-01-23"),
        randomised(
            "3",
            group="3",
            scr_date="2014-02-03",
            rand_date="2014-02-07",
            nprs_date="2014-02-06",
            consent_date="2014-02-04",
        ),
        visit("1", "week_4_arm_1", nprs_date="2014-02-07", nprs_run="5", nprs_avg="4", nprs_complete="2"),
        visit("2", "week_4_arm_1", nprs_date="2014-03-14", nprs_run="5", nprs_avg="4", nprs_complete="2"),
        visit(
            "3",
            "study_end_arm_1",
            end_status="3",
            end_date="2014-02-20",
            study_end_complete="2",
            **{f"end_reason___{c}": "0" for c in REASONS},
        ),
        # week 8 (day 56, window 49 to 63): pain on day 56, running ability on day 70
        visit(
            "1",
            "week_8_arm_1",
            nprs_date="2014-03-07",
            nprs_run="4",
            nprs_avg="3",
            nprs_complete="2",
            psfs_date="2014-03-21",
            psfs_act1="running",
            psfs_score1="6",
            psfs_complete="2",
        ),
    ]
    db = build_warehouse(tmp_path, study, [rows])
    with duckdb.connect(str(db), read_only=True) as con:
        found = conduct(con, 1, arms_for(True), ("baseline", "week_4", "week_8"))
    assert found["target"] == RECRUITMENT.target and found["randomised"] == 3
    assert [(r["month"], r["screened"], r["randomised"], r["randomised_total"]) for r in found["recruitment"]] == [
        ("2014-01", 2, 2, 2),
        ("2014-02", 1, 1, 3),
    ]
    week_4 = next(v for v in found["retention"] if v["visit"].startswith("Week 4"))
    assert sum(a["retained"] for a in week_4["arms"]) == 2  # record 3 was lost on day 13, before day 28
    baseline = found["retention"][0]
    assert sum(a["retained"] for a in baseline["arms"]) == 3
    windows = {w["visit"].split(" (")[0]: (w["assessed"], w["in_window"]) for w in found["windows"]}
    assert windows["Week 4"] == (2, 1)  # record 1 on day 28, record 2 on day 49 (window 21 to 35)
    assert windows["Week 8"] == (1, 0)  # a visit with one assessment outside its window is outside it
    with duckdb.connect(str(db), read_only=True) as con:
        from runback.flows.report.context import _rows, deviations

        found = deviations(_rows(con, "protocol_deviations", cut=1), arms_for(True), ("baseline", "week_4", "week_8"))
    outside = next(c for c in found["counts"] if c["kind"].startswith("Assessment outside"))
    assert outside["deviations"] == 2  # record 2 at week 4, record 1 at week 8: each visit once
