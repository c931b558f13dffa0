"""The deployments on a real Prefect server (`prefect server start` on 127.0.0.1, a temporary
PREFECT_HOME): `runback serve` with an interval schedule, the ad-hoc report run through the
Prefect CLI and its link opened from the Prefect UI in Chromium, two nightly runs at once that
must not overlap, and a schedule that outlives serve."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from runback.flows.simulate import simulate
from tests.helpers import chromium
from tests.helpers import free_port as _free_port
from tests.helpers import wait_for as _wait

pytestmark = [pytest.mark.server, pytest.mark.slow]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(root / "prefect-home"),
        "PREFECT_API_URL": url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "true",  # the report link is clicked in the UI
        "RUNBACK_DB": str(root / "runback.duckdb"),
        "RUNBACK_INBOX": str(root / "inbox"),
        "RUNBACK_SETTLE_SECONDS": "0",  # the simulated exports are complete when written
        "RUNBACK_MAX_AGE_HOURS": "1000000",  # simulated exports are years old: no night is overdue here
        "RUNBACK_REPORTS_ADDRESS": "127.0.0.1:0",  # any free port for the reports' web server
        "RUNBACK_OUT": str(root / "out"),
        "RUNBACK_KEY": str(root / "keys" / "allocation.key"),
    }
    log = open(root / "server.log", "w")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(
        [BIN / "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def healthy():
        try:
            return httpx.get(f"{url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _wait(healthy, 120, "the Prefect server")
        yield root, env, url
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def _client(url):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: url}):
        return get_client(sync_client=True)


def _runs(url, deployment_name):
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    flow_name, name = deployment_name.split("/")
    with _client(url) as client:
        runs = client.read_flow_runs(deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[name])))
    return [r for r in runs if r.state is not None]


def _open_report_from_the_ui(ui: str, run_id, name: str) -> None:
    """The flow run's page, its Artifacts tab, the report's link artifact, then the link: the
    report itself opens (in a new tab), served by `runback serve`."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with chromium(1280, 2400) as driver:  # tall: the task runs' artifacts are listed below the flow run's

        def found(what, timeout=60):
            return WebDriverWait(driver, timeout).until(lambda d: what(d) or None)

        driver.get(f"{ui}/runs/flow-run/{run_id}")
        found(lambda d: d.find_elements(By.CSS_SELECTOR, "li.p-tab#artifacts"))[0].click()
        found(
            lambda d: [
                a
                for a in d.find_elements(By.CSS_SELECTOR, "a[href*='/artifacts/artifact/']")
                if "followup-report" in a.text.splitlines()
            ]
        )[0].click()
        link = found(lambda d: d.find_elements(By.LINK_TEXT, name))[0]
        assert link.get_attribute("href").startswith("http://127.0.0.1:"), link.get_attribute("href")
        link.click()
        found(lambda d: len(d.window_handles) > 1, 20)
        driver.switch_to.window(driver.window_handles[-1])
        found(lambda d: "Arm A" in d.find_element(By.TAG_NAME, "body").text, 20)
        assert driver.current_url.endswith(f"/{name}")


