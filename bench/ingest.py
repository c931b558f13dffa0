"""Benchmark: runback's ingest against DuckDB's own load of the same export.

For each size (participants randomised) it simulates the trial, takes the last night's export and
measures, in this process after a warm-up, median of --runs runs:

- floor: DuckDB `read_csv(all_varchar=true)` of the file into a table on disk;
- ingest: runback's read + validate + load of the same file (the `ratio` column: ingest / floor);
- runback's phases: read (bytes -> text table, header check), validate (split + pandera + rules),
  load (one transaction into a fresh warehouse), analysis refresh (SQL tables and every model
  fitted; `fits` counts them), report render (both timepoints); and the per-arm summary query;
- the analysis refresh of a next night whose export changes one adverse event's description
  (every table computed, every model fitted: `unchanged_fitted`);
- peak memory (RSS) of one ingest, in a child process;
- the whole `runback ingest` command (a new process, not tracked by a Prefect server) for a
  new night over the history (`--nights`), for no new export and for a file already seen, each
  also as time past the command's start-up (`runback --version`); `whole_ratio` is
  the new night's time past start-up (ingest and analysis) over the floor.

Prints a table (medians, ratios to the floor) and writes bench/results.json.

Run: .venv/bin/python bench/ingest.py [--participants 84 2000 20000] [--runs 3] [--analysis-only]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RUNBACK_KEY", str(Path(tempfile.mkdtemp(prefix="runback-bench-key-")) / "allocation.key"))

import duckdb  # noqa: E402

from runback.flows.analyse.refresh import refresh_analysis  # noqa: E402
from runback.flows.ingest.pipeline import ingest_file  # noqa: E402
from runback.flows.ingest.project import load_project  # noqa: E402
from runback.flows.ingest.read import read_export  # noqa: E402
from runback.flows.ingest.split import split_export  # noqa: E402
from runback.flows.ingest.validate import validate_export  # noqa: E402
from runback.flows.report.make import allocation_arms, draw, gather, render  # noqa: E402
from runback.flows.settings import PROJECT_DIR  # noqa: E402
from runback.flows.simulate import simulate  # noqa: E402
from runback.flows.warehouse import connect  # noqa: E402
from runback.schemas.rules import Context  # noqa: E402

RUNBACK = Path(sys.executable).parent / "runback"
SUMMARY_QUERY = (
    "select arm, visit, param, n, mean, sd, chg_mean, chg_ci_low, chg_ci_high "
    "from latest.outcome_summary order by param, arm, step"
)
PEAK_CHILD = """
import sys
from runback.flows.ingest.pipeline import ingest_file
ingest_file(sys.argv[1], sys.argv[2], sys.argv[3])
# VmHWM: this process's own peak (ru_maxrss would carry the parent's peak over the fork)
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")))
"""


def median_time(fn, runs: int, warm_up: bool = True) -> float:
    if warm_up:
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def floor(path: Path, tmp: Path) -> None:
    db = tmp / "floor.duckdb"
    db.unlink(missing_ok=True)
    with duckdb.connect(str(db)) as con:
        con.execute("create table export as select * from read_csv($p, all_varchar = true)", {"p": str(path)})


def measure(participants: int, runs: int, nights: int, tmp: Path, analysis_only: bool = False) -> dict:
    sim = simulate(tmp / f"exports{participants}", participants=participants, seed=1, nights=nights)
    path = sim.files[-1]
    study = load_project()
    data = path.read_bytes()
    result = {"participants": participants, "file_mb": round(len(data) / 1e6, 1), "rows": data.count(b"\n") - 1}
    result["floor_s"] = median_time(lambda: floor(path, tmp), runs)
    if analysis_only:
        result |= analysis(path, tmp, participants, study, runs) | whole_command(sim.files, tmp, participants, runs)
        return result | {"whole_ratio": round(result["past_startup_new_night_s"] / result["floor_s"], 2)}
    result["read_s"] = median_time(lambda: read_export(path, study, data), runs)
    export = read_export(path, study, data)
    result["validate_s"] = median_time(lambda: validate_export(split_export(export, study), study, Context(None)), runs)
    parts = split_export(export, study)
    checked = validate_export(parts, study, Context(None))

    def load_fresh():
        from runback.flows.ingest import load

        db = tmp / "load.duckdb"
        db.unlink(missing_ok=True)
        with connect(db) as con:
            load.load_export(con, export, parts, checked, study)

    result["load_s"] = median_time(load_fresh, runs)
    result |= analysis(path, tmp, participants, study, runs)
    db = tmp / f"w{participants}.duckdb"

    def report():
        # blinded: the warehouse holds the letters
        arms = allocation_arms(True, None, str(db), "closed", logging.getLogger("runback"))
        for timepoint in ("week_8", "month_6"):
            context = gather(str(db), 1, timepoint, arms)
            render(context, draw(str(db), context)[0])  # nothing kept: every chart drawn

    result["report_s"] = median_time(report, runs) / 2  # per report
    with duckdb.connect(str(db), read_only=True) as con:
        result["summary_query_s"] = median_time(lambda: con.execute(SUMMARY_QUERY).fetchall(), max(runs, 5))
    result["ingest_s"] = result["read_s"] + result["validate_s"] + result["load_s"]
    result["ratio"] = round(result["ingest_s"] / result["floor_s"], 2)
    result["peak_rss_mb"] = peak_rss(path, tmp)
    result |= whole_command(sim.files, tmp, participants, runs)
    result["whole_ratio"] = round(result["past_startup_new_night_s"] / result["floor_s"], 2)
    result |= nightly_in_process(sim.files, tmp, participants)
    return result


def analysis(path: Path, tmp: Path, participants: int, study, runs: int) -> dict:
    """The analysis refresh of a new cut, the first (every table computed, every model fitted: no
    earlier cut to share with), each run on a fresh copy of the ingested warehouse; then of the next
    night's that changes nothing a model reads."""
    db = tmp / f"w{participants}.duckdb"
    db.unlink(missing_ok=True)
    ingest_file(str(path), str(db), str(PROJECT_DIR))
    seconds, done = refresh_new_cut(db, study, 1, runs)
    return {"analysis_s": seconds, "fits": done.fitted} | unchanged_night(path, db, study, runs)


