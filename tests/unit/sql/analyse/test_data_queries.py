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


def test_a_query_raised_again_keeps_the_cut_it_was_first_raised_in(tmp_path, study):
    """Raised at cut 1, resolved at 2, absent at 3, raised again at 4: new again, since cut 1."""
    bad, good = randomised("1", nprs_run="14"), randomised("1")
    db = build_warehouse(tmp_path, study, [[bad], [good], [good, randomised("2")], [bad, randomised("2")]])
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            'select data_cut, since_cut, status from latest.data_queries where "column" = $c', {"c": "nprs_run"}
        ).fetchall()
    assert rows == [(4, 1, "new")]


def test_the_first_cut_of_each_query_is_the_first_cut_whose_export_raised_it(tmp_path, study):
    """meta.data_query_first_cut, kept as cuts are made, equals the first cut found in every cut's
    quarantine and flags (what the data queries computed from the whole history before)."""
    night_1 = [randomised("1", nprs_run="14"), randomised("2")]
    night_2 = [randomised("1", nprs_run="14"), randomised("2", nprs_avg="x")]
    night_3 = [randomised("1"), randomised("2", nprs_avg="x"), randomised("3", nprs_avg="y")]
    db = build_warehouse(tmp_path, study, [night_1, night_2, night_3])
    history = """
        select md5(concat_ws('|', f.action, f.form, f.record_id, f.event, f.instance, f."column", f."check")),
            min(c.cut_id)
        from (select 'quarantine' as action, * from quarantine.rows union all select 'flag', * from quarantine.flags) f
        inner join meta.data_cuts c using (file_id) group by all order by all"""
    with duckdb.connect(str(db), read_only=True) as con:
        kept = con.execute("select query_id, cut_id from meta.data_query_first_cut order by all").fetchall()
        assert kept == con.execute(history).fetchall() and len(kept) >= 3


def test_a_query_met_on_several_rows_is_one_query_shown_as_its_first_row(tmp_path, study):
    """Two rows of the export with one key: each form's duplicate is quarantined on both, one query."""
    db = build_warehouse(tmp_path, study, [[randomised("1"), randomised("1", nprs_avg="x"), randomised("2")]])
    where = {"c": "duplicate_key"}
    with duckdb.connect(str(db), read_only=True) as con:
        raised = con.execute('select form, count(*) from quarantine.rows where "check" = $c group by 1', where)
        raised = dict(raised.fetchall())
        queries = con.execute(
            'select form, record_id, reason, status from latest.data_queries where "check" = $c order by form', where
        ).fetchall()
    assert set(raised.values()) == {2} and [q[0] for q in queries] == sorted(raised)  # one query per form
    assert all(q[1:] == ("1", queries[0][2], "new") and "share this key" in q[2] for q in queries)
