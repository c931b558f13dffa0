"""Loading exports: one transaction each, snapshots as validity intervals, nothing twice."""

import datetime as dt

import duckdb
import pytest

from runback.flows.ingest import load
from runback.flows.ingest.files import ExportFile
from runback.flows.ingest.pipeline import ingest_file
from runback.flows.settings import PROJECT_DIR
from runback.flows.warehouse import sql
from tests.helpers import randomised, visit, write_export


def _ingest(path, db):
    return ingest_file(path, db, PROJECT_DIR)


def state(db) -> dict[str, list]:
    """Every table of the warehouse, rows sorted: equal states are equal warehouses."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables order by all").fetchall()
        return {f"{s}.{t}": sorted(map(repr, con.execute(f'select * from "{s}"."{t}"').fetchall())) for s, t in tables}


@pytest.fixture
def nights(tmp_path, study):
    one = [randomised("1"), randomised("2", group="2")]
    two = one + [visit("1", "week_4_arm_1", nprs_date="2014-02-07", nprs_run="5", nprs_complete="2")]
    three = [randomised("1", nprs_run="7"), randomised("2", group="2")] + two[2:]  # a correction; nothing lost
    return [
        write_export(tmp_path, f"RUNBACK_DATA_2014-0{i + 2}-01_0200.csv", study, rows)
        for i, rows in enumerate([one, two, three])
    ]


def test_snapshots_become_validity_intervals(tmp_path, nights):
    db = tmp_path / "w.duckdb"
    results = [_ingest(p, db) for p in nights]
    assert [r.data_cut for r in results] == [1, 2, 3]
    with duckdb.connect(str(db), read_only=True) as con:
        history = con.execute(
            "select event, nprs_run, valid_from_cut, valid_to_cut from clean.nprs "
            "where record_id = '1' order by valid_from_cut, event"
        ).fetchall()
    assert history == [("baseline_arm_1", 6, 1, 3), ("week_4_arm_1", 5, 2, None), ("baseline_arm_1", 7, 3, None)]


def test_clean_layer_as_of_an_earlier_cut_equals_loading_that_night_alone(tmp_path, nights):
    late, alone = tmp_path / "late.duckdb", tmp_path / "alone.duckdb"
    for p in nights:
        _ingest(p, late)
    _ingest(nights[0], alone)
    for form in ("screening", "randomisation", "nprs"):
        query = sql("query/clean_as_of", form=form)
        with duckdb.connect(str(late), read_only=True) as a, duckdb.connect(str(alone), read_only=True) as b:
            assert a.execute(query, {"cut": 1}).fetchall() == b.execute(query, {"cut": 1}).fetchall()


def test_the_same_file_twice_changes_nothing(tmp_path, nights):
    db = tmp_path / "w.duckdb"
    _ingest(nights[0], db)
    before = state(db)
    again = _ingest(nights[0], db)
    assert again.repeat and state(db) == before


def test_an_older_export_is_recorded_and_does_not_roll_back(tmp_path, nights):
    db = tmp_path / "w.duckdb"
    _ingest(nights[1], db)
    result = _ingest(nights[0], db)
    assert result.status == "older"
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from meta.data_cuts").fetchone()[0] == 1
        assert con.execute("select count(*) from clean.nprs where valid_to_cut is null").fetchone()[0] == 3


def test_an_export_older_than_the_latest_applied_one_is_not_applied(tmp_path, nights):
    """The exports of February and April are applied; March's, picked up late, is older than the latest."""
    db = tmp_path / "w.duckdb"
    assert [_ingest(p, db).status for p in (nights[0], nights[2], nights[1])] == ["loaded", "loaded", "older"]
    with duckdb.connect(str(db)) as con:
        known = load.prior(con, ExportFile.of(nights[1], nights[1].read_bytes()))
        seen = load.prior(con, ExportFile.of(nights[0], nights[0].read_bytes()))
    february, april = dt.datetime(2014, 2, 1, 2, 0), dt.datetime(2014, 4, 1, 2, 0)
    assert known.latest_export_time == april and known.applied_times == {february, april}
    assert known.earlier == load.LoadResult(
        file=nights[1].name,
        status="older",
        file_id=3,
        message="older than an export already loaded; not applied",
    )
    assert seen.earlier == load.LoadResult(file=nights[0].name, status="loaded", file_id=1, data_cut=1, message="")
    assert known.dictionary and {"name", "form"} <= set(known.dictionary[0])
    assert known.newer_export_loaded(dt.datetime(2014, 3, 31)) and not known.newer_export_loaded(april)
    assert not known.newer_export_loaded(None)
    assert not load.Prior(None, None, frozenset(), None).newer_export_loaded(april)


def test_an_identical_export_under_a_new_name_makes_no_new_cut(tmp_path, study, nights):
    db = tmp_path / "w.duckdb"
    _ingest(nights[0], db)
    copy = tmp_path / "RUNBACK_DATA_2014-02-02_0200.csv"
    copy.write_bytes(nights[0].read_bytes() + b"\n")  # other bytes, same content
    assert _ingest(copy, db).status == "unchanged"


def test_a_load_that_fails_half_way_leaves_the_warehouse_as_it_was(tmp_path, nights, monkeypatch):
    db = tmp_path / "w.duckdb"
    _ingest(nights[0], db)
    before = state(db)

    def fail_after_raw(*args, **kwargs):
        raise RuntimeError("injected failure after the raw insert")

    monkeypatch.setattr(load, "apply_clean", fail_after_raw)
    with pytest.raises(RuntimeError, match="injected"):
        _ingest(nights[1], db)
    assert state(db) == before
    monkeypatch.undo()
    assert _ingest(nights[1], db).data_cut == 2  # and the next ingest completes


def test_a_refused_file_is_recorded_and_nothing_loads(tmp_path, study):
    db = tmp_path / "w.duckdb"
    bad = tmp_path / "RUNBACK_DATA_2014-02-01_0200.csv"
    bad.write_text("Record ID,Event Name\n1,Baseline\n")
    result = _ingest(bad, db)
    assert result.status == "refused" and "labels export" in result.message
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from meta.data_cuts").fetchone()[0] == 0
        assert con.execute("select status from meta.source_files").fetchall() == [("refused",)]


def test_quarantined_row_keeps_its_last_valid_version(tmp_path, study):
    db = tmp_path / "w.duckdb"
    good = write_export(tmp_path, "RUNBACK_DATA_2014-02-01_0200.csv", study, [randomised("1")])
    bad = write_export(tmp_path, "RUNBACK_DATA_2014-02-02_0200.csv", study, [randomised("1", nprs_run="14")])
    _ingest(good, db)
    result = _ingest(bad, db)
    assert result.forms["nprs"] == {"rows_in": 1, "loaded": 0, "quarantined": 1, "flagged": 0}
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select nprs_run from clean.nprs where valid_to_cut is null").fetchall() == [(6,)]
        assert con.execute('select "column", value from quarantine.rows').fetchall() == [("nprs_run", "14")]


def test_an_export_where_most_forms_have_no_rows_loads(tmp_path, study):
    from tests.helpers import session

    path = write_export(tmp_path, "RUNBACK_DATA_2014-02-01_0200.csv", study, [session("1", 1), session("1", 2)])
    result = _ingest(path, tmp_path / "w.duckdb")
    assert result.forms["session_log"] == {"rows_in": 2, "loaded": 2, "quarantined": 0, "flagged": 0}
    assert result.forms["randomisation"]["rows_in"] == 0
