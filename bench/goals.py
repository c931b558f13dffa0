"""Benchmark: the performance goals, for an older revision of runback and this tree side by side in one run.

The goals (issue 23): a new 20,000-participant night takes at most 4x DuckDB's own `read_csv` of
the export; a new cut's analysis refresh at most 5 s at 20,000 participants and 1 s at 84; a report
rerun at most 2.5x `runback query "select 1"` (each a new process, no Prefect server; measured at
84 participants, the report of week 8 rendered once before, then rerun).

For each size it simulates the trial (`simulate(participants=N, seed=1, nights=3)`, this tree's
simulator: both codes read the same files) and measures, median of --runs:

- floor: DuckDB `read_csv(all_varchar = true)` of the last night's export into a table on disk,
  once in each run, before the two codes' runs (so that the ratio below compares times taken
  under the same load);
- night: `runback ingest` of the last night's export, as a user runs it (a new process, no Prefect
  server), into a fresh copy of a warehouse holding the earlier nights (ingested and analysed by
  the same code), less the command's start-up (`runback --version`); `night_ratio` = night / floor;
- refresh: `refresh_analysis` of the new cut on a fresh copy of that warehouse with the night
  loaded (`ingest_file`) but not analysed, twice in a new process, each on its own copy: the first
  (`cold_s`: the fitting libraries imported on the way, as in the night above) and the second
  (`refresh_s`: the refresh's own work, as bench/ingest.py measures it after a warm-up), which
  the refresh goals are judged on; `cpu_s` is the second's CPU time (every thread of the
  process), less disturbed by other work on the machine. The earlier cut is analysed, so the old code may share tables
  and copy fits from it, as it did on a real night.

Each code runs in its own processes, imported from its own folders: the older revision from a git
worktree (`git worktree add --detach /tmp/old-runback REV`, made when missing), this tree from its
checkout; `PYTHONPATH` names a folder holding `runback/flows`, `runback/schemas`, `runback/sql` and
`runback/reports` as links to the code's folders (runback is a namespace package, so its
subpackages come from the first such folder on the path). The two codes' runs are interleaved, so
that load on a shared machine affects both alike.

Prints a table and the ratios against the goals, and writes bench/goals_results.json.

Run: .venv/bin/python bench/goals.py [--participants 84 20000] [--runs 3] [--old a42ddc0]
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

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("flows", "schemas", "sql", "reports")
NIGHT_GOAL = 4.0
"""A new 20,000-participant night: at most this many times DuckDB's read_csv of the export."""
REFRESH_GOALS = {84: 1.0, 20000: 5.0}
"""A new cut's analysis refresh: at most this many seconds, by participants."""
REPORT_GOAL = 2.5
"""A report rerun: at most this many times `runback query "select 1"`."""
CLI = "import sys; from runback.flows.cli import main; sys.argv[0] = 'runback'; main()"
REFRESH_CHILD = """
import json, sys, time
from pathlib import Path
from runback.flows.analyse.refresh import refresh_analysis
from runback.flows.ingest.project import load_project
from runback.flows.warehouse import connect
study, seconds = load_project(), []
for db in sys.argv[2:]:
    with connect(Path(db)) as con:
        start, cpu = time.perf_counter(), time.process_time()
        done = refresh_analysis(con, study, int(sys.argv[1]))
        seconds.append((time.perf_counter() - start, time.process_time() - cpu))
print(json.dumps({"cold_s": seconds[0][0], "refresh_s": seconds[1][0], "cpu_s": seconds[1][1], "fitted": done.fitted}))
"""
LOAD_CHILD = """
import duckdb, sys
from runback.flows.ingest.pipeline import ingest_file
from runback.flows.settings import PROJECT_DIR
ingest_file(sys.argv[1], sys.argv[2], str(PROJECT_DIR))
with duckdb.connect(sys.argv[2], read_only=True) as con:
    print(con.execute("select max(cut_id) from meta.data_cuts").fetchone()[0])
"""


