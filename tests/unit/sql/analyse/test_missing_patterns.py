"""analysis.missing_patterns (sql/analyse/missing_patterns.sql): each participant's visits as a pattern."""

import duckdb

from tests.helpers import build_warehouse, randomised, visit


def _nprs(record, event, date):
    return visit(record, event, nprs_date=date, nprs_run="3", nprs_avg="2", nprs_complete="2")


def test_patterns_by_arm_and_their_kind(tmp_path, study):
    rows = [
        randomised("1"),
        _nprs("1", "week_4_arm_1", "2014-02-07"),
        _nprs("1", "week_8_arm_1", "2014-03-07"),
        randomised("2"),
        _nprs("2", "week_8_arm_1", "2014-03-07"),
        randomised("3"),
        randomised("4", group="2"),
        _nprs("4", "week_4_arm_1", "2014-02-07"),
    ]
    db = build_warehouse(tmp_path, study, [rows])
    with duckdb.connect(str(db), read_only=True) as con:
        found = con.execute(
            "select arm, pattern, kind, participants from latest.missing_patterns where param = 'NPRS_RUN' "
            "order by arm, pattern"
        ).fetchall()
        arm = dict(con.execute("select record_id, arm from latest.participants").fetchall())
    assert sorted(found) == sorted(
        [
            (arm["4"], "XX.", "monotone", 1),
            (arm["1"], "X..", "monotone", 1),
            (arm["1"], "X.X", "intermittent", 1),
            (arm["1"], "XXX", "complete", 1),
        ]
    )
