"""Benchmark: the MNAR sensitivity analysis's stability and its cost in the refresh.

Simulates the 84-participant trial (`simulate(participants=84, seed=5, nights=3)`: at its newest
cut one pair's PSFS contrast at week 8 is significant under MAR, so it has a tipping delta), ingests
it, and measures:

- refresh: `refresh_analysis` of the newest cut, each run on a fresh copy of the warehouse, after
  one warm-up, best of --runs (what a nightly run adds to its ingest);
- spread: the delta-adjusted MI of PSFS at week 8 (`models.delta_mi_rows`) with --seeds imputation
  seeds: each tipping delta's mean, its SD and range across the seeds, its reported Monte-Carlo
  error (median, largest) and the imputations used, against the plan's bound
  (`plan.TIPPING_MC_BOUND`), and the analysis's time (the MMRM fit, shared with the MMRM's rows,
  left out).

Run: .venv/bin/python bench/tipping.py [--runs 3] [--seeds 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def refresh_times(db: Path, runs: int) -> list[float]:
    """Seconds of `refresh_analysis` of the newest cut, each on a fresh copy; the first a warm-up."""
    from runback.flows.analyse.refresh import refresh_analysis
    from runback.flows.ingest.project import load_project
    from runback.flows.warehouse import connect

    study, seconds = load_project(), []
    for i in range(runs + 1):
        copy = db.with_name(f"copy{i}.duckdb")
        shutil.copy(db, copy)
        with connect(copy) as con:
            cut = con.execute("select max(cut_id) from meta.data_cuts").fetchone()[0]
            start = time.perf_counter()
            refresh_analysis(con, study, cut)
            seconds.append(time.perf_counter() - start)
        copy.unlink()
    return seconds[1:]


def spread(db: Path, seeds: int) -> None:
    """The tipping deltas of PSFS at week 8 over `seeds` imputation seeds, printed."""
    from threadpoolctl import threadpool_limits

    from runback.flows.analyse import missing, models
    from runback.flows.analyse.refresh import refresh_analysis
    from runback.flows.ingest.project import load_project
    from runback.flows.warehouse import connect, sql
    from runback.schemas import plan

    with connect(db) as con:
        cut = con.execute("select max(cut_id) from meta.data_cuts").fetchone()[0]
        refresh_analysis(con, load_project(), cut)
        inputs = {k: con.execute(sql(f"analyse/model_{k}"), {"cut": cut}).df() for k in ("outcomes", "participants")}
        inputs["due"] = con.execute(sql("analyse/model_due"), {"cut": cut}).df()
        arms = tuple(r[0] for r in con.execute(sql("analyse/model_arms"), {"cut": cut}).fetchall())
    planned = models.plan_fits(inputs["outcomes"], inputs["participants"], arms, None, inputs["due"])
    rows = next(f.rows for f in planned if f.model == plan.DELTA_MI and f.param == "PSFS")
    found, seconds = {}, []
    with threadpool_limits(limits=1, user_api="blas"):
        models._mmrm(rows, arms, plan.PRIMARY_TIMEPOINT)
        for seed in range(seeds):
            missing.SEED = seed
            start = time.perf_counter()
            result = models.delta_mi_rows(rows, arms, plan.PRIMARY_TIMEPOINT, plan.ITT, "PSFS")
            seconds.append(time.perf_counter() - start)
            for r in result:
                if r["term"].startswith("tipping delta") and r["estimate"] is not None:
                    found.setdefault(r["term"], []).append((r["estimate"], r["mc_error"], r["imputations"]))
    for term, values in found.items():
        delta, error, m = (np.array(v, dtype=float) for v in zip(*values, strict=True))
        print(
            f"PSFS {term}: {delta.mean():.4f} MCID, SD across {seeds} seeds {delta.std(ddof=1):.4f} "
            f"(range {delta.min():.4f} to {delta.max():.4f}); reported Monte-Carlo error median "
            f"{np.median(error):.4f}, largest {error.max():.4f}; bound {plan.TIPPING_MC_BOUND}; "
            f"imputations {int(m.min())} to {int(m.max())}"
        )
    print(f"delta-adjusted MI of one outcome: median {statistics.median(seconds):.3f} s, largest {max(seconds):.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="runback-tipping-") as folder:
        tmp = Path(folder)
        os.environ["RUNBACK_KEY"] = str(tmp / "key" / "allocation.key")
        from runback.flows.ingest.files import find_exports
        from runback.flows.ingest.pipeline import ingest_file
        from runback.flows.settings import PROJECT_DIR
        from runback.flows.simulate import simulate

        simulate(tmp / "exports", participants=84, seed=5, nights=3)
        db = tmp / "w.duckdb"
        for entry in find_exports([tmp / "exports"]):
            ingest_file(entry, db, PROJECT_DIR)
        seconds = refresh_times(db, args.runs)
        print(f"refresh of the newest cut: best {min(seconds):.3f} s of {[round(s, 3) for s in seconds]}")
        spread(db, args.seeds)


if __name__ == "__main__":
    sys.exit(main())
