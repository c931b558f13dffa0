"""A trials unit on one Prefect server: Debian's PostgreSQL behind `prefect server start`, a
process work pool of concurrency 2 with two workers, and two simulated trials deployed from their
trial files with `runback deploy --pool` (docs/trials.md). Everything is read back through
Prefect's API client and the trials' warehouses.

1. The two trials' nightly runs overlap, each holding only its own warehouse limit; their run
   names, artifact keys and output folders name their trial.
2. Every link artifact a night and a report run leave opens over HTTP (200), through the reports'
   web server `runback publish` (each trial under /<trial>/), and again after it restarts.
3. A worker is killed (SIGKILL, with its flow-run process) mid-run of one trial, and the server is
   restarted mid-run of the other: the other trial's runs complete, the killed trial's next run
   completes, and every analysed cut of both warehouses has its listing and artifacts.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port as _free_port
from tests.helpers import wait_for as _wait

pytestmark = [pytest.mark.server, pytest.mark.slow]
BIN = Path(sys.executable).parent
PREFECT, RUNBACK = ([sys.executable, BIN / name] for name in ("prefect", "runback"))
"""Run by this interpreter, whatever their first line names (a copied virtual environment)."""
TRIALS = ("alpha", "beta")
PARTICIPANTS = 2000
"""Enough that a nightly run takes several seconds (the issue's trials had 2,000)."""
NIGHTS = 4
"""Nights 1-2 are in the inbox for the first runs; 3 and 4 arrive later (kept aside until then)."""
POOL = "trials-unit"
LEASE_S = 60


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres(command: list) -> list:
    """Run a PostgreSQL program as the `postgres` user when this is root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--", *map(str, command)] if os.geteuid() == 0 else list(map(str, command))


@pytest.fixture(scope="module")
def postgres():
    """Debian's PostgreSQL in a temporary folder, on 127.0.0.1, trusting local connections: the
    URL of a fresh database."""
    pg = _postgres_bin()
    if pg is None:
        pytest.skip("Debian's PostgreSQL is not installed (/usr/lib/postgresql/*/bin; apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="runback-pg-"))  # not under pytest's 0700 folder: postgres must reach it
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", _free_port()
    subprocess.run(
        _as_postgres([pg / "initdb", "-D", data, "--auth=trust", "-U", "postgres"]), check=True, capture_output=True
    )
    options = f"-h 127.0.0.1 -p {port} -k {root}"
    start = [pg / "pg_ctl", "-D", data, "-o", options, "-l", root / "postgres.log", "-w", "start"]
    subprocess.run(_as_postgres(start), check=True, capture_output=True)
    try:
        subprocess.run(
            [pg / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "prefect"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/prefect"
    finally:
        subprocess.run(_as_postgres([pg / "pg_ctl", "-D", data, "-m", "fast", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


class Server:
    """`prefect server start` on PostgreSQL, its leases kept on disk so they outlive a restart."""

    def __init__(self, root: Path, database: str):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.root = root
        self.env = {
            **os.environ,
            "PREFECT_HOME": str(root / "prefect-home"),
            "PREFECT_API_URL": self.url,
            "PREFECT_API_DATABASE_CONNECTION_URL": database,
            "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect.server.concurrency.lease_storage.filesystem",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",
        }
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.root / f"server-{self.starts}.log", "w")  # noqa: SIM115 - the process writes it
        command = [*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        _wait(self.healthy, 180, "the Prefect server")

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            _end(self.process, signal.SIGTERM)


def _end(process: subprocess.Popen, sig: int) -> None:
    """Signal a process's whole group (it was started in its own session) and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)


@pytest.fixture(scope="module")
def server(postgres, tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("prefect"), postgres)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _client(url: str):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: url}):
        return get_client(sync_client=True)


