"""Time to refresh the analysis of one data cut (SQL tables + models), past start-up.

Run: .venv/bin/python bench/analysis_refresh.py [--participants 84] [--runs 5]
Simulates the trial, ingests its last night, then times `refresh_analysis` (median of runs, after
one warm-up run that pays the imports and first-call costs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.analysis import refresh_analysis  # noqa: E402
from flows.nightly_ingest import ingest_export  # noqa: E402
from flows.project import load_project  # noqa: E402
from flows.settings import PROJECT_DIR  # noqa: E402
from flows.simulate import simulate  # noqa: E402
from flows.warehouse import connect  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=84)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    study = load_project()
    with tempfile.TemporaryDirectory() as tmp:
        sim = simulate(Path(tmp), participants=args.participants, seed=1, nights=2)
        db = Path(tmp) / "w.duckdb"
        ingest_export.fn(str(sim.files[-1]), str(db), str(PROJECT_DIR))
        with connect(db) as con:
            refresh_analysis(con, study, 1)  # warm-up
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                refresh_analysis(con, study, 1)
                times.append(time.perf_counter() - start)
    print(
        f"analysis refresh, {args.participants} participants: median {statistics.median(times):.3f} s "
        f"(min {min(times):.3f}, max {max(times):.3f}, {args.runs} runs)"
    )


if __name__ == "__main__":
    main()
