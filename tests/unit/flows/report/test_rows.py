"""How the report reads its query results: rows as dicts, grouped in Python as the report's tables
need them."""

from __future__ import annotations

import duckdb

from runback.flows.report.context import _groups, _rows

ROWS = [
    {"visit": "week_4", "arm": "B", "n": 1},
    {"visit": "baseline", "arm": "A", "n": 2},
    {"visit": "week_4", "arm": None, "n": 3},
    {"visit": "baseline", "arm": "B", "n": 4},
]


def test_groups_in_key_order_or_in_order_of_first_appearance():
    assert [(key, [r["n"] for r in group]) for key, group in _groups(ROWS, "visit")] == [
        (("baseline",), [2, 4]),
        (("week_4",), [1, 3]),
    ]
    assert [key for key, _ in _groups(ROWS, "visit", sort=False)] == [("week_4",), ("baseline",)]
    assert [key for key, _ in _groups(ROWS, "arm", "visit")] == [("A", "baseline"), ("B", "baseline"), ("B", "week_4")]


def test_a_row_with_a_null_key_is_in_no_group():
    grouped = dict(_groups(ROWS, "visit", "arm"))
    assert sum(len(group) for group in grouped.values()) == 3 and ("week_4", None) not in grouped
    assert _groups([], "visit") == []


def test_rows_are_dicts_in_the_query_order_with_null_and_nan_as_none(monkeypatch):
    monkeypatch.setattr(
        "runback.flows.report.context.sql",
        lambda name: {
            "report/probe": "select * from (values (2, 'b', 'nan'::double), (1, null, 1.5)) t(id, label, x) order by id"
        }[name],
    )
    with duckdb.connect() as con:
        found = _rows(con, "probe")
    assert found == [{"id": 1, "label": None, "x": 1.5}, {"id": 2, "label": "b", "x": None}]
    assert list(found[0]) == ["id", "label", "x"]
