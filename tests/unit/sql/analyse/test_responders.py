"""analysis.responders (sql/analyse/responders.sql): a change of exactly the MCID is a response."""

import duckdb

from tests.helpers import build_warehouse, randomised, visit


def _psfs(scores, date):
    values = {"psfs_date": date, "psfs_complete": "2"}
    for i, score in enumerate(scores, start=1):
        values |= {f"psfs_act{i}": f"Activity {i}", f"psfs_score{i}": score}
    return values


def test_an_exact_mcid_change_of_thirds_counts(tmp_path, study):
    # 10/3 -> 16/3 is +2 exactly, but 16/3 - 10/3 is 1.9999999999999996 in binary floating point
    rows = [
        randomised("1", **_psfs(["3", "3", "4"], "2014-01-09")),
        visit("1", "week_8_arm_1", **_psfs(["5", "5", "6"], "2014-03-07")),
        randomised("2", **_psfs(["3", "3", "4"], "2014-01-09")),
        visit("2", "week_8_arm_1", **_psfs(["5", "5", "5"], "2014-03-07")),  # +5/3: below the MCID
        randomised("3", **_psfs(["2", "2", "2"], "2014-01-09")),
        visit("3", "week_8_arm_1", **_psfs(["4", "4", "4"], "2014-03-07")),  # +2 in integers
    ]
    db = build_warehouse(tmp_path, study, [rows])
    with duckdb.connect(str(db), read_only=True) as con:
        chg = dict(
            con.execute(
                "select record_id, chg from latest.outcomes where param = 'PSFS' and visit = 'week_8'"
            ).fetchall()
        )
        n, responders = con.execute(
            "select n, responders from latest.responders where param = 'PSFS' and timepoint = 'week_8' "
            "and population = 'ITT'"
        ).fetchone()
    assert chg["1"] < 2  # the floating-point tie the tolerance is for
    assert (n, responders) == (3, 2)


def test_a_participant_without_a_change_is_neither_counted_nor_a_responder(tmp_path, study):
    rows = [
        randomised("1", **_psfs(["2", "2", "2"], "2014-01-09")),
        visit("1", "week_8_arm_1", **_psfs(["4", "4", "4"], "2014-03-07")),  # +2: a response
        randomised("2"),  # no baseline PSFS: no change at week 8
        visit("2", "week_8_arm_1", **_psfs(["9", "9", "9"], "2014-03-07")),
        randomised("3", **_psfs(["2", "2", "2"], "2014-01-09")),
        visit("3", "week_8_arm_1", **_psfs(["2", "2", "2"], "2014-03-07")),  # no change
    ]
    db = build_warehouse(tmp_path, study, [rows])
    with duckdb.connect(str(db), read_only=True) as con:
        counted = con.execute(
            "select population, n, responders, pct from latest.responders where param = 'PSFS' "
            "and timepoint = 'week_8' order by population"
        ).fetchall()
    assert counted[0] == ("ITT", 2, 1, 50.0)