def _a_refused_export_ends_the_night_failed_naming_it(root: Path, url: str) -> None:
    """A labels export dropped in the inbox: the served nightly run ends Failed (not Crashed) with
    the refusal as its state message, and each traceback in the run's logs, read through the API,
    ends in runback's refusal naming the file, never in a fault of runback's code."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    name = "RUNBACK_DATA_2020-01-01_0200.csv"  # newer than the simulated nights: refused, not older
    (root / "dropped").mkdir()  # not the inbox: the scheduled runs never see it
    (root / "dropped" / name).write_text("Record ID,Event Name\n1,Baseline\n")
    with _client(url) as client:
        deployment = client.read_deployment_by_name("nightly-ingest/nightly")
        run = client.create_flow_run_from_deployment(deployment.id, parameters={"paths": [str(root / "dropped")]})
    ended = _wait(
        lambda: [r for r in _runs(url, "nightly-ingest/nightly") if r.id == run.id and r.state.is_final()],
        300,
        "the nightly run with a refused export",
    )[0]
    assert ended.state.is_failed(), ended.state
    assert name in ended.state.message and "NightNotWell" in ended.state.message, ended.state.message

    def tracebacks():
        with _client(url) as client:
            logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
        found = [log.message for log in logs if "Traceback (most recent call last)" in log.message]
        return found if len(found) >= 2 else None  # the file's task and the flow

    for text in _wait(tracebacks, 60, "the red night's tracebacks in its logs"):
        last = text.strip().splitlines()[-1]
        assert last.startswith(("runback.flows.night.FileNotApplied: ", "runback.flows.night.NightNotWell: ")), text
        assert name in last, text


def test_served_deployments_run_on_schedule_and_on_demand(server):
    root, env, url = server
    simulate(root / "inbox", participants=30, seed=2, nights=3)
    serve_log = (root / "serve.log").open("w")
    # an interval longer than a run takes on a loaded machine: scheduled runs must not queue up
    # faster than they finish, or the ad-hoc run waits behind them for ever
    serve = subprocess.Popen(
        [BIN / "runback", "serve", "--interval", "45"], env=env, stdout=serve_log, stderr=subprocess.STDOUT
    )
    try:
        # the schedule fires: a nightly run completes on its own
        _wait(
            lambda: [r for r in _runs(url, "nightly-ingest/nightly") if r.state.is_completed()],
            240,
            "a scheduled nightly run",
        )
        assert (root / "runback.duckdb").exists()

        # the ad-hoc report, through the Prefect CLI, with parameters
        # named at creation (as the README says): the name printed is the run's name, to the end
        command = [BIN / "prefect", "deployment", "run", "followup-report/adhoc", "--param", "timepoint=week_8"]
        named = "report week_8 for the DMC meeting"
        result = subprocess.run(
            [*command, "--flow-run-name", named], env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"Created flow run '{named}'" in result.stdout, result.stdout
        done = _wait(
            lambda: [r for r in _runs(url, "followup-report/adhoc") if r.state.is_completed()],
            240,
            "the ad-hoc report run",
        )
        assert [r.name for r in done] == [named]
        assert done[0].state.message.startswith("wrote runback_week_8_cut"), done[0].state.message
        reports = list((root / "out").glob("runback_week_8_cut*.html"))
        assert reports and "Arm A" in reports[0].read_text()
        report_run = next(r for r in _runs(url, "followup-report/adhoc") if r.state.is_completed())
        _open_report_from_the_ui(url.removesuffix("/api"), report_run.id, reports[0].name)

        # two nightly runs at once: they queue and never overlap
        with _client(url) as client:
            deployment = client.read_deployment_by_name("nightly-ingest/nightly")
            for _ in range(2):
                client.create_flow_run_from_deployment(deployment.id)
        _wait(
            lambda: len([r for r in _runs(url, "nightly-ingest/nightly") if r.state.is_completed()]) >= 3,
            300,
            "the two extra nightly runs",
        )
        finished = sorted(
            (r for r in _runs(url, "nightly-ingest/nightly") if r.state.is_completed()), key=lambda r: r.start_time
        )
        assert not [r for r in _runs(url, "nightly-ingest/nightly") if r.state.is_failed() or r.state.is_crashed()]
        for earlier, later in zip(finished, finished[1:]):
            assert earlier.end_time <= later.start_time, "two runs that write the warehouse overlapped"

        # a refused export: the night ends Failed with the reason, every traceback ends in the refusal
        _a_refused_export_ends_the_night_failed_naming_it(root, url)
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(60)
        serve_log.close()
    with _client(url) as client:  # stopping serve leaves the schedule active
        deployment = client.read_deployment_by_name("nightly-ingest/nightly")
        assert not deployment.paused
    import duckdb

    with duckdb.connect(str(root / "runback.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from meta.data_cuts").fetchone()[0] == 3
        files = con.execute("select status, count(*) from meta.source_files group by all order by all").fetchall()
        assert files == [("loaded", 3), ("refused", 1)]  # each night once, and the refused export


def test_a_refused_export_ends_the_night_failed_with_tracebacks_that_end_in_the_refusal(server, tmp_path):
    """A night with a refused export, run by the CLI on the server: the run ends Failed with the
    reason as its state message, the refused file's task is Failed, and every traceback that
    Prefect logged for the run (read back through the API) ends in runback's refusal naming the
    file, never in a fault of runback's code."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    _, env, url = server
    inbox = tmp_path / "inbox"
    simulate(inbox, participants=12, seed=3, nights=1)
    broken = inbox / "RUNBACK_DATA_2014-01-01_0200.csv"
    broken.write_text("not,a,redcap,export\n1,2,3,4\n")
    db = tmp_path / "night.duckdb"
    run = subprocess.run(
        [BIN / "runback", "ingest", "--db", str(db), str(inbox)],
        env=env | {"RUNBACK_KEY": str(tmp_path / "keys" / "allocation.key")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 6, run.stdout + run.stderr  # a night partly done: one loaded, one refused
    assert broken.name in run.stdout and "refused" in run.stdout

    with _client(url) as client:
        flow_runs = [r for r in client.read_flow_runs() if r.parameters.get("db") == str(db)]
        assert len(flow_runs) == 1
        flow_run = flow_runs[0]
        assert flow_run.state.is_failed(), flow_run.state
        assert broken.name in flow_run.state.message and "refused" in flow_run.state.message
        tasks = {t.name: t for t in client.read_task_runs() if t.flow_run_id == flow_run.id}
        assert tasks[f"ingest {broken.name}"].state.is_failed()
        assert [t for name, t in tasks.items() if name.startswith("ingest RUNBACK_DATA_2") and t.state.is_completed()]
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run.id])))
    tracebacks = [log.message for log in logs if "Traceback (most recent call last)" in log.message]
    assert tracebacks, "Prefect logs a traceback for a failed run"
    for text in tracebacks:
        last = [line for line in text.splitlines() if line.strip()][-1]
        assert last.startswith("runback.flows."), last  # runback's own refusal, not a fault of its code
        assert broken.name in last and ("NightNotWell" in last or "FileNotApplied" in last), last