class Unit:
    """The trials unit: two trial files, their simulated exports, a process pool of concurrency 2
    with its workers, and the deployments `runback deploy --pool` made."""

    def __init__(self, server: Server, root: Path):
        self.server, self.root = server, root
        port = _free_port()
        self.env = {
            **server.env,
            "RUNBACK_TRIALS": str(root / "trials"),
            "RUNBACK_SETTLE_SECONDS": "0",  # the simulated exports are complete when written
            "RUNBACK_MAX_AGE_HOURS": "1000000",  # simulated exports are years old: no night is overdue
            "PREFECT_WORKER_QUERY_SECONDS": "2",
            "RUNBACK_REPORTS_ADDRESS": f"127.0.0.1:{port}",
            "RUNBACK_REPORTS_URL": f"http://127.0.0.1:{port}",  # what the workers' runs link to
        }
        self.workers: list[subprocess.Popen] = []
        self.publisher: subprocess.Popen | None = None

    def publish(self) -> None:
        """(Re)start `runback publish`, the reports' web server of every trial, and wait until it answers."""
        if self.publisher is not None:
            _end(self.publisher, signal.SIGTERM)
        log = open(self.root / "publish.log", "a")  # noqa: SIM115 - the process writes it
        self.publisher = subprocess.Popen(
            [*RUNBACK, "publish"], env=self.env, cwd=self.root, stdout=log, stderr=log, start_new_session=True
        )
        log.close()
        base = self.env["RUNBACK_REPORTS_URL"]
        _wait(lambda: _answers(f"{base}/alpha/"), 60, "runback publish")  # 404 before alpha's first night

    def run(self, *command, timeout: float = 300) -> str:
        done = subprocess.run(
            [str(c) for c in command], env=self.env, cwd=self.root, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
        return done.stdout

    def inbox(self, trial: str) -> Path:
        return self.root / trial / "inbox"

    def later(self, trial: str) -> Path:
        """The exports of nights still to come, kept out of the inbox until they 'arrive'."""
        return self.root / trial / "later"

    def arrive(self, trial: str, count: int) -> list[str]:
        """The next `count` nights' exports arrive in the trial's inbox: their names."""
        files = sorted(self.later(trial).glob("*_DATA_*.csv"))[:count]
        for path in files:
            shutil.move(path, self.inbox(trial) / path.name)
        return [p.name for p in files]

    def start_worker(self) -> subprocess.Popen:
        name = f"worker-{len(self.workers) + 1}"
        log = open(self.root / f"{name}.log", "w")  # noqa: SIM115 - the process writes it
        worker = subprocess.Popen(
            [*PREFECT, "worker", "start", "--pool", POOL, "--name", name],
            env=self.env,
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed with its flow runs
        )
        log.close()
        self.workers.append(worker)
        return worker


@pytest.fixture(scope="module")
def unit(server, tmp_path_factory):
    root = tmp_path_factory.mktemp("unit")
    unit = Unit(server, root)
    (root / "trials").mkdir()
    for trial in TRIALS:
        (root / "trials" / f"{trial}.toml").write_text(
            f'warehouse = "../{trial}/warehouse/runback.duckdb"\n'
            f'inbox = "../{trial}/inbox"\n'
            f'out = "../{trial}/out"\n'
            f'key = "{root / "keys" / trial / "allocation.key"}"\n'
        )
        seed = str(1 + TRIALS.index(trial))
        unit.run(
            *RUNBACK, "simulate", "--trial", trial, "--participants", PARTICIPANTS, "--nights", NIGHTS, "--seed", seed
        )
        unit.later(trial).mkdir()
        for path in sorted(unit.inbox(trial).glob("*_DATA_*.csv"))[2:]:
            shutil.move(path, unit.later(trial) / path.name)
    unit.run(*PREFECT, "work-pool", "create", POOL, "--type", "process")
    unit.run(*PREFECT, "work-pool", "set-concurrency-limit", POOL, "2")
    deployed = unit.run(*RUNBACK, "deploy", "--pool", POOL).split()
    assert sorted(deployed) == sorted(f"{flow}/{t}" for flow in ("nightly-ingest", "followup-report") for t in TRIALS)
    try:
        unit.publish()
        unit.start_worker()
        unit.start_worker()
        yield unit
    finally:
        for process in [*unit.workers, unit.publisher]:
            if process is not None and process.poll() is None:
                _end(process, signal.SIGTERM)


def _answers(link: str) -> bool:
    try:
        return httpx.get(link, timeout=5).status_code in (200, 404)
    except httpx.HTTPError:
        return False


def _start(url: str, deployment: str, **parameters):
    """A flow run of the deployment, created now (with these parameters): its id."""
    with _client(url) as client:
        found = client.read_deployment_by_name(deployment)
        return client.create_flow_run_from_deployment(found.id, parameters={**found.parameters, **parameters}).id


def _run(url: str, run_id):
    """The flow run as the server has it (None while the server does not answer: it restarts)."""
    try:
        with _client(url) as client:
            return client.read_flow_run(run_id)
    except (httpx.HTTPError, OSError, RuntimeError):
        return None


def _final(url: str, run_id, timeout: float):
    def ended():
        run = _run(url, run_id)
        return run if run is not None and run.state is not None and run.state.is_final() else None

    return _wait(ended, timeout, f"flow run {run_id} to end", every=2)


def _task_runs(url: str, run_id) -> list:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with _client(url) as client:
        return client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))


