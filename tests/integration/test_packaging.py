"""runback as a user or an image installs it: the wheel (not editable) in a fresh virtual
environment holding exactly the versions of requirements.lock, run from a folder that has nothing
to do with the checkout, and as a process pool's worker runs it; the Containerfile and the work
pool templates of docs/containers.md. The venv is slow to make: the lock file's packages come from
the package index (1.5 to 3.5 minutes here)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import venv
import zipfile
from pathlib import Path

import httpx
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from prefect.server.schemas.actions import validate_base_job_template
from prefect.utilities.templating import apply_values
from prefect.workers.base import BaseJobConfiguration

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
FLOWS = {"nightly": "nightly-ingest", "adhoc": "followup-report"}
"""The flow each deployment of prefect.yaml runs, by deployment name."""


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if "__pycache__" not in p.parts}


def _pins() -> dict[str, str]:
    """requirements.lock as {canonical name: version}; every line that is not a comment pins one."""
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^=\s;]+)", line).groups()
            pins[canonicalize_name(name)] = version
    return pins


def _env(tmp_path: Path) -> dict[str, str]:
    """The environment of a user's shell: none of our settings, no Prefect server, no PYTHON*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNBACK_", "PYTHON", "PREFECT_"))}
    return env | {"PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def _image() -> dict:
    """What the Containerfile's final stage makes: its working folder, user id and build-stage copies."""
    build, final = re.split(r"^FROM ", (ROOT / "Containerfile").read_text(), flags=re.M)[1:]
    return {
        "workdir": re.findall(r"^WORKDIR (\S+)$", final, flags=re.M)[-1],
        "user": re.findall(r"^USER (\S+)$", final, flags=re.M)[-1],
        "uid": re.search(r"useradd .*--uid (\d+)", final).group(1),
        "final": final,
        "copied": {w for line in re.findall(r"^COPY (.+) \S+$", build, flags=re.M) for w in line.split()},
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel as the Containerfile's build stage builds it, from a copy of the files its COPY
    lines name (what git tracks there, and new files it does not ignore): a `build/` folder left by
    an earlier build cannot slip stale files into it."""
    out, source = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("source")
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .split("\0")
    )
    copied = _image()["copied"]
    for name in filter(None, listed):
        if (ROOT / name).is_file() and name.split("/")[0] in copied:
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("runback-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with what the Containerfile installs: requirements.lock, then the wheel, both
    without dependencies (so nothing unpinned gets in). Its python."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    lock = subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "-r", str(LOCK)], capture_output=True, text=True
    )
    assert lock.returncode == 0, lock.stderr[-3000:]
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True)
    return python


def _site(python: Path) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return Path(subprocess.run([python, "-c", code], check=True, capture_output=True, text=True).stdout.strip())


def test_the_wheel_holds_one_top_level_package_with_its_files(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if ".dist-info/" not in n}
    assert top == {"runback"}
    for wanted in (
        "runback/sql/ingest/insert_raw.sql",
        "runback/sql/warehouse/migrations/0001_warehouse.sql",
        "runback/reports/report.html.j2",
        "runback/reports/style.css",
        "runback/schemas/redcap/RUNBACK_DataDictionary.csv",
        "runback/flows/cli.py",
    ):
        assert wanted in names, wanted


def test_the_lock_file_pins_every_runtime_requirement_to_a_version_it_allows():
    pins = _pins()
    assert len(pins) > 100  # the whole closure, not the direct requirements only
    for text in PROJECT["project"]["dependencies"]:
        wanted = Requirement(text)
        name = canonicalize_name(wanted.name)
        assert name in pins, f"{name} is not in requirements.lock"
        assert wanted.specifier.contains(pins[name], prereleases=True), (name, pins[name], str(wanted.specifier))


def test_the_containerfile_builds_the_wheel_from_every_package_folder_and_runs_it_as_a_user():
    image = _image()
    folders = set(PROJECT["tool"]["setuptools"]["package-dir"].values())
    assert image["copied"] == folders | {"pyproject.toml", PROJECT["project"]["readme"]}
    context = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in context and {f"!{name}" for name in image["copied"] | {"requirements.lock"}} <= set(context)
    assert image["user"] not in ("root", "0")
    for step in ("--no-deps -r /tmp/requirements.lock", "--no-deps /tmp/dist/runback-*.whl", "pip check"):
        assert step in image["final"], step


@pytest.mark.parametrize("template", ["docker-pool.yaml", "kubernetes-pool.yaml"])
def test_a_pool_template_runs_the_image_with_the_trials_data_mounted_at_its_working_folder(template):
    """The job a worker makes from the template's defaults (Prefect's own templating, after the
    check the server makes when the pool is created): runback's image of this version, as the
    image's user, the data volume mounted on the folder flow runs start in, the trials inside it."""
    base = yaml.safe_load((ROOT / "docs" / template).read_text())
    validate_base_job_template(base)
    job = apply_values(
        base["job_configuration"], BaseJobConfiguration._get_base_config_defaults(base["variables"]["properties"])
    )
    image = _image()
    if "job_manifest" in job:  # Kubernetes
        pod = job["job_manifest"]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        mounts, reference = [m["mountPath"] for m in container["volumeMounts"]], container["image"]
        assert str(pod["securityContext"]["runAsUser"]) == image["uid"] and pod["securityContext"]["runAsNonRoot"]
    else:  # Docker
        mounts, reference = [volume.split(":")[1] for volume in job["volumes"]], job["image"]
    assert reference.rsplit("/", 1)[-1] == f"runback:{PROJECT['project']['version']}"
    assert image["workdir"] in mounts
    assert Path(job["env"]["RUNBACK_TRIALS"]).is_relative_to(image["workdir"])


@pytest.mark.slow
def test_the_lock_file_installs_in_a_fresh_venv_and_holds_every_dependency_of_the_wheel(installed):
    check = subprocess.run([installed, "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout  # names any dependency the lock file misses or pins wrong
    frozen = subprocess.run(
        [installed, "-m", "pip", "list", "--format=json"], check=True, capture_output=True, text=True
    ).stdout
    present = {canonicalize_name(p["name"]): p["version"] for p in json.loads(frozen)}
    for tool in ("pip", "setuptools", "wheel"):
        present.pop(tool, None)
    assert present.pop("runback") == PROJECT["project"]["version"]
    assert present == _pins()


@pytest.mark.slow
def test_the_installed_wheel_resolves_every_deployment_entrypoint_with_prefects_loader(installed, tmp_path):
    """Each entrypoint of prefect.yaml and of `deployments()` (served, or per trial), loaded by
    Prefect's own loader in a process of its own, in a folder that is not the project: the flow comes
    from the venv's site-packages, by import (Prefect's module-path form: no pull step, no copy)."""
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = _env(tmp_path)

    def run(code: str, *args: str):
        done = subprocess.run([installed, "-c", code, *args], cwd=work, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.splitlines()[-1])

    served = run(
        "import json; from runback.flows.deployments import deployments\n"
        "print(json.dumps([[d.name, d.flow_name, d.entrypoint] for d in deployments() + deployments(trial='cai2017')]))"
    )
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    declared = [[d["name"], FLOWS[d["name"]], d["entrypoint"]] for d in config["deployments"]]
    assert config["pull"] == []  # nothing to copy, no folder to go to: the flows are imported
    assert sorted(declared) == sorted(served[:2])  # prefect.yaml deploys what `runback serve` serves
    assert len(served) == 4 and all(":" not in entrypoint for *_, entrypoint in served)

    loader = (
        "import json, sys; from prefect import Flow; from prefect.flows import load_flow_from_entrypoint\n"
        "flow = load_flow_from_entrypoint(sys.argv[1], use_placeholder_flow=False)\n"
        "print(json.dumps([isinstance(flow, Flow), flow.name, sys.modules[flow.fn.__module__].__file__]))"
    )
    site = str(_site(installed))
    for flow_name, entrypoint in sorted({(flow_name, entrypoint) for _, flow_name, entrypoint in served}):
        is_flow, name, source = run(loader, entrypoint)
        assert is_flow and name == flow_name, entrypoint
        assert source.startswith(site), source


@pytest.mark.slow
def test_an_installed_wheel_runs_the_pipeline_from_any_folder(installed, tmp_path):
    site = _site(installed)
    before = _files(site)
    work = tmp_path / "somewhere"
    work.mkdir()
    env = _env(tmp_path)  # the defaults
    runback = installed.parent / "runback"

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([runback, *args], cwd=work, env=env, capture_output=True, text=True, timeout=600)

    located = subprocess.run(
        [installed, "-c", "import runback.flows; print(runback.flows.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert located.startswith(str(site)), located
    assert run("--version").stdout.startswith("runback ")
    sim = run("simulate", "--out", "exports", "--participants", "24", "--nights", "3")
    assert sim.returncode == 0, sim.stderr
    ingest = run("ingest", "exports")
    assert ingest.returncode in (0, 1), ingest.stderr[-2000:]
    report = run("report", "--timepoint", "week_8")
    assert report.returncode == 0, report.stderr[-2000:]
    assert (work / "data" / "runback.duckdb").exists() and (work / "keys" / "allocation.key").exists()
    assert list((work / "out").glob("runback_week_8_cut*.html"))
    assert _files(site) == before, "something was written inside site-packages"


@pytest.mark.slow
@pytest.mark.server
def test_a_process_pool_runs_prefect_yaml_from_the_installed_wheel(installed, tmp_path):
    """prefect.yaml deployed from a folder that holds only it, onto a process pool whose worker, in
    the fresh venv, starts elsewhere: the run imports its flow (no pull step) and keeps its data in
    the folder `prefect deploy` ran from (the `working_dir` job variable)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/api"
    env = _env(tmp_path) | {"PREFECT_API_URL": url, "RUNBACK_SETTLE_SECONDS": "0", "RUNBACK_MAX_AGE_HOURS": "1000000"}
    deployed = tmp_path / "deployed"
    deployed.mkdir()
    shutil.copy(ROOT / "prefect.yaml", deployed)
    bin_dir = installed.parent

    def run(*args, cwd: Path = tmp_path) -> None:  # in `cwd` as a shell runs it ({{ $PWD }} reads PWD)
        done = subprocess.run(args, cwd=cwd, env=env | {"PWD": str(cwd)}, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])

    with open(tmp_path / "server.log", "w") as log:
        port = url.rsplit(":", 1)[1].split("/")[0]
        server = subprocess.Popen(
            [bin_dir / "prefect", "server", "start", "--host", "127.0.0.1", "--port", port],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120
            while not _answers(url):
                assert time.monotonic() < deadline and server.poll() is None, "the Prefect server did not start"
                time.sleep(1)
            run(bin_dir / "prefect", "work-pool", "create", "runback", "--type", "process")
            run(bin_dir / "prefect", "--no-prompt", "deploy", "--all", cwd=deployed)
            run(bin_dir / "runback", "simulate", "--out", "data/inbox", "--nights", "2", cwd=deployed)
            run(bin_dir / "prefect", "deployment", "run", "nightly-ingest/nightly")
            run(bin_dir / "prefect", "worker", "start", "--pool", "runback", "--run-once")
            runs = httpx.post(f"{url}/flow_runs/filter", json={}, timeout=10).json()
        finally:
            server.terminate()
            server.wait(30)
    (flow_run,) = [r for r in runs if r["state"]["type"] != "SCHEDULED"]  # the schedule's next nights wait
    assert flow_run["state"]["type"] == "COMPLETED", flow_run["state"]
    assert (deployed / "data" / "runback.duckdb").exists() and (deployed / "keys" / "allocation.key").exists()
    assert not (tmp_path / "data").exists()  # not where the worker started


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