class Code:
    """One code to measure: where its packages are, and how to run it in a new process."""

    def __init__(self, name: str, checkout: Path, folder: Path):
        self.name, self.path = name, folder / name
        (self.path / "runback").mkdir(parents=True, exist_ok=True)
        for package in PACKAGES:
            (self.path / "runback" / package).symlink_to(checkout / package)

    def run(self, code: str, *args: str, env: dict) -> subprocess.CompletedProcess:
        env = {**env, "PYTHONPATH": str(self.path)}
        return subprocess.run(
            [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False, cwd=self.path
        )

    def timed(self, code: str, *args: str, env: dict) -> float:
        start = time.perf_counter()
        done = self.run(code, *args, env=env)
        seconds = time.perf_counter() - start
        if done.returncode not in (0, 1):  # 1: loaded, with data queries
            raise RuntimeError(f"{self.name}: {args} exited {done.returncode}: {done.stderr[-2000:]}")
        return seconds


def old_checkout(revision: str) -> Path:
    """The older revision's worktree (made when missing)."""
    where = Path(tempfile.gettempdir()) / "old-runback"
    if not where.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), revision], check=True)
    head = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    wanted = subprocess.run(["git", "-C", str(ROOT), "rev-parse", revision], capture_output=True, text=True, check=True)
    if head.stdout != wanted.stdout:
        raise SystemExit(f"{where} is not at {revision}: remove it (git worktree remove {where}) and run again")
    return where


def floor(path: Path, tmp: Path) -> float:
    import duckdb

    db = tmp / "floor.duckdb"
    db.unlink(missing_ok=True)
    start = time.perf_counter()
    with duckdb.connect(str(db)) as con:
        con.execute("create table export as select * from read_csv($p, all_varchar = true)", {"p": str(path)})
    return time.perf_counter() - start


def measure(participants: int, codes: list[Code], runs: int, tmp: Path, env: dict) -> dict:
    sys.path.insert(0, str(codes[-1].path))
    from runback.flows.simulate import simulate

    files = simulate(tmp / f"exports{participants}", participants=participants, seed=1, nights=3).files
    floor(files[-1], tmp)  # warm-up
    result = {"participants": participants, "file_mb": round(files[-1].stat().st_size / 1e6, 1)}
    history, loaded, cut = {}, {}, {}
    for code in codes:
        history[code.name] = tmp / f"{code.name}-{participants}-history.duckdb"
        code.timed(CLI, "--quiet", "ingest", "--db", str(history[code.name]), *map(str, files[:-1]), env=env)
        loaded[code.name] = tmp / f"{code.name}-{participants}-loaded.duckdb"
        shutil.copy(history[code.name], loaded[code.name])
        out = code.run(LOAD_CHILD, str(files[-1]), str(loaded[code.name]), env=env)
        cut[code.name] = json.loads(out.stdout.strip().splitlines()[-1])
    times = {(code.name, what): [] for code in codes for what in ("startup", "night", "cold", "refresh", "cpu")}
    fitted, floors = {}, []
    for _ in range(runs):
        floors.append(floor(files[-1], tmp))
        for code in codes:
            db = tmp / "run.duckdb"
            times[code.name, "startup"].append(code.timed(CLI, "--version", env=env))
            shutil.copy(history[code.name], db)
            times[code.name, "night"].append(
                code.timed(CLI, "--quiet", "ingest", "--db", str(db), str(files[-1]), env=env)
            )
            copies = [tmp / "cold.duckdb", tmp / "warm.duckdb"]
            for copy in copies:
                shutil.copy(loaded[code.name], copy)
            out = code.run(REFRESH_CHILD, str(cut[code.name]), *map(str, copies), env=env)
            if out.returncode:
                raise RuntimeError(f"{code.name}: refresh failed: {out.stderr[-2000:]}")
            refreshed = json.loads(out.stdout.strip().splitlines()[-1])
            times[code.name, "cold"].append(refreshed["cold_s"])
            times[code.name, "refresh"].append(refreshed["refresh_s"])
            times[code.name, "cpu"].append(refreshed["cpu_s"])
            fitted[code.name] = refreshed["fitted"]
    result["floor_s"], result["floor_runs_s"] = statistics.median(floors), [round(t, 3) for t in floors]
    for code in codes:
        startup = statistics.median(times[code.name, "startup"])
        night = statistics.median(times[code.name, "night"]) - startup
        result[code.name] = {
            "startup_s": round(startup, 3),
            "night_s": round(night, 3),
            "night_ratio": round(night / result["floor_s"], 2),
            "refresh_s": round(statistics.median(times[code.name, "refresh"]), 3),
            "cold_s": round(statistics.median(times[code.name, "cold"]), 3),
            "refresh_cpu_s": round(statistics.median(times[code.name, "cpu"]), 3),
            "refresh_runs_s": [round(t, 3) for t in times[code.name, "refresh"]],
            "night_runs_s": [round(t - startup, 3) for t in times[code.name, "night"]],
            "fitted": fitted[code.name],
        }
        if participants <= 84:
            result[code.name] |= report_rerun(code, history[code.name], runs, tmp, env)
    return result