def _limits(url: str) -> dict[str, int]:
    """The global concurrency limits on the server: name -> slots taken."""
    with _client(url) as client:
        return {limit.name: limit.active_slots for limit in client.read_global_concurrency_limits(limit=200)}


def _artifact_keys(url: str, run_id=None, key: str | None = None) -> set[str]:
    """The keys of the artifacts of a flow run (its tasks' included), or of those with this key."""
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    where = ArtifactFilter(
        flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]) if run_id else None,
        key=ArtifactFilterKey(any_=[key]) if key else None,
    )
    with _client(url) as client:
        return {a.key for a in client.read_artifacts(artifact_filter=where) if a.key}


def _log_text(url: str, run_id) -> str:
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    with _client(url) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])), limit=200)
    return "\n".join(log.message for log in logs)


def _when(run) -> str:
    return f"{run.name!r} {run.state.type.value} {run.start_time:%H:%M:%S}-{run.end_time:%H:%M:%S}"


@pytest.fixture(scope="module")
def first_nights(unit):
    """Both trials' nightly runs started at once (nights 1 and 2 in each inbox), watched until they
    end: the runs, and the moments both ran while each trial's limit had its slot taken."""
    url = unit.server.url
    ids = {trial: _start(url, f"nightly-ingest/{trial}") for trial in TRIALS}
    both_held = []

    def ended():
        runs = {trial: _run(url, run_id) for trial, run_id in ids.items()}
        if all(r.state.is_running() for r in runs.values()):
            slots = _limits(url)
            both_held.append(all(slots.get(f"runback-warehouse-{t}") == 1 for t in TRIALS))
        return runs if all(r.state.is_final() for r in runs.values()) else None

    runs = _wait(ended, 420, "both trials' first nightly runs", every=1)
    print("\nfirst nights:", *(_when(r) for r in runs.values()), sep="\n  ")
    return runs, both_held


def test_two_trials_runs_overlap_each_in_its_own_limit_names_keys_and_folders(unit, first_nights):
    url = unit.server.url
    runs, both_held = first_nights
    for trial, run in runs.items():
        assert run.state.is_completed(), f"{trial}: {run.state.type} {run.state.message}"
    alpha, beta = runs["alpha"], runs["beta"]
    assert alpha.start_time < beta.end_time and beta.start_time < alpha.end_time, "the two trials ran in series"
    # each holds its own limit: while both ran, both trials' one-slot limits were taken at once
    assert any(both_held), f"never saw both limits taken while both ran ({len(both_held)} looks)"
    limits = _limits(url)
    assert {f"runback-warehouse-{t}" for t in TRIALS} <= set(limits), limits
    assert "runback-warehouse" not in limits, "a run took the single-trial limit"
    keys = {trial: _artifact_keys(url, run.id) for trial, run in runs.items()}
    for trial, run in runs.items():
        other = next(t for t in TRIALS if t != trial)
        assert trial in run.name.split() and other not in run.name, run.name
        assert {f"nightly-ingest-summary-{trial}", f"data-queries-cut-2-{trial}"} <= keys[trial], keys[trial]
        assert all(key.endswith(f"-{trial}") for key in keys[trial]), keys[trial]
        assert other not in _log_text(url, run.id), f"{trial}'s run logs a line naming {other}"
        listings = sorted(p.name for p in (unit.root / trial / "out" / "queries").glob("*.csv"))
        assert listings, f"no listing in {trial}'s output folder"
    assert alpha.name != beta.name and not keys["alpha"] & keys["beta"]


