"""Benchmark: how long a one-off command takes as a user types it, without a Prefect server.

Builds the demo trial's warehouse (84 participants, 10 nights) in a temporary folder, then times
new processes of `runback query "select 1"` (the floor: Python, the CLI and DuckDB start-up),
`runback report --timepoint week_8` (rerun on the demo warehouse, whose charts are kept, and on a
copy with no chart kept, so every chart is drawn) and `runback ingest` of one new night, medians
of --runs, side by side in one run, and prints each as a ratio to the query. Writes the numbers
to bench/cli_results.json.

Run: .venv/bin/python bench/cli.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
RUNBACK = Path(sys.executable).parent / "runback"


def timed(command: list[str], env: dict, cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(map(str, command))} failed ({done.returncode}): {done.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
        env |= {"PREFECT_HOME": str(work / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        subprocess.run([RUNBACK, "-q", "demo"], env=env, cwd=work, check=True, capture_output=True)
        db, exports = work / "data" / "demo" / "runback.duckdb", work / "data" / "demo" / "exports"
        key = work / "data" / "demo-key" / "allocation.key"
        nights = sorted(exports.glob("RUNBACK_DATA_*.csv"))
        before = work / "before.duckdb"
        subprocess.run(
            [RUNBACK, "-q", "ingest", "--db", before, "--key", key, *nights[:-1]],
            env=env,
            cwd=work,
            capture_output=True,
        )
        query = [RUNBACK, "query", "--db", db, "select 1"]

        def report_of(warehouse: Path) -> list:
            return [RUNBACK, "-q", "report", "--db", warehouse, "--timepoint", "week_8", "--out", work / "out"]

        report = report_of(db)

        def report_drawn() -> float:
            fresh = work / "drawn.duckdb"
            shutil.copyfile(db, fresh)
            with duckdb.connect(str(fresh)) as con:
                con.execute("delete from meta.report_charts")
            return timed(report_of(fresh), env, work)

        def ingest() -> float:
            fresh = work / "night.duckdb"
            shutil.copyfile(before, fresh)
            return timed([RUNBACK, "-q", "ingest", "--db", fresh, "--key", key, nights[-1]], env, work)

        timed(query, env, work)  # warm the file cache
        rows = {"query": [], "report": [], "report_drawn": [], "ingest": []}
        for _ in range(args.runs):  # interleaved, so that load on the machine hits all alike
            rows["query"].append(timed(query, env, work))
            rows["report"].append(timed(report, env, work))
            rows["report_drawn"].append(report_drawn())
            rows["ingest"].append(ingest())
    medians = {name: round(statistics.median(times), 2) for name, times in rows.items()}
    result = medians | {
        f"{name}_over_query": round(medians[name] / medians["query"], 2)
        for name in ("report", "report_drawn", "ingest")
    }
    print(f"{'command':<45} {'median (s)':>10} {'÷ query':>8}")
    floor = 'runback query "select 1"'
    print(f"{floor:<45} {medians['query']:>10.2f} {1:>8.2f}")
    print(f"{'runback report --timepoint week_8':<45} {medians['report']:>10.2f} {result['report_over_query']:>8.2f}")
    drawn = "  the same, every chart drawn"
    print(f"{drawn:<45} {medians['report_drawn']:>10.2f} {result['report_drawn_over_query']:>8.2f}")
    print(
        f"{'runback ingest (one new night of 84)':<45} {medians['ingest']:>10.2f} {result['ingest_over_query']:>8.2f}"
    )
    (ROOT / "bench" / "cli_results.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