def test_a_file_dropped_during_the_settle_time_waits_for_the_next_run(server, tmp_path):
    """The usual ad-hoc action: an export dropped in the inbox and a run started at once. The file
    is younger than the settle time: the run on the server is not red (no "no export" failure), its
    file task says `waiting`, and the next run, once the file has settled, loads it."""
    import duckdb

    _, env, url = server
    simulate(tmp_path / "exports", participants=12, seed=4, nights=1)
    (export,) = (tmp_path / "exports").glob("RUNBACK_DATA_*.csv")
    inbox, db = tmp_path / "inbox", tmp_path / "settle.duckdb"
    inbox.mkdir()
    night = env | {
        "RUNBACK_INBOX": str(inbox),
        "RUNBACK_DB": str(db),
        "RUNBACK_SETTLE_SECONDS": "600",
        "RUNBACK_MAX_AGE_HOURS": "36",  # the freshness check as in production: a first night has no export yet
        "RUNBACK_KEY": str(tmp_path / "keys" / "allocation.key"),
    }

    def ingest():
        done = subprocess.run([BIN / "runback", "ingest"], env=night, capture_output=True, text=True, timeout=300)
        with _client(url) as client:
            ran = [r for r in client.read_flow_runs(limit=50) if r.parameters.get("db") == str(db)]
        return done, max(ran, key=lambda r: r.created)

    dropped = inbox / export.name
    shutil.copy(export, dropped)  # written now: younger than the settle time
    first, run = ingest()
    assert first.returncode == 0, first.stdout + first.stderr
    assert run.state.is_completed(), f"{run.state.type}: {run.state.message}"
    assert "no export" not in first.stdout + first.stderr + (run.state.message or "")
    assert "waiting" in first.stdout, first.stdout
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from meta.data_cuts").fetchone()[0] == 0

    settled = time.time() - 601
    os.utime(dropped, (settled, settled))  # the settle time has passed since it was written
    second, run = ingest()
    assert run.state.is_completed(), f"{run.state.type}: {run.state.message}"
    assert second.returncode in (0, 1), second.stdout + second.stderr  # 1: loaded, with new data queries
    with duckdb.connect(str(db), read_only=True) as con:
        loaded = con.execute("select file_name, status from meta.source_files").fetchall()
    assert loaded == [(export.name, "loaded")], loaded
