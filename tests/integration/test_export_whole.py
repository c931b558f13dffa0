"""`runback export` is all or nothing: into a new or empty folder only, never mixed with another
export, and a write that fails (a file-size limit standing in for a full disk) leaves nothing and
exits 3 with the folder named, never 5 (docs/bad-inputs.md)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runback.flows import settings
from runback.flows.ingest.pipeline import Options
from runback.flows.night import run
from runback.flows.simulate import simulate

RUNBACK = Path(sys.executable).parent / "runback"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    exports, db, key = root / "exports", root / "w.duckdb", root / "keys" / "allocation.key"
    simulate(exports, participants=20, seed=7, nights=2)
    with settings.use_trial(settings.Trial("", db, exports, root / "out", key)):
        run([exports], db, settings.PROJECT_DIR, Options(key=key))
    return db


def _export(db, to, *extra, limit=None):
    def limited():
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [RUNBACK, "export", "--db", str(db), "--to", str(to), *extra],
        capture_output=True,
        text=True,
        preexec_fn=limited if limit else None,
        env={**os.environ, "PREFECT_API_URL": ""},
        timeout=120,
    )


def test_an_export_goes_into_a_new_folder_whole(warehouse, tmp_path):
    result = _export(warehouse, tmp_path / "cut")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cut" / "data_dictionary.csv").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_second_export_into_the_same_folder_is_refused(warehouse, tmp_path):
    assert _export(warehouse, tmp_path / "cut").returncode == 0
    before = sorted(p.name for p in (tmp_path / "cut").iterdir())
    again = _export(warehouse, tmp_path / "cut", "--format", "parquet")
    assert again.returncode == 3 and "not a new or empty folder" in again.stderr
    assert sorted(p.name for p in (tmp_path / "cut").iterdir()) == before


def test_a_failed_write_leaves_nothing_and_is_refused(warehouse, tmp_path):
    result = _export(warehouse, tmp_path / "cut", limit=4096)
    assert result.returncode == 3, result.stderr
    assert "nothing was written" in result.stderr and "cut" in result.stderr
    assert list(tmp_path.iterdir()) == []