def _links(url: str, run_id) -> list[str]:
    """The targets of the link artifacts of a flow run (its tasks' included): Prefect stores a
    link artifact as a markdown artifact that is exactly one link."""
    import re

    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    where = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
    with _client(url) as client:
        found = client.read_artifacts(artifact_filter=where)
    links = [re.fullmatch(r"\[[^\]\n]*\]\((\S+)\)", a.data) for a in found if isinstance(a.data, str)]
    return [link.group(1) for link in links if link]


def test_every_link_a_night_and_a_report_leave_opens_over_http(unit, first_nights):
    url, base = unit.server.url, unit.env["RUNBACK_REPORTS_URL"]
    runs, _ = first_nights
    report = _final(url, _start(url, "followup-report/alpha", timepoint="week_8", pdf=True), 300)
    assert report.state.is_completed(), f"{report.state.type} {report.state.message}"
    links = {run.name: _links(url, run.id) for run in [*runs.values(), report]}
    print("\nlinks:", *(f"{name}: {found}" for name, found in links.items()), sep="\n  ")
    assert sorted(link.rsplit(".", 1)[-1] for link in links[report.name]) == ["html", "pdf"], links[report.name]
    for trial, run in runs.items():  # the night's listing of open data queries
        assert any(link.startswith(f"{base}/{trial}/queries/") for link in links[run.name]), links[run.name]
    everything = [link for found in links.values() for link in found]
    assert all(link.startswith(base) for link in everything), everything
    assert all(httpx.get(link, timeout=30).status_code == 200 for link in everything), everything
    unit.publish()  # a restart of the web server: the links of earlier runs still open
    assert all(httpx.get(link, timeout=30).status_code == 200 for link in everything), everything


def _flow_run_processes(run_id) -> list[int]:
    """The processes running a flow run (the worker starts them with PREFECT__FLOW_RUN_ID)."""
    needle = f"PREFECT__FLOW_RUN_ID={run_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


def _ancestors(pid: int) -> set[int]:
    seen = set()
    while pid > 1:
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            break
        seen.add(pid)
    return seen


def _lose_machine_of(unit: Unit, run_id) -> subprocess.Popen:
    """SIGKILL the worker running the flow run, with its flow-run processes (the process worker
    starts each run in a session of its own): as if the machine were lost. The worker."""
    processes = _flow_run_processes(run_id)
    assert processes, "the flow run has no process"
    up = set().union(*map(_ancestors, processes))
    worker = next(w for w in unit.workers if w.pid in up)
    groups = {worker.pid} | {os.getpgid(p) for p in processes}
    for group in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
    worker.wait(30)
    return worker


def _loaded(url: str, run_id, name: str) -> bool:
    return any(t.name == f"ingest {name}" and t.state and t.state.is_completed() for t in _task_runs(url, run_id))


def _opens(path: str) -> bool:
    import duckdb

    try:
        duckdb.connect(path, read_only=True).close()
    except duckdb.IOException:
        return False
    return True