def report_rerun(code: Code, db: Path, runs: int, tmp: Path, env: dict) -> dict:
    """`runback query "select 1"` and a rerun of the week-8 report (rendered once before), each a
    new process, medians of `runs`, and their ratio."""
    rerun = ["--quiet", "report", "--db", str(db), "--timepoint", "week_8", "--out", str(tmp / code.name)]
    code.timed(CLI, *rerun, env=env)  # rendered once: a rerun shows what the first drew
    query = [code.timed(CLI, "query", "--db", str(db), "select 1", env=env) for _ in range(runs)]
    report_s = [code.timed(CLI, *rerun, env=env) for _ in range(runs)]
    q, r = statistics.median(query), statistics.median(report_s)
    return {"query_s": round(q, 3), "report_s": round(r, 3), "report_ratio": round(r / q, 2)}


def report(results: list[dict], names: list[str]) -> None:
    print("| participants | floor (s) | code | night (s) | night / floor | refresh (s) | CPU (s) | first (s) | goals |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|---|")
    for r in results:
        for name in names:
            m = r[name]
            goal = REFRESH_GOALS.get(r["participants"])
            goals = [f"refresh <= {goal:g} s: {_met(m['refresh_s'], goal)}"] if goal else []
            if r["participants"] >= 20000:
                goals.append(f"night <= {NIGHT_GOAL:g}x floor: {_met(m['night_ratio'], NIGHT_GOAL)}")
            if "report_ratio" in m:
                goals.append(f"report rerun <= {REPORT_GOAL:g}x query: {_met(m['report_ratio'], REPORT_GOAL)}")
            print(
                f"| {r['participants']} | {r['floor_s']:.2f} | {name} | {m['night_s']:.2f} | {m['night_ratio']:.2f} "
                f"| {m['refresh_s']:.2f} | {m['refresh_cpu_s']:.2f} | {m['cold_s']:.2f} | {'; '.join(goals)} |"
            )


def _met(value: float, goal: float) -> str:
    return f"{'met' if value <= goal else 'MISSED'} ({value:g})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, nargs="+", default=[84, 20000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--old", default="a42ddc0", help="The older revision (git) to measure beside this tree.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="runback-goals-") as folder:
        tmp = Path(folder)
        env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_HOME": str(tmp / "prefect-home")}
        env["RUNBACK_KEY"] = str(tmp / "key" / "allocation.key")
        env.pop("PREFECT_API_URL", None)
        os.environ["RUNBACK_KEY"] = env["RUNBACK_KEY"]
        codes = [Code(f"old {args.old}".replace(" ", "-"), old_checkout(args.old), tmp), Code("new", ROOT, tmp)]
        results = []
        for n in args.participants:
            results.append(measure(n, codes, args.runs, tmp, env))
            print(f"measured {n} participants: {json.dumps(results[-1])}", file=sys.stderr)
    report(results, [code.name for code in codes])
    load = os.getloadavg()
    out = {"old": args.old, "runs": args.runs, "load_average": [round(x, 2) for x in load], "results": results}
    (ROOT / "bench" / "goals_results.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