def refresh_new_cut(db: Path, study, cut: int, runs: int):
    """Median time of the analysis refresh of a cut not analysed yet: each run (after a warm-up) on
    a fresh copy of the warehouse, which is left analysed. The median and the last run's result."""
    ingested = db.with_name(f"{db.stem}-ingested.duckdb")
    shutil.copy(db, ingested)
    times = []
    for _ in range(runs + 1):
        shutil.copy(ingested, db)
        with connect(db) as con:
            start = time.perf_counter()
            done = refresh_analysis(con, study, cut)
            times.append(time.perf_counter() - start)
    ingested.unlink()
    return statistics.median(times[1:]), done


def unchanged_night(path: Path, db: Path, study, runs: int) -> dict:
    """The next night's export changes one adverse event's description: the analysis refresh of its
    cut (every table computed and every model fitted, as for any new cut)."""
    when = dt.datetime.strptime(path.stem.removeprefix("RUNBACK_DATA_"), "%Y-%m-%d_%H%M") + dt.timedelta(days=1)
    night = path.with_name(f"RUNBACK_DATA_{when:%Y-%m-%d_%H%M}.csv")
    with path.open(newline="", encoding="utf-8") as source, night.open("w", newline="", encoding="utf-8") as out:
        reader, writer = csv.reader(source), csv.writer(out, lineterminator="\n")
        header = next(reader)
        writer.writerow(header)
        column, changed = header.index("ae_desc"), False
        for row in reader:
            if not changed and row[column]:
                row[column], changed = row[column] + " (wording corrected)", True
            writer.writerow(row)
    loaded = ingest_file(str(night), str(db), str(PROJECT_DIR))
    assert loaded.status == "loaded", loaded
    cut = loaded.data_cut
    seconds, done = refresh_new_cut(db, study, cut, runs)
    return {"unchanged_analysis_s": seconds, "unchanged_fitted": done.fitted}


