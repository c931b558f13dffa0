"""runback as a user installs it: a wheel (not editable) in a fresh virtual environment, run from
a folder that has nothing to do with the checkout. Slow: it builds the wheel and runs the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the checkout's files (what git tracks, and new files it does
    not ignore): a `build/` folder left by an earlier build cannot slip stale files into it."""
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
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("runback-*.whl")
    return found


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


@pytest.mark.slow
def test_an_installed_wheel_runs_the_pipeline_from_any_folder(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # the dependencies come from this interpreter's site-packages (no network needed), without
    # processing its .pth files, so the checkout's editable install stays out of reach
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True)
    before = _files(site)
    work = tmp_path / "somewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNBACK_", "PYTHON"))}  # the defaults
    env |= {"PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    runback = env_dir / "bin" / "runback"

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([runback, *args], cwd=work, env=env, capture_output=True, text=True, timeout=600)

    located = subprocess.run(
        [python, "-c", "import runback.flows; print(runback.flows.__file__)"],
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
