"""The edges of runback's doors (docs/bad-inputs.md, "Edges"): the query CLI's limits, files that
are not runback's warehouse, an older warehouse, file names that try to forge logs and tables,
exports through planted symlinks, values Stata cannot hold, and a stopped command."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from runback.flows.cli import app
from runback.flows.ingest import summary
from runback.flows.ingest.pipeline import ingest_file
from runback.flows.settings import PROJECT_DIR
from tests.helpers import ROOT, randomised, write_export

runner = CliRunner()
NIGHT_1 = "RUNBACK_DATA_2014-03-01_0200.csv"


@pytest.fixture
def warehouse(tmp_path, study) -> Path:
    db = tmp_path / "w.duckdb"
    rows = [randomised("1", nprs_avg='=HYPERLINK("http://x.example")'), randomised("2", group="2")]
    rows[0]["sess_note"] = ""
    ingest_file(str(write_export(tmp_path, NIGHT_1, study, rows)), str(db), str(PROJECT_DIR))
    return db


# -- the query CLI ----------------------------------------------------------------------------------
def test_a_query_result_is_cut_at_the_row_limit_and_says_so(warehouse):
    result = runner.invoke(app, ["query", "--db", str(warehouse), "--limit", "5", "select * from range(20000000)"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.strip().splitlines()) == 1 + 5
    assert "more than 5 rows" in result.stderr
    full = runner.invoke(
        app, ["query", "--db", str(warehouse), "--limit", "0", "--format", "json", "select * from range(12)"]
    )
    assert len(json.loads(full.stdout)) == 12 and not full.stderr


def test_a_query_that_runs_too_long_is_stopped(warehouse):
    endless = "with recursive t(n) as (select 1 union all select n + 1 from t) select count(*) from t"
    started = time.monotonic()
    result = runner.invoke(app, ["query", "--db", str(warehouse), "--timeout", "1", endless])
    assert time.monotonic() - started < 20
    assert result.exit_code == 3 and "ran longer than 1 s and was stopped" in result.output


def test_query_csv_neutralises_formulas_like_export(warehouse, tmp_path):
    result = runner.invoke(
        app, ["query", "--db", str(warehouse), "--format", "csv", "select '=cmd|calc' as a, '+1' as b, 3 as n"]
    )
    assert result.stdout.splitlines()[1] == "'=cmd|calc,'+1,3"


# -- files that are not runback's warehouse, and an older one --------------------------------------------
def test_another_applications_duckdb_file_is_not_written(tmp_path, study):
    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("create table invoices (id integer)")
    result = runner.invoke(
        app, ["ingest", "--db", str(other), str(write_export(tmp_path, NIGHT_1, study, [randomised("1")]))]
    )
    assert result.exit_code == 3 and "DuckDB file of another application" in result.output
    with duckdb.connect(str(other), read_only=True) as con:
        assert con.execute("select count(*) from information_schema.tables").fetchone()[0] == 1


def test_a_file_that_is_not_duckdb_is_refused(tmp_path):
    text = tmp_path / "notes.duckdb"
    text.write_text("not a database\n" * 100)
    result = runner.invoke(app, ["status", "--db", str(text)])
    assert result.exit_code == 3 and "cannot be opened as a DuckDB warehouse" in result.output


def test_a_warehouse_made_by_an_older_runback_takes_the_next_export(warehouse, tmp_path, study):
    """An older runback recorded fewer attributes per field: what it did not record is no change."""
    with duckdb.connect(str(warehouse)) as con:
        (definition,) = con.execute("select definition from meta.dictionary_versions").fetchone()
        older = [
            {k: v for k, v in f.items() if k not in ("kind", "annotation", "branching")} for f in json.loads(definition)
        ]
        con.execute("update meta.dictionary_versions set definition = $d", {"d": json.dumps(older)})
    night = write_export(
        tmp_path,
        "RUNBACK_DATA_2014-03-02_0200.csv",
        study,
        [randomised("1"), randomised("2", group="2"), randomised("3")],
    )
    result = ingest_file(str(night), str(warehouse), str(PROJECT_DIR))
    assert result.status == "loaded", result.message


# -- names that forge logs and tables; exports through symlinks; values Stata cannot hold ----------------
def test_a_file_name_cannot_forge_a_log_line_or_a_table_column(warehouse, tmp_path, study, caplog):
    name = "RUNBACK_DATA_2014-03-02_0200 | loaded\n03:00 INFO all good.csv"
    path = write_export(tmp_path, name, study, [randomised("1"), randomised("2", group="2"), randomised("4")])
    result = ingest_file(str(path), str(warehouse), str(PROJECT_DIR))
    assert "\n" not in result.file and "\\n" in result.file
    assert not any("\n03:00 INFO" in r.getMessage() for r in caplog.records)
    markdown = summary.run_markdown([result], result.data_cut, __import__("pandas").DataFrame())
    row = next(line for line in markdown.splitlines() if "RUNBACK_DATA_2014-03-02" in line)
    assert row.count(" | ") == 6  # seven columns, the file name's bar escaped


def test_export_never_writes_through_a_planted_symlink(tmp_path, study):
    """A folder holding anything (here a symlink named like a table) is refused whole; a new folder
    is written beside and renamed into place, so no write ever follows a link."""
    from tests.helpers import build_warehouse

    db = build_warehouse(tmp_path, study, [[randomised(str(i), group=str(i % 3 + 1)) for i in range(1, 10)]])
    out = tmp_path / "export"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / "participants.csv").symlink_to(victim)
    result = runner.invoke(app, ["export", "--db", str(db), "--to", str(out)])
    assert result.exit_code == 3 and "not a new or empty folder" in result.output
    assert victim.read_text() == "keep me" and (out / "participants.csv").is_symlink()
    fresh = runner.invoke(app, ["export", "--db", str(db), "--to", str(tmp_path / "fresh")])
    assert fresh.exit_code == 0 and "record_id" in (tmp_path / "fresh" / "participants.csv").read_text()


def test_stata_keeps_what_follows_a_nul_byte():
    import pandas as pd

    from runback.flows.query.export import stata_ready

    frame, _ = stata_ready(pd.DataFrame({"note": ["5\x00=cmd", None]}))
    assert frame["note"].tolist() == ["5\\0=cmd", ""]


# -- a stopped command ------------------------------------------------------------------------------
def _children(pid: int) -> set[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return {int(p) for p in found}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and re.search(r"State:\s+Z", status.read_text()))


@pytest.mark.slow
@pytest.mark.parametrize(
    "stage",
    [
        "read with the data dictionary",  # logged as the export starts to be read: inside the ingest
        "flagged; data cut 1",  # logged as the export's cut is committed: inside the analysis
    ],
)
def test_sigterm_ends_the_command_and_leaves_nothing_behind(tmp_path, study, stage):
    """A one-off command starts no temporary Prefect server (it runs its steps in-process), and
    SIGTERM ends it as an exception would, wherever it is (even inside a DuckDB scan of a pandas
    frame, which reports the exit as its own error): exit 143, no process left, the warehouse sound.
    The signal is sent when the command's log says it has reached the stage, not after a guessed
    time (a faster machine would otherwise signal a command that is already shutting down)."""
    from runback.flows.simulate import simulate

    sim = simulate(tmp_path / "exports", participants=300, seed=2, nights=2)
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    db = tmp_path / "w.duckdb"
    command = [Path(sys.executable).parent / "runback", "ingest", "--db", str(db), str(sim.files[-1])]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    said = []
    while not said or stage not in said[-1]:
        said.append(process.stderr.readline())
        assert said[-1], f"the command ended before it said {stage!r}: {''.join(said)}"
    children = _children(process.pid)
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 143, "".join(said) + process.stderr.read()
    deadline = time.monotonic() + 10
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [c for c in children if _alive(c)], "a process of the command outlived it"
    if db.exists():
        check = subprocess.run(
            [Path(sys.executable).parent / "runback", "check", "--db", str(db)], env=env, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr


def test_the_catalogue_lists_every_edge_case():
    section = (ROOT / "docs" / "bad-inputs.md").read_text().split("## Edges", 1)[1]
    for name in re.findall(r"^def (test_\w+)", Path(__file__).read_text(), flags=re.M):
        if name != "test_the_catalogue_lists_every_edge_case":
            assert f"`{name}`" in section, name
