"""analysis.missing_patterns (sql/analyse/missing_patterns.sql): each participant's visits as a pattern."""

import datetime as dt

from runback.flows.warehouse import sql
from tests.unit.sql.analyse.memory import participant, put

RANDOMISED = dt.date(2014, 1, 10)


def _participant(record: str, arm: str) -> dict:
    return participant(record, arm, RANDOMISED)


def _assessed(record: str, arm: str, *visits: str) -> list[dict]:
    steps = {"baseline": 0, "week_4": 1, "week_8": 2, "month_3": 3}
    common = {"data_cut": 1, "record_id": record, "arm": arm, "param": "NPRS_RUN", "aval": 3.0}
    return [common | {"visit": v, "step": steps[v]} for v in visits]


def test_patterns_by_arm_and_their_kind(warehouse):
    cut_date = dt.datetime(2014, 6, 1, 2)  # month 3's window (to day 161) has not closed yet
    put(
        warehouse,
        "meta.data_cuts",
        [{"cut_id": 1, "file_id": 1, "export_time": cut_date, "clean_hash": "", "queries_hash": ""}],
    )
    put(warehouse, "analysis.participants", [_participant("1", "A"), _participant("2", "A"), _participant("3", "A")])
    put(warehouse, "analysis.participants", [_participant("4", "B"), _participant("5", "B")])
    put(
        warehouse,
        "analysis.outcomes",
        [
            *_assessed("1", "A", "baseline", "week_4", "week_8"),
            *_assessed("2", "A", "baseline", "week_8"),
            *_assessed("3", "A", "baseline"),
            *_assessed("4", "B", "baseline", "week_4"),
        ],
    )
    warehouse.execute(sql("analyse/missing_patterns"), {"cut": 1})
    found = warehouse.execute(
        "select arm, pattern, kind, participants from analysis.missing_patterns where param = 'NPRS_RUN'"
    ).fetchall()
    assert sorted(found) == [
        ("A", "X..", "monotone", 1),
        ("A", "X.X", "intermittent", 1),
        ("A", "XXX", "complete", 1),
        ("B", "...", "none", 1),  # never assessed
        ("B", "XX.", "monotone", 1),
    ]
