"""Time to render a follow-up report (HTML, both timepoints), past start-up.

Run: .venv/bin/python bench/report_render.py [--participants 84] [--runs 5]
Simulates the trial, ingests its last night, analyses it, then times the report tasks (gather,
charts, render) for week_8 and month_6: median of runs after one warm-up render.
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
from flows.blinding import new_key  # noqa: E402
from flows.followup_report import allocation_arms, draw, gather, render  # noqa: E402
from flows.nightly_ingest import ingest_export  # noqa: E402
from flows.project import load_project  # noqa: E402
from flows.settings import PROJECT_DIR  # noqa: E402
from flows.simulate import simulate  # noqa: E402
from flows.warehouse import connect  # noqa: E402


def render_once(db: Path, timepoint: str, key: Path) -> int:
    arms = allocation_arms.fn(True, str(key))
    context = gather.fn(str(db), 1, timepoint, arms)
    return len(render.fn(context, draw.fn(context)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=84)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sim = simulate(Path(tmp), participants=args.participants, seed=1, nights=2)
        db = Path(tmp) / "w.duckdb"
        ingest_export.fn(str(sim.files[-1]), str(db), str(PROJECT_DIR))
        with connect(db) as con:
            refresh_analysis(con, load_project(), 1)
        key = Path(tmp) / "allocation.key"
        new_key(key)
        for timepoint in ("week_8", "month_6"):
            size = render_once(db, timepoint, key)  # warm-up
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                render_once(db, timepoint, key)
                times.append(time.perf_counter() - start)
            print(
                f"report {timepoint}, {args.participants} participants: median {statistics.median(times):.3f} s "
                f"(min {min(times):.3f}, max {max(times):.3f}, {args.runs} runs; {size / 1024:.0f} KiB)"
            )


if __name__ == "__main__":
    main()
