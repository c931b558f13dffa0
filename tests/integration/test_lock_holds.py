"""A lock that is contradicted is said so: when a locked cut's analysis input no longer matches the
content locked, its report is refused (no FINAL page, exit 3) and `runback check` names it."""

import pytest
from typer.testing import CliRunner

from runback.flows import settings
from runback.flows.cli import app
from runback.flows.ingest.pipeline import Options
from runback.flows.night import run
from runback.flows.simulate import simulate
from runback.flows.warehouse import connect

runner = CliRunner()


@pytest.fixture
def locked(tmp_path, monkeypatch):
    exports, db, key = tmp_path / "exports", tmp_path / "w.duckdb", tmp_path / "keys" / "allocation.key"
    monkeypatch.setenv("RUNBACK_OUT", str(tmp_path / "out"))
    simulate(exports, participants=20, seed=11, nights=2)
    with settings.use_trial(settings.Trial("", db, exports, tmp_path / "out", key)):
        run([exports], db, settings.PROJECT_DIR, Options(key=key))
    result = runner.invoke(app, ["lock", "--db", str(db), "--timepoint", "week_8", "--force", "--reason", "test"])
    assert result.exit_code == 0, result.output
    return db


def test_a_sound_lock_gives_a_final_report(locked):
    result = runner.invoke(app, ["report", "--db", str(locked), "--timepoint", "week_8"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["check", "--db", str(locked)]).exit_code == 0


def test_a_contradicted_lock_is_refused_by_report_and_named_by_check(locked, tmp_path):
    with connect(locked) as con:  # an edit after the lock, to the table the analysis input is read from
        query = "select table_name from duckdb_tables() where schema_name = 'analysis'"
        tables = {t for (t,) in con.execute(query).fetchall()}
        table = "outcomes_rows" if "outcomes_rows" in tables else "outcomes"
        con.execute(f"update analysis.{table} set aval = aval + 1 where aval is not null")
    result = runner.invoke(app, ["report", "--db", str(locked), "--timepoint", "week_8"])
    assert result.exit_code == 3
    assert "no longer matches" in result.output
    assert not list((tmp_path / "out").glob("runback_week_8_*"))
    check = runner.invoke(app, ["check", "--db", str(locked)])
    assert check.exit_code == 5 and "week_8 is locked at data cut" in check.output
