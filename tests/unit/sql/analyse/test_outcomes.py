"""analysis.outcomes derivations (sql/analyse/outcomes.sql), from export rows to parameter values."""

import duckdb
import pytest

from tests.helpers import build_warehouse, randomised


def _values(db, param):
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select record_id, visit, aval, base, chg from latest.outcomes where param = $p order by record_id, step",
            {"p": param},
        ).fetchall()
    return {(r, v): (a, b, c) for r, v, a, b, c in rows}


def _psfs(record, acts, scores):
    values = {"psfs_date": "2014-01-09", "psfs_complete": "2"}
    for i, (act, score) in enumerate(zip(acts, scores), start=1):
        values |= {f"psfs_act{i}": act, f"psfs_score{i}": score}
    return randomised(record, **values)


def test_psfs_is_the_mean_of_the_scores_whose_activity_is_named(tmp_path, study):
    db = build_warehouse(
        tmp_path,
        study,
        [
            [
                _psfs("1", ["Running"], ["4"]),
                _psfs("2", ["Running", "Hills"], ["4", "7"]),
                _psfs("3", ["Running", "Hills", "Sprints"], ["3", "4", "8"]),
                _psfs("4", ["Running", "", "Sprints"], ["3", "9", "6"]),  # score 2 has no named activity
                _psfs("5", ["", "", ""], ["5", "", ""]),  # nothing named: no PSFS
                _psfs("6", ["Running", "Hills"], ["UNK", "6"]),  # a missing-data code is missing
            ]
        ],
    )
    psfs = _values(db, "PSFS")
    assert psfs[("1", "baseline")][0] == 4
    assert psfs[("2", "baseline")][0] == 5.5
    assert psfs[("3", "baseline")][0] == pytest.approx(5.0)
    assert psfs[("4", "baseline")][0] == 4.5
    assert ("5", "baseline") not in psfs
    assert psfs[("6", "baseline")][0] == 6


def _odi(record, answers):
    values = {"odi_date": "2014-01-09", "odi_complete": "2"}
    values |= {f"odi_q{i}": a for i, a in enumerate(answers, start=1)}
    return randomised(record, **values)


def test_odi_formula_and_its_missing_section_rule(tmp_path, study):
    db = build_warehouse(
        tmp_path,
        study,
        [
            [
                _odi("1", ["2"] * 10),  # 20 / 50 = 40.0
                _odi("2", ["1", "2", "3", "", "1", "2", "", "0", "1", "3"]),  # 2 missing: 13 / 40 = 32.5
                _odi("3", ["1", "2", "3", "", "1", "2", "", "", "1", "3"]),  # 3 missing: no ODI
                _odi("4", ["5", "4", "3", "2", "1", "0", "1", "NA", "3", "1"]),  # a code counts as unanswered: 20/45
            ]
        ],
    )
    odi = _values(db, "ODI")
    assert odi[("1", "baseline")][0] == 40.0
    assert odi[("2", "baseline")][0] == 32.5
    assert ("3", "baseline") not in odi
    assert odi[("4", "baseline")][0] == 44.4


def test_torque_is_the_mean_of_the_sides_recorded(tmp_path, study):
    def tests(record, left, right):
        return randomised(
            record, pt_date="2014-01-09", ke_torque_l=left, ke_torque_r=right, physical_tests_complete="2"
        )

    db = build_warehouse(tmp_path, study, [[tests("1", "2.10", "2.30"), tests("2", "", "1.95"), tests("3", "", "")]])
    torque = _values(db, "KE_TORQUE")
    assert torque[("1", "baseline")][0] == pytest.approx(2.2)
    assert torque[("2", "baseline")][0] == pytest.approx(1.95)
    assert ("3", "baseline") not in torque


def test_base_chg_visit_day_and_window(tmp_path, study):
    week_8 = {"record_id": "1", "redcap_event_name": "week_8_arm_1", "nprs_complete": "2"}
    db = build_warehouse(
        tmp_path,
        study,
        [
            [
                randomised("1", nprs_run="6"),
                week_8 | {"nprs_date": "2014-03-07", "nprs_run": "2"},  # day 56 from 2014-01-10
                randomised("2", nprs_run="5"),
                week_8 | {"record_id": "2", "nprs_date": "2014-04-01", "nprs_run": "5"},  # day 81: outside
            ]
        ],
    )
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select record_id, visit, aval, base, chg, visit_day, in_window from latest.outcomes "
            "where param = 'NPRS_RUN' order by record_id, step"
        ).fetchall()
    assert rows == [
        ("1", "baseline", 6, 6, None, -1, True),
        ("1", "week_8", 2, 6, -4, 56, True),
        ("2", "baseline", 5, 5, None, -1, True),
        ("2", "week_8", 5, 5, 0, 81, False),
    ]