def _published(unit: Unit, trial: str) -> list[str]:
    """What the trial's warehouse lacks: a loaded cut not analysed, an analysed cut without its
    listing or artifacts recorded, a recorded listing not on disk or not as written, an artifact
    recorded but absent from the server."""
    import hashlib

    import duckdb

    from runback.flows.cuts import cuts as known_cuts

    lacking = []
    folder = unit.root / trial / "out" / "queries"
    path = str(unit.root / trial / "warehouse" / "runback.duckdb")
    # a killed run's process may hold the file for a moment more while it dies
    _wait(lambda: _opens(path), 60, f"{trial}'s warehouse to be free", every=0.5)
    with duckdb.connect(path, read_only=True) as con:
        cuts = [c for (c,) in con.execute("select cut_id from meta.data_cuts order by 1").fetchall()]
        unanalysed = list(known_cuts(con).unanalysed)
        analysed = [
            c for (c,) in con.execute("select distinct data_cut from analysis.participants order by 1").fetchall()
        ]
        outputs = set(con.execute("select cut_id, what from meta.cut_outputs").fetchall())
        files = dict(con.execute("select data_cut, [path, sha256] from meta.outputs where kind = 'listing'").fetchall())
    lacking += [f"cut {c} loaded, not analysed" for c in unanalysed]
    for cut in analysed:
        for what in ("listing", "artifacts"):
            if (cut, what) not in outputs:
                lacking.append(f"cut {cut}: no {what} recorded")
        name, sha256 = files.get(cut, (None, None))  # a cut without open queries has no listing file
        root = folder.parent
        if name and (not (root / name).is_file() or hashlib.sha256((root / name).read_bytes()).hexdigest() != sha256):
            lacking.append(f"cut {cut}: listing {name} missing or changed")
        key = f"data-queries-cut-{cut}-{trial}"
        if not _artifact_keys(unit.server.url, key=key):
            lacking.append(f"cut {cut}: no artifact {key}")
    print(f"{trial}: cuts {cuts}, analysed {analysed}, outputs {sorted(outputs)}")
    return lacking


def test_a_lost_worker_and_a_server_restart_block_no_trial_and_leave_no_cut_unpublished(unit, first_nights):
    url = unit.server.url
    night_3, _ = unit.arrive("alpha", 2)  # alpha's run has two files to load: it is killed between them
    unit.arrive("beta", 1)
    lost = _start(url, "nightly-ingest/alpha")
    _wait(lambda: _loaded(url, lost, night_3), 300, f"alpha's run to load {night_3}")
    assert _run(url, lost).state.is_running()
    _lose_machine_of(unit, lost)
    lost_at = time.time()
    # the lost run loaded night 3 and died before analysing it: its cut waits for the next run
    assert any("cut 3 loaded, not analysed" in line for line in _published(unit, "alpha"))
    unit.start_worker()  # a fresh machine joins the pool
    restarted = _start(url, "nightly-ingest/beta")
    _wait(lambda: _run(url, restarted).state.is_running() and _task_runs(url, restarted), 300, "beta's run to start")
    unit.server.stop()
    unit.server.start()
    print(f"\nserver restarted {time.time() - lost_at:.0f} s after the worker was lost")
    beta_2 = _final(url, restarted, 300)
    print("beta through the restart:", _when(beta_2), beta_2.state.message)
    unit.arrive("beta", 1)
    ids = {trial: _start(url, f"nightly-ingest/{trial}") for trial in TRIALS}
    beta_3 = _final(url, ids["beta"], 300)  # a slot the restart forgot would hold it here for ever
    alpha_3 = _final(url, ids["alpha"], 600)
    lost_run = _run(url, lost)
    print("lost run:", lost_run.name, lost_run.state.type.value, lost_run.state.message)
    print(f"  its state set {lost_run.state.timestamp.timestamp() - lost_at:.0f} s after the loss")
    print("beta after:", _when(beta_3))
    print("alpha after:", _when(alpha_3), f"(started {alpha_3.start_time.timestamp() - lost_at:.0f} s after the loss)")
    assert beta_2.start_time.timestamp() - lost_at < LEASE_S, "beta waited for alpha's lost run"
    # runback deploy's automation marks the silent run Crashed (three missed 30 s heartbeats), which
    # frees its deployment's slot long before that slot's 5-minute lease would have, and its pool's
    assert lost_run.state.is_crashed(), f"the lost run is still {lost_run.state.type}"
    assert alpha_3.start_time.timestamp() - lost_at < 240, "alpha's next run waited for the deployment's lease"
    assert beta_3.state.is_completed(), f"beta after the restart: {beta_3.state.type} {beta_3.state.message}"
    assert alpha_3.state.is_completed(), f"alpha after its lost run: {alpha_3.state.type} {alpha_3.state.message}"
    for trial in TRIALS:
        assert not _published(unit, trial), f"{trial}: {_published(unit, trial)}"
