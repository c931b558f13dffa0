"""Estimates of the GEE on a large simulated trial beside the published per-step effects.

Run: .venv/bin/python bench/published_effects.py [--participants 3000] [--seed 7]
Prints a markdown table (used in docs/analysis.md). Not a test: the test is
tests/unit/flows/analyse/test_published_effects.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("RUNBACK_KEY", str(Path(tempfile.mkdtemp(prefix="runback-bench-key-")) / "allocation.key"))

from runback.flows.ingest.project import load_project  # noqa: E402
from tests.unit.flows.analyse.test_published_effects import PUBLISHED, gee_estimates  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        found = gee_estimates(Path(tmp), load_project(), args.participants, args.seed)
    print(f"GEE, ITT, all five assessments; simulated trial of {args.participants} (seed {args.seed})\n")
    print("| parameter | term | published | estimate | 95% CI | covered |")
    print("|---|---|---:|---:|---|---|")
    for (param, term), published in PUBLISHED.items():
        est, low, high = found[(param, term)]
        covered = "yes" if low <= published <= high else "**no**"
        print(f"| {param} | {term} | {published:+.3f} | {est:+.3f} | {low:+.3f} to {high:+.3f} | {covered} |")


if __name__ == "__main__":
    main()
