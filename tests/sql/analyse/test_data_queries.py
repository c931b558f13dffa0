"""analysis.data_queries: every quarantined row and flag of a cut, as new / open / resolved."""

import duckdb

from tests.helpers import build_warehouse, randomised


def test_query_status_relative_to_the_previous_cut(tmp_path, study):
    night_1 = [randomised("1", nprs_run="14"), randomised("2")]
    night_2 = [randomised("1", nprs_run="14"), randomised("2", nprs_avg="x")]
    night_3 = [randomised("1"), randomised("2", nprs_avg="x")]
    db = build_warehouse(tmp_path, study, [night_1, night_2, night_3])
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            'select record_id, "column", action, since_cut, status from latest.data_queries order by record_id'
        ).fetchall()
    assert rows == [("1", "nprs_run", "quarantine", 1, "resolved"), ("2", "nprs_avg", "quarantine", 2, "open")]
