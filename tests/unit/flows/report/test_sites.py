"""The report's per-site table, from a few rows with a data access group, against the numbers
worked out by hand; a single-site export (no group column, or one group) has no such section."""

from __future__ import annotations

import duckdb

from runback.flows.report.context import sites
from runback.schemas.study import DAG_COLUMN, REPEAT_INSTANCE_COLUMN
from tests.helpers import build_warehouse, randomised, screened, visit


def _header(study) -> list[str]:
    columns = study.export_columns()
    at = columns.index(REPEAT_INSTANCE_COLUMN) + 1
    return [*columns[:at], DAG_COLUMN, *columns[at:]]


def _rows(groups: tuple[str, str]) -> list[dict]:
    north, south = groups
    at = {DAG_COLUMN: north}, {DAG_COLUMN: south}
    return [
        randomised("1", **at[0]),
        randomised("2", group="2", **at[0]),
        randomised("3", group="3", **at[1]),
        screened("4", eligible="0", consent="0", consent_date="", **at[1]),
        visit("1", "week_4_arm_1", nprs_date="2014-02-07", nprs_run="5", nprs_avg="4", nprs_complete="2", **at[0]),
        visit("3", "week_4_arm_1", nprs_date="2014-03-14", nprs_run="5", nprs_avg="4", nprs_complete="2", **at[1]),
    ]


def test_conduct_by_site(tmp_path, study):
    db = build_warehouse(tmp_path, study, [_rows(("nie_sports_science", "sgh_physiotherapy"))], header=_header(study))
    with duckdb.connect(str(db), read_only=True) as con:
        found = {s["site"]: s for s in sites(con, 1, "week_8")["rows"]}
    assert list(found) == ["nie_sports_science", "sgh_physiotherapy"]
    north, south = found.values()
    assert (north["screened"], north["randomised"], south["screened"], south["randomised"]) == (2, 2, 2, 1)
    assert (north["assessed"], north["in_window"]) == (1, 1)  # record 1 on day 28
    assert (south["assessed"], south["in_window"]) == (1, 0)  # record 3 on day 63 (window 21 to 35)
    assert south["queries_open"] >= 1 and north["retained"] == 2


def test_one_site_or_no_group_column_has_no_site_section(tmp_path, study):
    for folder in ("one", "none"):
        (tmp_path / folder).mkdir()
    one = build_warehouse(tmp_path / "one", study, [_rows(("nie_sports_science",) * 2)], False, _header(study))
    none = build_warehouse(tmp_path / "none", study, [_rows(("", ""))], analyse=False)  # the site is read first
    for db in (one, none):
        with duckdb.connect(str(db), read_only=True) as con:
            assert sites(con, 1, "month_6") is None
