"""Bad input is a refusal (exit 3, the file named, advice given) or a night partly done (exit 6),
never runback's own fault (exit 5), and leaves nothing partial (docs/bad-inputs.md): the examples of
each class that were once reported as faults or read wrongly."""

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runback.flows import settings
from runback.flows.allocation import new_key
from runback.flows.cli import app
from runback.flows.ingest.pipeline import Options
from runback.flows.night import run
from runback.flows.simulate import simulate
from runback.flows.warehouse import connect_read_only
from tests.helpers import export_text, randomised, write_export

runner = CliRunner()


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNBACK_KEY", str(tmp_path / "keys" / "allocation.key"))
    monkeypatch.setenv("RUNBACK_MAX_AGE_HOURS", "100000000")
    monkeypatch.setenv("RUNBACK_OUT", str(tmp_path / "out"))
    (tmp_path / "inbox").mkdir()
    return tmp_path


def _ingest(db, *args):
    return runner.invoke(app, ["ingest", "--db", str(db), *map(str, args)])


def test_a_utf16_export_is_refused_as_utf16_not_binary(env, study):
    path = env / "inbox" / "RUNBACK_DATA_2014-02-01_0200.csv"
    path.write_bytes(export_text(study, [randomised("1")]).encode("utf-16"))
    result = _ingest(env / "w.duckdb", path)
    assert result.exit_code == 3 and "UTF-16" in result.output and path.name in result.output


def test_a_nul_byte_anywhere_refuses_the_file(env, study):
    text = export_text(study, [randomised(str(i)) for i in range(1, 400)])
    assert len(text) > 65536
    path = env / "inbox" / "RUNBACK_DATA_2014-02-01_0200.csv"
    path.write_bytes(text.encode()[:-10] + b"\x00" + text.encode()[-10:])
    result = _ingest(env / "w.duckdb", path)
    assert result.exit_code == 3 and "NUL byte" in result.output and "line 400" in result.output


def test_a_dictionary_named_with_a_date_that_does_not_exist_refuses_the_export(env, study):
    inbox = env / "inbox"
    write_export(inbox, "RUNBACK_DATA_2014-03-01_0200.csv", study, [randomised("1")])
    (inbox / "RUNBACK_DataDictionary_2014-02-30.csv").write_bytes(
        (settings.PROJECT_DIR / "RUNBACK_DataDictionary.csv").read_bytes()
    )
    result = _ingest(env / "w.duckdb", inbox)
    assert result.exit_code == 3, result.output
    assert "RUNBACK_DataDictionary_2014-02-30.csv" in result.output and "does not exist" in result.output


def test_one_file_refused_among_loaded_ones_is_a_night_partly_done(env, study):
    inbox = env / "inbox"
    write_export(inbox, "RUNBACK_DATA_2014-03-01_0200.csv", study, [randomised("1")])
    (inbox / "RUNBACK_DATA_2014-03-02_0200.csv").write_text("not,a,redcap,export\n1,2,3,4\n")
    assert _ingest(env / "w.duckdb", inbox).exit_code == 6


def test_an_arm_code_in_an_exports_name_does_not_stop_the_reports(env, study):
    """A file's name is free text: shown withheld in the report, not a refusal blaming runback."""
    db = env / "w.duckdb"
    write_export(env / "inbox", "RUNBACK_DATA_LS_2014-03-01_0200.csv", study, [randomised("1"), randomised("2", "2")])
    assert _ingest(db, env / "inbox" / "RUNBACK_DATA_LS_2014-03-01_0200.csv").exit_code in (0, 1)
    result = runner.invoke(app, ["report", "--db", str(db), "--timepoint", "week_8"])
    assert result.exit_code == 0, result.output
    page = Path(result.output.strip().splitlines()[-1]).read_text()
    assert "RUNBACK_DATA_LS" not in page


@pytest.mark.slow
def test_a_killed_unblinded_report_leaves_nothing_readable(tmp_path):
    """An unblinded report killed (SIGKILL) at any moment leaves no page others can read: its
    temporary file is private (0600) in the private unblinded root (0700), never in the blinded root."""
    exports, db, key = tmp_path / "exports", tmp_path / "w.duckdb", tmp_path / "keys" / "allocation.key"
    new_key(key)
    simulate(exports, participants=20, seed=3, nights=2)
    with settings.use_trial(settings.Trial("", db, exports, tmp_path / "out", key)):
        run([exports], db, settings.PROJECT_DIR, Options(key=key))
    command = [Path(sys.executable).parent / "runback", "report", "--db", str(db), "--timepoint", "week_8"]
    command += ["--unblinded", "--key", str(key), "--out", str(tmp_path / "out")]
    for delay in (0.8, 1.6, 2.4, 3.2):
        process = subprocess.Popen(command, env={**os.environ, "PREFECT_API_URL": ""}, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        for path in (p for p in (tmp_path / "out").rglob("*") if p.is_file()):  # the blinded root: no arm
            assert "Lower limb strengthening" not in path.read_text(errors="replace"), path
        private = tmp_path / "out-unblinded"
        if private.exists():
            assert stat.S_IMODE(private.stat().st_mode) == 0o700
            for path in private.iterdir():
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    with connect_read_only(db) as con:  # every unblinded page that exists was logged first
        logged = {
            name for (name,) in con.execute("select file_name from meta.report_runs where not blinded").fetchall()
        }
    assert {p.name for p in (tmp_path / "out-unblinded").glob("*.html")} <= logged
