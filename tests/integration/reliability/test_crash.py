"""Crash safety: an ingest killed with SIGKILL at a random moment leaves the warehouse sound and
either as it was before that file or as after it; the next ingest completes."""

import random
import shutil
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from runback.flows.ingest.pipeline import ingest_file
from runback.flows.query.integrity import problems
from runback.flows.settings import PROJECT_DIR
from runback.flows.simulate import simulate
from tests.helpers import warehouse_state

TRIALS = 20
CHILD = """
import sys
from runback.flows.ingest.pipeline import ingest_file
print("ready", flush=True)
ingest_file(sys.argv[1], sys.argv[2], sys.argv[3])
print("done", flush=True)
"""


@pytest.mark.slow
def test_sigkill_at_random_points(tmp_path):
    sim = simulate(tmp_path / "exports", participants=15, seed=8, nights=4)
    first, night = str(sim.files[1]), str(sim.files[2])  # a cut exists; the next night changes it
    base = tmp_path / "base.duckdb"
    ingest_file(first, str(base), str(PROJECT_DIR))
    after = tmp_path / "after.duckdb"
    shutil.copy(base, after)
    assert ingest_file(night, str(after), str(PROJECT_DIR)).status == "loaded"
    states = {"before": warehouse_state(base), "after": warehouse_state(after)}

    rng = random.Random(20)
    outcomes = []
    for batch in range(0, TRIALS, 2):  # two trials at a time, one per core
        trials = []
        for trial in (batch, batch + 1):
            db = tmp_path / f"trial{trial}.duckdb"
            shutil.copy(base, db)
            child = subprocess.Popen(
                [sys.executable, "-c", CHILD, night, str(db), str(PROJECT_DIR)], stdout=subprocess.PIPE, text=True
            )
            trials.append((trial, db, child))
        for _, _, child in trials:
            assert child.stdout.readline().strip() == "ready"
        start = time.monotonic()
        for delay, (_, _, child) in sorted(zip([rng.uniform(0.2, 1.4) for _ in trials], trials), key=lambda x: x[0]):
            time.sleep(max(0.0, start + delay - time.monotonic()))
            child.send_signal(signal.SIGKILL)
        for trial, db, child in trials:
            child.wait()
            with duckdb.connect(str(db), read_only=True) as con:  # opening replays the write-ahead log
                assert problems(con) == [], f"trial {trial}"
            state = warehouse_state(db)
            matched = [name for name, expected in states.items() if state == expected]
            assert matched, f"trial {trial}: the warehouse is neither as before nor as after the file"
            outcomes.append(matched[0])
            result = ingest_file(night, str(db), str(PROJECT_DIR))  # the next ingest completes
            assert result.status == "loaded" or result.repeat
            assert warehouse_state(db) == states["after"]
    assert len(outcomes) == TRIALS and "before" in outcomes  # some kills landed before the commit
    print(f"{TRIALS} SIGKILL trials: {outcomes.count('before')} left it as before, {outcomes.count('after')} as after")
