"""Refit only what changed (`models.fit_key`, `sql/analyse/previous_fits.sql`): on a real warehouse,
a night whose export changes nothing a model reads fits nothing, and a changed value refits only the
fits that read it, with the results a full refit gives."""

import csv
import io
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from runback.flows.analyse import models
from runback.flows.analyse.refresh import measured_visits, refresh_analysis
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
        before = set(con.execute("select fit_hash from analysis.model_results where data_cut = $c", {"c": cut}).df()
                     ["fit_hash"])  # fmt: skip
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
