"""Compute only what changed, on a real warehouse.

Fits (`models.fit_key`, `sql/analyse/previous_fits.sql`): a night whose export changes nothing a
model reads fits nothing, and a changed value refits only the fits that read it, with the results a
full refit gives. Tables (`flows/analyse/sharing.py`): a cut's table whose input is unchanged shows
the previous cut's rows, and those are the rows computing it afresh gives, whatever changed."""

import csv
import datetime as dt
import io
import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from runback.flows.analyse import models, sharing
from runback.flows.analyse.refresh import measured_visits, refresh_analysis
from runback.flows.analyse.tables import SQL_TABLES, TABLES
from runback.flows.ingest.pipeline import ingest_file
from runback.flows.settings import PROJECT_DIR
from runback.flows.warehouse import connect
from tests.helpers import simulated_warehouse

RESULTS = "select * exclude (data_cut) from analysis.model_results where data_cut = $cut order by all"


@pytest.fixture(scope="module")
def simulated(tmp_path_factory, study):
    folder = tmp_path_factory.mktemp("trial")
    db, cut = simulated_warehouse(folder, study, participants=30, seed=5, nights=1)
    return db, cut, sorted(folder.glob("RUNBACK_DATA_*.csv"))[-1]


@pytest.fixture
def trial(simulated, tmp_path):
    """A copy of the simulated warehouse (analysed at its cut) and its export, for one test to change."""
    db, cut, last = simulated
    shutil.copy(db, tmp_path / db.name)
    shutil.copy(last, tmp_path / last.name)
    return tmp_path / db.name, cut, tmp_path / last.name