def peak_rss(path: Path, tmp: Path) -> float:
    db = tmp / "peak.duckdb"
    db.unlink(missing_ok=True)
    out = subprocess.run(
        [sys.executable, "-c", PEAK_CHILD, str(path), str(db), str(PROJECT_DIR)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return round(int(out.stdout.strip().splitlines()[-1]) / 1024, 1)


def whole_command(files: list[Path], tmp: Path, participants: int, runs: int) -> dict:
    """`runback ingest` as a user runs it (a new process, no Prefect server: not tracked), against
    the command's start-up: `runback --version`. Past start-up = the command's time minus that.
    The new night is ingested into a fresh copy of the warehouse that holds the history, each run."""
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_HOME": str(tmp / "prefect-home")}
    env.pop("PREFECT_API_URL", None)
    startup = statistics.median(_timed([str(RUNBACK), "--version"], env) for _ in range(3))
    history, db = tmp / f"history{participants}.duckdb", tmp / f"cmd{participants}.duckdb"
    history.unlink(missing_ok=True)
    _timed([str(RUNBACK), "ingest", "--db", str(history), *map(str, files[:-1])], env)
    nights = []
    for _ in range(runs):
        shutil.copy(history, db)
        nights.append(_timed([str(RUNBACK), "ingest", "--db", str(db), str(files[-1])], env))
    new_night = statistics.median(nights)
    empty = tmp / "empty-inbox"
    empty.mkdir(exist_ok=True)
    no_export = statistics.median(_timed([str(RUNBACK), "ingest", "--db", str(db), str(empty)], env) for _ in range(3))
    same_file = statistics.median(
        _timed([str(RUNBACK), "ingest", "--db", str(db), str(files[-1])], env) for _ in range(3)
    )
    return {
        "startup_s": round(startup, 2),
        "command_new_night_s": round(new_night, 2),
        "past_startup_new_night_s": round(new_night - startup, 2),
        "past_startup_no_export_s": round(no_export - startup, 2),
        "past_startup_same_file_s": round(same_file - startup, 2),
    }


def nightly_in_process(files: list[Path], tmp: Path, participants: int, runs: int = 3) -> dict:
    """The nightly flow with no new export, and with a file already seen, against an empty flow, all
    in one process after a warm-up: the work past Prefect's per-run cost, without process noise."""
    from prefect import flow

    from runback.flows.nightly_ingest import nightly_ingest

    @flow(name="empty")
    def empty() -> None:
        return None

    db = tmp / f"inproc{participants}.duckdb"
    db.unlink(missing_ok=True)
    ingest_file(str(files[-1]), str(db), str(PROJECT_DIR))
    inbox = tmp / "empty-inbox"
    inbox.mkdir(exist_ok=True)
    base = median_time(empty, runs)
    no_export = median_time(lambda: nightly_ingest(paths=[str(inbox)], db=str(db), return_state=True), runs)
    same_file = median_time(lambda: nightly_ingest(paths=[str(files[-1])], db=str(db), return_state=True), runs)
    return {
        "flow_run_s": round(base, 3),
        "in_process_no_export_s": round(no_export - base, 3),
        "in_process_same_file_s": round(same_file - base, 3),
    }


def _timed(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, capture_output=True, check=False, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, nargs="+", default=[84, 2000, 20000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--nights", type=int, default=3, help="Nights simulated (the last is the new one).")
    parser.add_argument(
        "--analysis-only",
        action="store_true",
        help="Only floor, analysis refresh, whole command (bench/analysis_results.json)",
    )
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.participants:
            results.append(measure(n, args.runs, args.nights, Path(tmp), args.analysis_only))
            print(f"measured {n} participants: {results[-1]}", file=sys.stderr)
    if args.analysis_only:
        (ROOT / "bench" / "analysis_results.json").write_text(json.dumps(results, indent=2) + "\n")
        return
    header = [
        "participants",
        "file_mb",
        "rows",
        "floor_s",
        "read_s",
        "validate_s",
        "load_s",
        "ingest_s",
        "ratio",
        "analysis_s",
        "fits",
        "unchanged_analysis_s",
        "unchanged_fitted",
        "report_s",
        "summary_query_s",
        "peak_rss_mb",
        "startup_s",
        "command_new_night_s",
        "past_startup_new_night_s",
        "whole_ratio",
        "past_startup_no_export_s",
        "past_startup_same_file_s",
        "in_process_no_export_s",
        "in_process_same_file_s",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---:|" * len(header))
    for r in results:
        print("| " + " | ".join(f"{r[h]:.3f}" if isinstance(r[h], float) else str(r[h]) for h in header) + " |")
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
