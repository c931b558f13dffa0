"""What a data manager sees of a nightly run: Prefect artifacts, freshness warnings."""

import datetime as dt
import os
from pathlib import Path

import duckdb
import pandas as pd
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from typer.testing import CliRunner

from runback.flows.cli import app
from runback.flows.ingest import summary as artifacts
from runback.flows.ingest.pipeline import ingest_file
from runback.flows.nightly_ingest import nightly_ingest
from runback.flows.query import freshness
from runback.flows.settings import PROJECT_DIR
from tests.helpers import randomised, write_export


def _latest_artifact(key):
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])), limit=1, sort="CREATED_DESC"
        )
    return found[0]


def test_a_nightly_run_publishes_its_summary(tmp_path, study, prefect_harness, monkeypatch):
    monkeypatch.setenv("RUNBACK_OUT", str(tmp_path / "out"))
    rows = [randomised(str(i), group=str(i % 3 + 1)) for i in range(1, 10)]
    rows[0]["nprs_run"] = "14"
    path = write_export(tmp_path, "RUNBACK_DATA_2014-02-01_0200.csv", study, rows)
    nightly_ingest(paths=[str(path)], db=str(tmp_path / "w.duckdb"))
    summary = _latest_artifact("nightly-ingest-summary")
    assert "RUNBACK_DATA_2014-02-01_0200.csv" in summary.data and "**New data cut:** 1" in summary.data
    assert "| nprs | 9 | 8 | 1 | 0 |" in summary.data
    assert "### New" in summary.data and "redcap_range" in summary.data
    assert "| 1 | baseline_arm_1 | 1 | nprs | nprs_run | 14 | redcap_range |" in summary.data  # a query to act on
    table = _latest_artifact("data-queries-cut-1")  # each analysed cut's own table of its new queries
    rows = __import__("json").loads(table.data)
    assert [(r["record_id"], r["form"], r["column"], r["value"], r["check"]) for r in rows] == [
        ("1", "nprs", "nprs_run", "14", "redcap_range")
    ]
    assert "outside the allowed range" in rows[0]["reason"]
    listing = (tmp_path / "out" / "queries" / "data_queries_cut1.csv").read_text()
    assert listing.splitlines()[0].startswith("status,record_id,event,instance,form,field,value,check,reason")
    assert "new,1,baseline_arm_1,1,nprs,nprs_run,14,redcap_range" in listing
    # the file named again: nothing new, the summary says so (a file named is no overdue night)
    again = nightly_ingest(paths=[str(path)], db=str(tmp_path / "w.duckdb"), return_state=True)
    assert again.is_completed() and again.result().results[0].repeat
    assert "No new export." in _latest_artifact("nightly-ingest-summary").data


def test_markdown_of_a_run_without_new_exports():
    text = artifacts.run_markdown([], None, pd.DataFrame())
    assert "No new data cut" in text and "No new export." in text


def test_freshness_warns_when_the_newest_export_is_old(tmp_path, study):
    path = write_export(tmp_path, "RUNBACK_DATA_2014-02-01_0200.csv", study, [randomised("1")])
    db = tmp_path / "w.duckdb"
    ingest_file(path, db, PROJECT_DIR)
    with duckdb.connect(str(db), read_only=True) as con:
        assert freshness.stale(con, dt.datetime(2014, 2, 2, 8, 0), 36) is None
        warning = freshness.stale(con, dt.datetime(2014, 2, 3, 15, 0), 36)
    assert "61 h old, more than 36 h" in warning
    result = CliRunner().invoke(app, ["status", "--db", str(db)])
    assert "newest export: RUNBACK_DATA_2014-02-01_0200.csv" in result.output and "WARNING" in result.output


def _last_run():
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=1)[0]


def _last_run_state():
    return _last_run().state


