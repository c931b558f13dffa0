"""The command line, through typer's test runner: what a user types and sees."""

import json

import pytest
from typer.testing import CliRunner

from runback.flows.cli import app
from runback.flows.ingest.pipeline import ingest_file
from runback.flows.settings import PROJECT_DIR
from tests.helpers import randomised, write_export

runner = CliRunner()


@pytest.fixture
def warehouse(tmp_path, study):
    db = tmp_path / "w.duckdb"
    path = write_export(
        tmp_path, "RUNBACK_DATA_2014-02-01_0200.csv", study, [randomised("1"), randomised("2", nprs_run="x")]
    )
    ingest_file(path, db, PROJECT_DIR)
    return db


def test_help_lists_every_command():
    result = runner.invoke(app, ["--help"])
    for command in ("simulate", "ingest", "query", "status", "demo"):
        assert command in result.output


def test_query_formats(warehouse):
    result = runner.invoke(
        app,
        ["query", "--db", str(warehouse), "--format", "json", "select record_id, nprs_run from clean.nprs order by 1"],
    )
    assert result.exit_code == 0
    assert json.loads(result.output) == [{"record_id": "1", "nprs_run": 6}]
    result = runner.invoke(app, ["query", "--db", str(warehouse), "--format", "csv", "select 1 as a"])
    assert result.output == "a\n1\n"


@pytest.mark.parametrize(
    "statement",
    [
        "create table clean.x (a int)",
        "delete from clean.nprs",
        "attach 'other.duckdb' as o",
        "copy clean.nprs to '/tmp/x.csv'",
        "select * from read_csv('/etc/passwd')",
        "install httpfs",
        "set enable_external_access = true",
    ],
)
def test_query_is_read_only_without_file_access(warehouse, statement):
    result = runner.invoke(app, ["query", "--db", str(warehouse), statement])
    assert result.exit_code == 3
    assert "the query failed" in result.output


def test_status_shows_cuts_files_and_quarantine(warehouse):
    result = runner.invoke(app, ["status", "--db", str(warehouse)])
    assert result.exit_code == 0
    assert "RUNBACK_DATA_2014-02-01_0200.csv" in result.output
    assert "redcap_type" in result.output  # the quarantined nprs row, by check


