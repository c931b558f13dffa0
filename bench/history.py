"""Benchmark: what a long history costs the nightly refresh.

Simulates the trial (`simulate(participants=N, seed=1, nights=1)`) and ingests its export again as
--nights later nights, each a day after the one before and each with one adverse event's wording
changed (so each makes a data cut, with the same quarantined rows and flags as the others). On the
warehouse of the last night it then measures, in this process, medians of --runs runs, each in a
transaction rolled back afterwards:

- the data queries' statement (`sql/analyse/data_queries.sql`) of this working tree, and with
  --against REV that of git revision REV beside it, interleaved, on the same warehouse (the rows
  they give are compared: equal or the run fails);
- the analysis refresh of the last night's cut, on a copy of the warehouse analysed up to the
  night before (the tables shared or updated from it, no model fitted).

Warehouses are kept in --folder (built once per size and number of nights; delete it to rebuild).

Run: .venv/bin/python bench/history.py [--participants 2000] [--nights 30] [--runs 5] [--against REV]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
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
from runback.flows.settings import PROJECT_DIR  # noqa: E402
from runback.flows.simulate import simulate  # noqa: E402
from runback.flows.warehouse import connect, sql  # noqa: E402

FAILURES = "select (select count(*) from quarantine.rows) + (select count(*) from quarantine.flags)"


def build(folder: Path, participants: int, nights: int) -> tuple[Path, Path]:
    """The warehouse of every night, analysed up to the night before the last, and a copy of it (the
    refresh's runs start from the copy)."""
    db, before = folder / f"history{participants}x{nights}.duckdb", folder / f"analysed{participants}x{nights}.duckdb"
    if db.exists() and before.exists():
        return db, before
    db.unlink(missing_ok=True)
    last = simulate(folder / f"exports{participants}", participants=participants, seed=1, nights=1).files[-1]
    rows = list(csv.reader(io.StringIO(last.read_text(encoding="utf-8"))))
    column = rows[0].index("ae_desc")
    first = next(row for row in rows[1:] if row[column])
    wording, start = first[column], dt.datetime.strptime(last.stem.removeprefix("RUNBACK_DATA_"), "%Y-%m-%d_%H%M")
    for night in range(1, nights + 1):
        first[column] = f"{wording} (wording {night})"
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        path = last.with_name(f"RUNBACK_DATA_{start + dt.timedelta(days=night):%Y-%m-%d_%H%M}.csv")
        path.write_text(out.getvalue(), encoding="utf-8")
        loaded = ingest_file(str(path), str(db), str(PROJECT_DIR))
        assert loaded.status == "loaded", loaded
        if night == nights - 1:
            with connect(db) as con:
                refresh_analysis(con, load_project(), loaded.data_cut)
        print(f"night {night} of {nights}: data cut {loaded.data_cut}", flush=True)
    shutil.copy(db, before)
    return db, before


def statement_time(con, text: str, cut: int, runs: int) -> tuple[float, list]:
    times, rows = [], []
    for _ in range(runs):
        con.execute("begin")
        start = time.perf_counter()
        con.execute(text, {"cut": cut})
        times.append(time.perf_counter() - start)
        rows = con.execute(
            "select * from analysis.data_queries_rows where data_cut = $c order by all", {"c": cut}
        ).fetchall()
        con.execute("rollback")
    return statistics.median(times), rows


def refresh_time(before: Path, folder: Path, cut: int, runs: int):
    study, times = load_project(), []
    for _ in range(runs + 1):
        copy = folder / "refresh.duckdb"
        shutil.copy(before, copy)
        with connect(copy) as con:
            start = time.perf_counter()
            done = refresh_analysis(con, study, cut)
            times.append(time.perf_counter() - start)
    return statistics.median(times[1:]), done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--nights", type=int, default=30, help="Nights ingested, each a data cut.")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--against", help="A git revision whose data queries' statement to time beside this one.")
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "runback-bench-history")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    db, before = build(args.folder, args.participants, args.nights)
    with duckdb.connect(str(db)) as con:
        cut = con.execute("select max(cut_id) from meta.data_cuts").fetchall()[0][0]
        (failures,) = con.execute(FAILURES).fetchall()[0]
        print(f"{args.participants} participants, {cut} data cuts, {failures:,} failures in the history")
        texts = {"now": sql("analyse/data_queries")}
        if args.against:
            shown = f"{args.against}:sql/analyse/data_queries.sql"
            texts[args.against] = subprocess.run(
                ["git", "-C", str(ROOT), "show", shown], capture_output=True, text=True, check=True
            ).stdout
        times, found = {name: [] for name in texts}, {}
        for _ in range(args.runs):  # interleaved
            for name, text in texts.items():
                seconds, found[name] = statement_time(con, text, cut, 1)
                times[name].append(seconds)
        for name in texts:
            median = statistics.median(times[name])
            print(f"data queries' statement ({name}): {median:.4f} s, {len(found[name]):,} rows")
        assert all(rows == found["now"] for rows in found.values()), "the statements give different rows"
    seconds, done = refresh_time(before, args.folder, cut, args.runs)
    print(f"refresh of the last night's cut: {seconds:.3f} s (fits {done.fitted})")


if __name__ == "__main__":
    main()
