"""Overrides have bounds, and a file's status is what the warehouse recorded (docs/bad-inputs.md):
an export time named on the command line may not lie in the future nor contradict the file's name;
--accept-deletions accepts only for a file named; a refused file renamed as its refusal advises is
read again; a held file is a status `runback check` knows."""

import pytest
from typer.testing import CliRunner

from runback.flows.cli import app
from runback.flows.warehouse import connect_read_only
from tests.helpers import randomised, write_export

runner = CliRunner()


@pytest.fixture
def inbox(tmp_path, study, monkeypatch):
    monkeypatch.setenv("RUNBACK_KEY", str(tmp_path / "keys" / "allocation.key"))
    monkeypatch.setenv("RUNBACK_MAX_AGE_HOURS", "100000000")
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def _ingest(db, *args):
    return runner.invoke(app, ["ingest", "--db", str(db), *map(str, args)])


def _statuses(db):
    with connect_read_only(db) as con:
        return dict(con.execute("select file_name, status from meta.source_files").fetchall())


def test_an_export_time_in_the_future_is_refused(inbox, study, tmp_path):
    export = write_export(inbox, "export.csv", study, [randomised("1")])
    result = _ingest(tmp_path / "w.duckdb", "--export-time", "2099-01-01 02:00", export)
    assert result.exit_code == 3, result.output
    assert "later than now" in result.output
    assert _statuses(tmp_path / "w.duckdb") == {"export.csv": "refused"}


def test_an_export_time_that_contradicts_the_files_name_is_refused(inbox, study, tmp_path):
    export = write_export(inbox, "RUNBACK_DATA_2014-02-01_0200.csv", study, [randomised("1")])
    result = _ingest(tmp_path / "w.duckdb", "--export-time", "2014-03-01 02:00", export)
    assert result.exit_code == 3 and "contradicts the time in its name" in result.output
    ok = _ingest(tmp_path / "w.duckdb", "--export-time", "2014-02-01 02:00", export)  # the same time: fine
    assert ok.exit_code in (0, 1), ok.output


def test_accept_deletions_needs_a_file_named(inbox, study, tmp_path):
    write_export(inbox, "RUNBACK_DATA_2014-02-01_0200.csv", study, [randomised("1")])
    result = _ingest(tmp_path / "w.duckdb", "--accept-deletions", inbox)
    assert result.exit_code == 3 and "none is named" in result.output
    assert not (tmp_path / "w.duckdb").exists()


def test_a_refused_file_renamed_as_advised_is_read_again(inbox, study, tmp_path):
    db = tmp_path / "w.duckdb"
    future = write_export(inbox, "RUNBACK_DATA_2099-02-01_0200.csv", study, [randomised("1")])
    assert _ingest(db, inbox).exit_code == 3
    future.rename(inbox / "RUNBACK_DATA_2014-02-01_0200.csv")
    result = _ingest(db, inbox)
    assert result.exit_code in (0, 1), result.output
    assert _statuses(db)["RUNBACK_DATA_2014-02-01_0200.csv"] == "loaded"


def test_check_knows_a_held_file(inbox, study, tmp_path):
    db = tmp_path / "w.duckdb"
    write_export(inbox, "RUNBACK_DATA_2014-02-01_0200.csv", study, [randomised("1")])
    assert _ingest(db, inbox).exit_code in (0, 1)
    write_export(inbox, "undated.csv", study, [randomised("1"), randomised("2")])
    assert _ingest(db, inbox / "undated.csv").exit_code == 3  # no time in its name: held
    assert "held" in _statuses(db).values()
    result = runner.invoke(app, ["check", "--db", str(db)])
    assert "unknown status" not in result.output