def test_status_without_a_warehouse_says_what_to_do(tmp_path):
    result = runner.invoke(app, ["status", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 3 and "runback ingest" in result.output


def test_ingest_exit_codes_through_the_flow(tmp_path, study, prefect_harness):
    good = write_export(tmp_path, "RUNBACK_DATA_2014-02-01_0200.csv", study, [randomised("1")])
    result = runner.invoke(app, ["ingest", "--db", str(tmp_path / "w.duckdb"), str(good)])
    assert result.exit_code == 0, result.output
    queried = write_export(tmp_path, "RUNBACK_DATA_2014-02-02_0200.csv", study, [randomised("1", nprs_run="11")])
    assert runner.invoke(app, ["ingest", "--db", str(tmp_path / "w.duckdb"), str(queried)]).exit_code == 1
    labels = tmp_path / "RUNBACK_DATA_2014-02-03_0200.csv"
    labels.write_text("Record ID,Event Name\n1,Baseline\n")
    assert runner.invoke(app, ["ingest", "--db", str(tmp_path / "w.duckdb"), str(labels)]).exit_code == 3


def test_simulate_writes_the_nights(tmp_path):
    result = runner.invoke(app, ["simulate", "--out", str(tmp_path), "--participants", "12", "--nights", "3"])
    assert result.exit_code == 0, result.output
    assert len(list(tmp_path.glob("RUNBACK_DATA_*.csv"))) == 3


def test_report_through_the_flow_and_its_log(tmp_path, study, prefect_harness):
    from tests.helpers import build_warehouse

    rows = [randomised(str(i), group=str(i % 3 + 1)) for i in range(1, 13)]
    db = build_warehouse(tmp_path, study, [rows])
    key = tmp_path / "allocation.key"
    args = ["report", "--db", str(db), "--timepoint", "week_8", "--key", str(key), "--out", str(tmp_path / "out")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "made a new one" not in result.output or key.exists()
    report = tmp_path / "out" / "runback_week_8_cut1_closed.html"
    assert report.exists() and result.output.strip().endswith(str(report))
    assert runner.invoke(app, ["report", "--db", str(db), "--timepoint", "week_8", "--unblinded"]).exit_code == 3
    assert runner.invoke(app, [*args, "--data-cut", "7"]).exit_code == 3
    assert runner.invoke(app, [*args, "--audience", "open", "--unblinded"]).exit_code == 3  # pooled: no key
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select timepoint, data_cut, blinded from meta.report_runs").fetchall() == [
            ("week_8", 1, True)
        ]


def test_key_new_never_overwrites(tmp_path):
    key = tmp_path / "allocation.key"
    assert runner.invoke(app, ["key", "new", "--out", str(key)]).exit_code == 0
    before = key.read_text()
    assert runner.invoke(app, ["key", "new", "--out", str(key)]).exit_code == 3
    assert key.read_text() == before


def test_version():
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"runback {version('runback')}"


def _user_error(result, *words: str) -> None:
    """One problem line and one advice line on stderr, no traceback, the 'refused' exit code."""
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    for word in words:
        assert word in result.output


def test_a_project_folder_without_a_dictionary_is_refused_before_the_flow(tmp_path):
    export = tmp_path / "RUNBACK_DATA_2014-02-01_0200.csv"
    export.write_text("record_id\n1\n")
    (tmp_path / "project").mkdir()
    result = runner.invoke(
        app, ["ingest", "--db", str(tmp_path / "w.duckdb"), "--project", str(tmp_path / "project"), str(export)]
    )
    _user_error(result, "no data dictionary found")
    assert not (tmp_path / "w.duckdb").exists()


BAD_SETTINGS = [
    ("RUNBACK_LOCK_TIMEOUT", "soon"),
    ("RUNBACK_LOCK_TIMEOUT", "-1"),
    ("RUNBACK_MAX_AGE_HOURS", "1.5d"),
    ("RUNBACK_TIMEZONE", "Mars/Olympus"),
]


@pytest.mark.parametrize("variable, value", BAD_SETTINGS)
def test_a_bad_setting_names_its_variable(warehouse, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    _user_error(runner.invoke(app, ["status", "--db", str(warehouse)]), variable, value)


def test_a_busy_warehouse_exits_with_its_own_code(warehouse, monkeypatch):
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(30)",
            str(warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setenv("RUNBACK_LOCK_TIMEOUT", "0.3")
        result = runner.invoke(app, ["query", "--db", str(warehouse), "select 1"])
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 4, result.output
    assert f"in use by process {holder.pid}" in result.output and "Traceback" not in result.output


def test_unknown_cut_is_one_line_not_a_traceback(warehouse):
    result = runner.invoke(app, ["export", "--db", str(warehouse), "--to", "out", "--data-cut", "99"])
    _user_error(result, "runback:")


def test_ingest_prints_tonights_files_and_why_one_was_refused(tmp_path, study, monkeypatch):
    monkeypatch.setenv("RUNBACK_OUT", str(tmp_path / "out"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_export(inbox, "RUNBACK_DATA_2014-02-01_0200.csv", study, [randomised("1"), randomised("2", nprs_run="x")])
    (inbox / "RUNBACK_DATA_2014-02-02_0200.csv").write_text("Record ID,Event Name\n1,Baseline\n")
    args = ["ingest", "--db", str(tmp_path / "w.duckdb"), str(inbox)]
    first = runner.invoke(app, args)
    assert first.exit_code == 6, first.output  # a night partly done: one loaded, one refused
    lines = first.stdout.splitlines()
    assert lines[0].split() == ["file", "status", "rows", "quarantined", "flagged", "cut"]
    assert lines[1].split()[:3] == ["RUNBACK_DATA_2014-02-01_0200.csv", "loaded", "2"]
    assert lines[2].split()[:2] == ["RUNBACK_DATA_2014-02-02_0200.csv", "refused"]
    assert "refused: this is a labels export" in first.stdout  # why, to act on
    assert str(tmp_path / "out" / "queries" / "data_queries_cut1.csv") in first.stdout

    write_export(inbox, "RUNBACK_DATA_2014-02-03_0200.csv", study, [randomised("1"), randomised("2")])
    second = runner.invoke(app, args)  # the refused file is still in the inbox: tonight is well
    assert second.exit_code == 0, second.output
    assert "RUNBACK_DATA_2014-02-03_0200.csv" in second.stdout and "RUNBACK_DATA_2014-02-02" not in second.stdout
    assert "2 file(s) seen before (on an earlier night, or as another file of this run)" in second.stdout


@pytest.mark.slow  # two whole `runback ingest` processes, one on a pseudo-terminal: about 10 s
def test_progress_is_shown_on_a_terminal_and_nowhere_else(tmp_path, study):
    import os
    import pty
    import subprocess
    import sys
    from pathlib import Path

    export = write_export(tmp_path, "RUNBACK_DATA_2014-02-01_0200.csv", study, [randomised("1"), randomised("2")])
    command = [Path(sys.executable).parent / "runback", "ingest", "--db", str(tmp_path / "w.duckdb"), str(export)]
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"} | {
        "COLUMNS": "100",
        "RUNBACK_OUT": str(tmp_path / "out"),
    }
    leader, follower = pty.openpty()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=follower, env=env) as process:
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            seen += chunk
        stdout = process.stdout.read().decode()
    os.close(leader)
    terminal = seen.decode(errors="replace")
    assert "export files" in terminal and "validating forms" in terminal and "data cut 1: models" in terminal
    assert "loaded" in stdout and "\x1b[" not in stdout  # the summary stays plain on stdout

    piped = subprocess.run(
        [*command[:3], str(tmp_path / "again.duckdb"), str(export)], capture_output=True, text=True, env=env
    )
    assert "loaded" in piped.stdout
    assert "export files" not in piped.stderr and "\x1b[" not in piped.stderr + piped.stdout


@pytest.mark.slow
def test_the_demo_renders_open_and_closed_reports_at_both_timepoints(tmp_path, monkeypatch):
    import re

    from tests.helpers import ARM_LETTER, page_text

    monkeypatch.setenv("RUNBACK_OUT", str(tmp_path / "out"))
    result = runner.invoke(app, ["demo", "--folder", str(tmp_path / "demo"), "--participants", "30"])
    assert result.exit_code == 0, result.output
    pages = sorted((tmp_path / "out" / "demo").glob("runback_*.html"))
    assert [re.sub(r"_cut\d+", "", p.name) for p in pages] == [
        "runback_month_6_closed.html",
        "runback_month_6_open.html",
        "runback_week_8_closed.html",
        "runback_week_8_open.html",
    ]
    assert "locked week_8 at data cut" in result.output  # every participant has reached it at the last cut
    for page in pages:
        html = page.read_text()
        assert 'id="protocol-deviations"' in html and 'id="serious-adverse-events"' in html, page.name
        locked = f"locked {page.name.split('_cut')[0].removeprefix('runback_')} at data cut" in result.output
        assert re.findall(r'data-look="(\w+)"', html) == ["final" if locked else "unplanned"], page.name
        if page.name.endswith("_open.html"):
            assert not ARM_LETTER.search(page_text(html)) and "sae-listing" not in html, page.name
        else:
            assert "Arm A" in html and "sae-listing" in html and "deviation-listing" in html, page.name
    assert (tmp_path / "out" / "demo" / "index.html").read_text().count("<tr><td>") == 4


def test_a_configured_prefect_server_that_does_not_answer_is_one_line_not_a_fault(warehouse, tmp_path):
    import os
    import socket
    import subprocess
    import sys
    from pathlib import Path

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {"PREFECT_API_URL": f"http://127.0.0.1:{port}/api"}
    command = [
        Path(sys.executable).parent / "runback",
        "report",
        "--db",
        str(warehouse),
        "--timepoint",
        "week_8",
        "--out",
        str(tmp_path / "out"),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    assert f"the Prefect server at http://127.0.0.1:{port}/api does not answer" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
