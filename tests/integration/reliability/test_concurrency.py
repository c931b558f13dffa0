"""Two ingests and a query at once: the second writer and the query wait for the first; a writer
that waits too long fails with a clear message, and its file is picked up by the next run."""

import subprocess
import sys

import duckdb
import pytest

from runback.flows.ingest.pipeline import ingest_file
from runback.flows.query.integrity import problems
from runback.flows.settings import PROJECT_DIR
from runback.flows.simulate import simulate
from runback.flows.warehouse import WarehouseBusy

HOLD = """
import sys, time
from runback.flows.warehouse import connect
con = connect(sys.argv[1])
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


@pytest.fixture
def nights(tmp_path):
    return [str(p) for p in simulate(tmp_path / "exports", participants=20, seed=13, nights=3).files]


def _hold(db, seconds):
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(db), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "holding"
    return child


INGEST = """
import sys
from runback.flows.ingest.pipeline import ingest_file
print(ingest_file(sys.argv[1], sys.argv[2], sys.argv[3]).status, flush=True)
"""
QUERY = """
import sys
from runback.flows.warehouse import connect_read_only
with connect_read_only(sys.argv[1]) as con:
    print(con.execute("select count(*) from meta.data_cuts").fetchone()[0], flush=True)
"""


def test_writers_and_a_query_wait_for_the_one_holding_the_warehouse(tmp_path, nights, monkeypatch):
    import os

    db = tmp_path / "w.duckdb"
    ingest_file(nights[0], str(db), str(PROJECT_DIR))
    env = {**os.environ, "RUNBACK_LOCK_TIMEOUT": "60"}
    holder = _hold(db, 2.0)  # another process writing
    ingest = subprocess.Popen(
        [sys.executable, "-c", INGEST, nights[1], str(db), str(PROJECT_DIR)], env=env, stdout=subprocess.PIPE, text=True
    )
    query = subprocess.Popen([sys.executable, "-c", QUERY, str(db)], env=env, stdout=subprocess.PIPE, text=True)
    ingested, queried = ingest.communicate(timeout=120)[0], query.communicate(timeout=120)[0]
    holder.wait(10)
    assert (ingest.returncode, query.returncode) == (0, 0)
    assert ingested.strip() == "loaded"
    assert int(queried) in (1, 2)
    with duckdb.connect(str(db), read_only=True) as con:
        assert problems(con) == []
        assert con.execute("select count(*) from meta.data_cuts").fetchone()[0] == 2


def test_a_writer_that_waits_too_long_fails_clearly_and_the_next_run_loads_it(tmp_path, nights, monkeypatch):
    db = tmp_path / "w.duckdb"
    ingest_file(nights[0], str(db), str(PROJECT_DIR))
    monkeypatch.setenv("RUNBACK_LOCK_TIMEOUT", "0.5")
    holder = _hold(db, 3.0)
    busy = "in use by (process [0-9]+|another process).*waited 0.5 s.*picked up by the next run"
    with pytest.raises(WarehouseBusy, match=busy):
        ingest_file(nights[1], str(db), str(PROJECT_DIR))
    holder.wait(10)
    assert ingest_file(nights[1], str(db), str(PROJECT_DIR)).data_cut == 2
