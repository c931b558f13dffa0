"""Benchmark: the model fits of one analysis refresh (`models.fit_all`, all 51 fitted, none copied).

For each size (participants randomised) it simulates the trial (`simulate(participants=N, seed=1,
nights=3)`), ingests the last night's export into a fresh warehouse and analyses its cut, as
bench/ingest.py does, then calls `fit_all` with the inputs `refresh_analysis` gives it and measures,
in this process after a warm-up, the median of --runs runs (one BLAS thread, as the refresh fits):
wall clock and the process's CPU time.

With --against REV it also loads the fitting code of git revision REV (flows/analyse/models.py,
mmrm.py, clustered.py, missing.py) beside the working tree's, times both interleaved (one of each
in turn, so load on a shared machine affects both alike) and checks that their results agree: the
labels and counts equal, every number equal to 1e-8 relative (the largest difference is printed).
--profile prints cProfile's view of one run of the working tree's fits.

Warehouses are kept in --folder (built once per size; delete the folder to rebuild).

Run: .venv/bin/python bench/fits.py [--participants 84 2000 20000] [--runs 5] [--against main] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import os
import pickle
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FITTING = ("models", "mmrm", "clustered", "missing")
LABELS = [
    "model",
    "population",
    "timepoint",
    "param",
    "visit",
    "term",
    "status",
    "note",
    "role",
    "n_obs",
    "n_participants",
]
NUMBERS = ["estimate", "std_error", "df", "ci_low", "ci_high", "p_value", "p_adjusted"]


def inputs(participants: int, folder: Path) -> dict:
    """fit_all's arguments for the last night's cut of the simulated trial, as refresh_analysis gives them."""
    saved = folder / f"inputs{participants}.pkl"
    if saved.exists():
        return pickle.loads(saved.read_bytes())
    os.environ.setdefault("RUNBACK_KEY", str(folder / f"key{participants}" / "allocation.key"))
    from runback.flows.analyse.refresh import measured_visits, refresh_analysis
    from runback.flows.ingest.pipeline import ingest_file
    from runback.flows.ingest.project import load_project
    from runback.flows.settings import PROJECT_DIR
    from runback.flows.simulate import simulate
    from runback.flows.warehouse import connect, rows, sql

    sim = simulate(folder / f"exports{participants}", participants=participants, seed=1, nights=3)
    db = folder / f"w{participants}.duckdb"
    db.unlink(missing_ok=True)
    cut = ingest_file(str(sim.files[-1]), str(db), str(PROJECT_DIR)).data_cut
    with connect(db) as con:
        refresh_analysis(con, load_project(), cut)  # the analysis tables the fits read
        found = {
            "outcomes": con.execute(sql("analyse/model_outcomes"), {"cut": cut}).df(),
            "participants": con.execute(sql("analyse/model_participants"), {"cut": cut}).df(),
            "arms": [row[0] for row in rows(con, "analyse/model_arms", {"cut": cut})],
            "measured": measured_visits(load_project()),
        }
    saved.write_bytes(pickle.dumps(found))
    return found


def against(revision: str, folder: Path):
    """The fitting code of a git revision, importable beside the working tree's as `against_<rev>.models`."""
    name = "against_" + "".join(c if c.isalnum() else "_" for c in revision)
    package = folder / "revisions" / name
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    for module in FITTING:
        text = subprocess.run(
            ["git", "show", f"{revision}:flows/analyse/{module}.py"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        text = text.replace("from runback.flows.analyse import", f"from {name} import")
        text = text.replace("from runback.flows.analyse.mmrm import", f"from {name}.mmrm import")
        (package / f"{module}.py").write_text(text)
    sys.path.insert(0, str(package.parent))
    return importlib.import_module(f"{name}.models")


def compare(expected, got) -> float:
    """The largest relative difference between two fit_all results (labels and counts must be equal)."""
    assert len(expected) == len(got), (len(expected), len(got))
    for column in LABELS:
        a, b = expected[column].astype(object).fillna("").astype(str), got[column].astype(object).fillna("").astype(str)
        assert (a.to_numpy() == b.to_numpy()).all(), column
    worst = 0.0
    for column in NUMBERS:
        a, b = expected[column].to_numpy(float), got[column].to_numpy(float)
        assert (np.isnan(a) == np.isnan(b)).all(), column
        known = ~np.isnan(a)
        difference = np.abs(a[known] - b[known]) / np.maximum(np.abs(a[known]), 1e-300)
        worst = max(worst, float(difference.max(initial=0.0)))
    assert worst <= 1e-8, worst
    return worst


def timed(fit_all, arguments: dict) -> tuple[float, float]:
    """Seconds of one call: wall clock, and the CPU time of this process (on a shared machine less
    disturbed by the other work than the wall clock; the fits run on one thread)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fit_all(**arguments)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, nargs="+", default=[84, 2000, 20000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--against", help="A git revision whose fits to time and check against.")
    parser.add_argument("--profile", action="store_true", help="Print cProfile's view of one run.")
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "runback-bench-fits")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    from runback.flows.analyse import models

    print(f"import of the fitting code: {time.perf_counter() - start:.2f} s")
    other = against(args.against, args.folder) if args.against else None
    compared = f" {args.against} (s) | CPU (s) | ratio (CPU) | largest difference |" if other else ""
    print("| participants | fits (s) | CPU (s) |" + compared)
    print("|---:|---:|---:|" + ("---:|---:|---:|---:|" if other else ""))
    for n in args.participants:
        arguments = inputs(n, args.folder)
        ours = models.fit_all(**arguments)  # the warm-up
        times, theirs = [], []
        worst = compare(other.fit_all(**arguments).results, ours.results) if other else None
        for _ in range(args.runs):
            times.append(timed(models.fit_all, arguments))
            if other:
                theirs.append(timed(other.fit_all, arguments))
        wall, cpu = (statistics.median(t) for t in zip(*times))
        line = f"| {n} | {wall:.3f} | {cpu:.3f} |"
        if other:
            their_wall, their_cpu = (statistics.median(t) for t in zip(*theirs))
            line += f" {their_wall:.3f} | {their_cpu:.3f} | {their_cpu / cpu:.1f}x | {worst:.1e} |"
        print(line, flush=True)
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(models.fit_all, **arguments)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
