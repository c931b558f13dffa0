"""Estimates of the GEE on a large simulated trial beside the published per-step effects.

Run: .venv/bin/python bench/published_effects.py [--participants 3000] [--seed 7]
Prints a markdown table (used in docs/analysis.md). Not a test: the test is
tests/flows/test_published_effects.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.analysis import refresh_analysis  # noqa: E402
from flows.nightly_ingest import ingest_export  # noqa: E402
from flows.project import load_project  # noqa: E402
from flows.settings import PROJECT_DIR  # noqa: E402
from flows.simulate import simulate  # noqa: E402
from flows.warehouse import connect  # noqa: E402
from tests.flows.test_published_effects import PUBLISHED  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sim = simulate(Path(tmp), participants=args.participants, seed=args.seed, nights=2)
        db = Path(tmp) / "w.duckdb"
        ingest_export.fn(str(sim.files[-1]), str(db), str(PROJECT_DIR))
        with connect(db) as con:
            refresh_analysis(con, load_project(), 1)
        with duckdb.connect(str(db), read_only=True) as con:
            rows = con.execute(
                "select param, term, estimate, ci_low, ci_high from latest.model_results "
                "where model = 'GEE' and population = 'ITT' and timepoint = 'month_6'"
            ).fetchall()
    found = {(p, t): (e, lo, hi) for p, t, e, lo, hi in rows}
    print(f"GEE, ITT, all five assessments; simulated trial of {args.participants} (seed {args.seed})\n")
    print("| parameter | term | published | estimate | 95% CI | covered |")
    print("|---|---|---:|---:|---|---|")
    for (param, term), published in PUBLISHED.items():
        est, low, high = found[(param, term)]
        covered = "yes" if low <= published <= high else "**no**"
        print(f"| {param} | {term} | {published:+.3f} | {est:+.3f} | {low:+.3f} to {high:+.3f} | {covered} |")


if __name__ == "__main__":
    main()