def test_a_refused_export_turns_the_nightly_run_red_and_the_exit_code_non_zero(tmp_path, study, prefect_harness):
    good = write_export(tmp_path, "RUNBACK_DATA_2014-02-01_0200.csv", study, [randomised("1")])
    night = nightly_ingest(paths=[str(good)], db=str(tmp_path / "w.duckdb"))
    assert night.results[0].status == "loaded" and _last_run_state().is_completed()
    labels = tmp_path / "RUNBACK_DATA_2014-02-02_0200.csv"
    labels.write_text("Record ID,Event Name\n1,Baseline\n")
    state = nightly_ingest(paths=[str(labels)], db=str(tmp_path / "w.duckdb"), return_state=True)
    results = state.result(raise_on_failure=False).night.results
    run = _last_run()
    assert run.id == state.state_details.flow_run_id
    assert results[0].status == "refused" and run.state.is_failed() and "1 export(s) refused" in run.state.message
    assert run.name.startswith("nightly 20")  # named after its night, not a random name
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
    assert "ingest RUNBACK_DATA_2014-02-02_0200.csv" in {t.name for t in tasks}
    result = CliRunner().invoke(app, ["ingest", "--db", str(tmp_path / "w.duckdb"), str(labels)])
    assert result.exit_code == 3


def test_a_night_without_a_new_export_when_one_is_due_is_not_green(tmp_path, study, prefect_harness, caplog):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    db = tmp_path / "w.duckdb"
    nightly_ingest(
        paths=[str(write_export(tmp_path, "RUNBACK_DATA_2014-02-01_0200.csv", study, [randomised("1")]))],
        db=str(db),
    )
    state = nightly_ingest(paths=[str(inbox)], db=str(db), return_state=True)  # an empty inbox, an overdue export
    assert state.result(raise_on_failure=False).night.results == [] and "no export in" in caplog.text
    assert _last_run_state().is_failed() and "is the nightly export job running?" in state.message


def test_serve_publishes_nothing_the_warehouse_did_not_record(tmp_path, monkeypatch):
    """The reports' web server of `runback serve` answers only for files the warehouse recorded
    (tests/integration/test_published.py has the recorded ones): files put in the folder by hand,
    whatever their names, are not published, and it is read-only."""
    import httpx

    from runback.flows.deployments import publish_reports

    monkeypatch.setenv("RUNBACK_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("RUNBACK_DB", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("RUNBACK_REPORTS_ADDRESS", "127.0.0.1:0")
    monkeypatch.setenv("RUNBACK_REPORTS_URL", "")  # unset, and restored after the test
    (tmp_path / "out" / "queries").mkdir(parents=True)
    (tmp_path / "out" / "runback_week_8_cut1.html").write_text("<html>report</html>")
    (tmp_path / "out" / "index.html").write_text("<html>index</html>")
    (tmp_path / "out" / "runback_week_8_cut1_closed_unblinded.html").write_text("<html>LL LE LS</html>")
    (tmp_path / "out" / "queries" / "data_queries_cut1.csv").write_text("record_id\n7\n")
    url = publish_reports()
    assert url.startswith("http://127.0.0.1:") and os.environ["RUNBACK_REPORTS_URL"] == url
    assert httpx.post(f"{url}/runback_week_8_cut1.html", content=b"x").status_code == 405
    for hidden in (
        "",
        "runback_week_8_cut1.html",
        "runback_week_8_cut1_closed_unblinded.html",
        "queries/",
        "queries/data_queries_cut1.csv",
        "queries",
        "../../etc/passwd",
        "runback_week_8_cut1_closed_unblinded.html%00.html",
    ):
        assert httpx.get(f"{url}/{hidden}").status_code == 404, hidden


def test_the_report_link_points_to_the_published_folder(tmp_path, study, prefect_harness, monkeypatch):
    from runback.flows.followup_report import followup_report
    from tests.helpers import build_warehouse

    monkeypatch.setenv("RUNBACK_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("RUNBACK_REPORTS_URL", "https://reports.example/trial/")
    db = build_warehouse(tmp_path, study, [[randomised(str(i), group=str(i % 3 + 1)) for i in range(1, 10)]])
    path = followup_report(timepoint="week_8", db=str(db))
    name = Path(path).name
    assert _latest_artifact("followup-report").data == f"[{name}](https://reports.example/trial/{name})"