def _next_night(last: Path, name: str, change) -> Path:
    """The last export with one cell changed, as a later night's export."""
    rows = list(csv.DictReader(io.StringIO(last.read_text(encoding="utf-8"))))
    change(rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = last.parent / name
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def _ingest_and_refresh(db: Path, path: Path, study):
    result = ingest_file(str(path), str(db), str(PROJECT_DIR))
    assert result["status"] == "loaded", result
    with connect(db) as con:
        return refresh_analysis(con, study, result["data_cut"]), result["data_cut"]


def test_a_night_that_changes_nothing_a_model_reads_refits_nothing(trial, study):
    db, cut, last = trial
    with connect(db) as con:
        first = refresh_analysis(con, study, cut)  # no earlier cut analysed: everything is fitted
    assert first.reused == 0 and first.fitted > 40

    def new_ae_text(rows):
        next(r for r in rows if r["ae_desc"])["ae_desc"] += " (wording corrected)"

    done, new = _ingest_and_refresh(db, _next_night(last, "RUNBACK_DATA_2016-03-02_0200.csv", new_ae_text), study)
    assert (done.fitted, done.reused) == (0, first.fitted)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(RESULTS, {"cut": new}).fetchall() == con.execute(RESULTS, {"cut": cut}).fetchall()


def test_a_changed_value_refits_only_the_fits_that_read_it(trial, study):
    db, cut, last = trial
    with connect(db) as con:
        first = refresh_analysis(con, study, cut)

    def new_psfs_score(rows):
        row = next(r for r in rows if r["redcap_event_name"] == "week_8_arm_1" and r["psfs_score1"])
        row["psfs_score1"] = str((int(float(row["psfs_score1"])) + 3) % 11)

    done, new = _ingest_and_refresh(db, _next_night(last, "RUNBACK_DATA_2016-03-02_0200.csv", new_psfs_score), study)
    assert 0 < done.fitted < first.fitted and done.fitted + done.reused == first.fitted
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.execute("select * from analysis.model_results where data_cut = $cut", {"cut": new}).df()
        before = set(
            con.execute("select fit_hash from analysis.model_results where data_cut = $c", {"c": cut}).df()["fit_hash"]
        )
        outcomes = con.execute(open_sql("model_outcomes"), {"cut": new}).df()
        participants = con.execute(open_sql("model_participants"), {"cut": new}).df()
        arms = [a for (a,) in con.execute(open_sql("model_arms"), {"cut": new}).fetchall()]
    refitted = stored[~stored["fit_hash"].isin(before)]
    assert set(refitted["param"]) == {"PSFS"}
    full = models.fit_all(outcomes, participants, arms, measured_visits(study)).results
    key = ["model", "population", "timepoint", "param", "visit", "term"]
    pd.testing.assert_frame_equal(
        stored.drop(columns="data_cut").sort_values(key, na_position="first").reset_index(drop=True)[full.columns],
        full.sort_values(key, na_position="first").reset_index(drop=True),
        check_dtype=False,
    )


def open_sql(name: str) -> str:
    from runback.flows.warehouse import sql

    return sql(f"analyse/{name}")


def test_the_key_names_every_part_of_a_fit(monkeypatch):
    spec = ("MMRM", "ITT", "week_8", "PSFS", ("A", "B", "C"), "rows")
    key = models.fit_key(*spec)
    assert key == models.fit_key(*spec) and len(key) == 64
    for i, other in enumerate(("GEE", "Per protocol", "month_6", "ODI", ("B", "A", "C"), "other rows")):
        assert models.fit_key(*spec[:i], other, *spec[i + 1 :]) != key
    monkeypatch.setattr(models, "CODE_VERSION", "another version of the fitting code")
    assert models.fit_key(*spec) != key


# -- tables shared between cuts ---------------------------------------------------------------------
def _later(last: Path, days: int) -> str:
    return f"RUNBACK_DATA_{(dt.date(2016, 3, 1) + dt.timedelta(days=days)):%Y-%m-%d}_0200.csv"


def _rows_afresh(db: Path, study, cut: int, tmp: Path) -> dict[str, list]:
    """Every analysis table's rows of `cut`, computed afresh on a copy of the warehouse."""
    copy = tmp / "afresh.duckdb"
    shutil.copy(db, copy)
    with connect(copy) as con:
        refresh_analysis(con, study, cut, share=False)
        return _rows(con, cut)


def _rows(con, cut: int) -> dict[str, list]:
    return {
        t: con.execute(
            f"select * exclude (data_cut) from analysis.{t} where data_cut = $cut order by all", {"cut": cut}
        ).fetchall()
        for t in TABLES
    }


def _ae_text(rows):
    next(r for r in rows if r["ae_desc"])["ae_desc"] += " (wording corrected)"


def _psfs_score(rows):
    row = next(r for r in rows if r["redcap_event_name"] == "week_8_arm_1" and r["psfs_score1"])
    row["psfs_score1"] = str((int(float(row["psfs_score1"])) + 3) % 11)


def _session(rows):
    row = next(r for r in rows if r["redcap_repeat_instrument"] == "session_log" and r["sess_done"] == "1")
    row["sess_done"] = "0"


UNCHANGED = {
    "participants",
    "outcomes",
    "baseline",
    "outcome_summary",
    "adherence",
    "adverse_events",
    "responders",
    "model_results",
}
DATED = {"consort_flow", "missing_data", "missing_patterns"}
"""The tables that read the cut's date (which windows had closed by then)."""


@pytest.mark.parametrize(
    ("change", "days", "shared", "computed", "updated"),
    [
        # (an export that changes nothing makes no cut; the data queries are computed for every cut)
        (_ae_text, 1, UNCHANGED - {"adverse_events"}, {"adverse_events", "data_queries"}, set()),
        (
            _psfs_score,
            1,
            {"participants", "adherence", "adverse_events"},
            {"outcomes", "baseline", "outcome_summary", "responders", "model_results", "data_queries", *DATED},
            set(),  # the outcomes changed: the dated tables are computed afresh
        ),
        (_session, 1, set(), set(TABLES), set()),  # sessions done: every table reads analysis.participants
        (_ae_text, 200, UNCHANGED - {"adverse_events"}, {"adverse_events", "data_queries", *DATED}, DATED),
    ],
    ids=["ae-text", "psfs-score", "session", "ae-text-half-a-year-later"],
)
def test_a_table_is_computed_again_only_when_what_it_reads_changed(
    trial, study, tmp_path, change, days, shared, computed, updated
):
    """A table is shared when what it reads is unchanged, updated from the previous cut's rows when
    only the windows closed since changed, computed afresh otherwise; either way the cut shows the
    rows a fresh analysis gives."""
    db, cut, last = trial
    with connect(db) as con:
        refresh_analysis(con, study, cut)
    when = dt.datetime.strptime(last.stem.removeprefix("RUNBACK_DATA_"), "%Y-%m-%d_%H%M") + dt.timedelta(days=days)
    done, new = _ingest_and_refresh(db, _next_night(last, f"RUNBACK_DATA_{when:%Y-%m-%d_%H%M}.csv", change), study)
    assert set(done.shared) >= shared and not set(done.shared) & computed
    assert set(done.updated) == updated
    with duckdb.connect(str(db), read_only=True) as con:
        shown = _rows(con, new)
    assert shown == _rows_afresh(db, study, new, tmp_path)


def test_updates_from_cut_to_cut_give_the_rows_of_a_fresh_analysis(trial, study, tmp_path):
    """Night after night of windows closing (a month, four months and thirteen months after the
    first), each cut's dated tables are shared or updated from the previous cut's rows, never
    computed afresh, and equal a fresh analysis of the cut: the counts taken off as of one date
    and added as of the next do not drift."""
    db, cut, last = trial
    with connect(db) as con:
        refresh_analysis(con, study, cut)
    start = dt.datetime.strptime(last.stem.removeprefix("RUNBACK_DATA_"), "%Y-%m-%d_%H%M")
    updated = []
    for night, days in enumerate((30, 120, 400), start=1):
        name = f"RUNBACK_DATA_{start + dt.timedelta(days=days):%Y-%m-%d_%H%M}.csv"
        path = _next_night(last, name, lambda rows, n=night: [_ae_text(rows) for _ in range(n)])  # new wording
        done, new = _ingest_and_refresh(db, path, study)
        assert set(done.updated) | set(done.shared) >= DATED, days
        updated.append(set(done.updated))
        with duckdb.connect(str(db), read_only=True) as con:
            shown = _rows(con, new)
        assert {t: shown[t] for t in DATED} == {
            t: rows for t, rows in _rows_afresh(db, study, new, tmp_path).items() if t in DATED
        }, days
    assert updated.count(DATED) >= 2, updated


def test_analysing_a_cut_again_keeps_what_later_cuts_show(trial, study):
    """Re-analysing a cut whose rows a later cut shows hands them over to it first."""
    db, cut, last = trial
    with connect(db) as con:
        refresh_analysis(con, study, cut)
    done, new = _ingest_and_refresh(db, _next_night(last, "RUNBACK_DATA_2016-03-02_0200.csv", _ae_text), study)
    assert "outcomes" in done.shared
    with connect(db) as con:
        before = _rows(con, new), _rows(con, cut)
        refresh_analysis(con, study, cut, share=False)
        assert (_rows(con, new), _rows(con, cut)) == before
        held = dict(
            con.execute(
                "select table_name, rows_cut from analysis.cut_tables where data_cut = $c", {"c": new}
            ).fetchall()
        )
        stored = con.execute("select count(*) from analysis.outcomes_rows where data_cut = $c", {"c": new}).fetchone()
    assert held["outcomes"] == new and stored[0] == len(before[0]["outcomes"])


def test_a_table_reads_the_cut_date_only_through_which_windows_had_closed():
    """What the key of a table that reads the cut's date holds (the closed windows) is all it uses
    the date for: `cut_date` only in `window_closed(...)` and `window_closed_between(...)` (which
    participants to count again when updating), defined once from the export's time."""
    for table in SQL_TABLES:
        read = sharing.reads(f"analyse/{table}")
        if sharing.DATE_INPUT not in read or any(schema == "quarantine" for schema, _ in read):
            continue  # the data queries read the quarantine: computed for every cut
        text = re.sub(r"--[^\n]*", "", open_sql(table))
        outside = re.sub(r"window_closed(?:_between)?\((?:[^()]|\([^()]*\))*\)", "", text)
        assert outside.count("cut_date") == 1 and "export_time::date as cut_date" in outside, table
        assert outside.count("meta.data_cuts") == 1, table


def test_a_shared_table_reads_its_cut_only_as_of_the_cut():
    """A keyed table uses its cut only to read the clean layer as of it, its own and its inputs'
    rows of it, and its date (the key holds what those read, not the cut's number)."""
    allowed = re.compile(
        r"valid_at\((?:\w+\.)?valid_from_cut, (?:\w+\.)?valid_to_cut, \$cut\)|data_cut = \$cut"
        r"|\$cut as data_cut|select \$cut,|cut_id = \$cut"
    )
    for table in SQL_TABLES:
        read = sharing.reads(f"analyse/{table}")
        if any(schema == "quarantine" for schema, _ in read):
            continue
        text = allowed.sub("", re.sub(r"--[^\n]*", "", open_sql(table)))
        assert "$cut" not in text, (table, text[text.index("$cut") - 80 : text.index("$cut") + 20])


def test_a_retyped_clean_column_changes_the_keys_of_the_tables_that_read_its_form(trial):
    """A newer dictionary may retype a column in place, without changing any row's content hash."""
    db, cut, _ = trial

    def keys(con):
        found = sharing.TableKeys(con, cut, "reference")
        return {t: found.key(t, (f"analyse/{t}",)) for t in ("participants", "outcomes", "adverse_events")}

    with connect(db) as con:
        before = keys(con)
        con.execute("alter table clean.nprs alter nprs_avg type double")
        after = keys(con)
    assert before["outcomes"] != after["outcomes"]
    assert before["participants"] == after["participants"] and before["adverse_events"] == after["adverse_events"]


def test_the_reference_tables_follow_the_study_definition(trial, study):
    """ref.* is kept while the study definition gives the same tables, and written again when it
    changes (a visit window widened by a week, then narrowed back)."""
    import dataclasses

    db, cut, _ = trial
    event = next(e for e in study.events if e.visit == "week_8")
    wider = dataclasses.replace(event, offset_max=(event.offset_max or 0) + 7)
    moved = dataclasses.replace(study, events=tuple(wider if e == event else e for e in study.events))
    window = "select window_high from ref.visits where event = $e"
    with connect(db) as con:
        refresh_analysis(con, study, cut)
        assert con.execute(window, {"e": event.unique_name}).fetchall() == [(event.window[1],)]
        refresh_analysis(con, moved, cut)
        assert con.execute(window, {"e": event.unique_name}).fetchall() == [(wider.window[1],)]
        refresh_analysis(con, study, cut)
        assert con.execute(window, {"e": event.unique_name}).fetchall() == [(event.window[1],)]


def test_a_fit_that_fails_beside_the_tables_leaves_the_cut_as_it_was(trial, study, monkeypatch):
    """The fits run in a thread beside the other tables' SQL: their error is the refresh's, and the
    refresh's transaction rolls back (no table of the cut half-written)."""
    db, cut, _ = trial
    with duckdb.connect(str(db), read_only=True) as con:
        before = _rows(con, cut)

    def broken(*args, **kwargs):
        raise FloatingPointError("a fit diverged")

    monkeypatch.setattr(models, "fit_all", broken)
    with connect(db) as con, pytest.raises(FloatingPointError, match="diverged"):
        refresh_analysis(con, study, cut, share=False)
    with duckdb.connect(str(db), read_only=True) as con:
        assert _rows(con, cut) == before


def test_the_dated_tables_count_at_the_same_dates_and_participants():
    """The three tables that are updated as windows close say which dates they count at and which
    participants they count again in the same words (each statement's key is read off its own
    text, so the words stand in each; a change to one must reach all three)."""

    def cte(text: str, name: str) -> str:
        return re.search(rf"\n{name} as \((.*?)\n\),\n", re.sub(r"--[^\n]*", "", text), re.S).group(1)

    texts = [open_sql(table) for table in sorted(DATED)]
    for name in ("dates", "participants"):
        assert len({cte(text, name) for text in texts}) == 1, name
