"""Check: a cut's `analysis.model_results` in two warehouses are the same results (not a test: run it
by hand after a change to the fitting code, on warehouses analysed before and after it).

With --refit REV, BEFORE is one warehouse (the demo's: `runback demo`, `data/demo/runback.duckdb`):
two copies of it have the cut analysed again (`refresh_analysis`), one with the fitting code of git
revision REV (bench/fits.py loads it), one with the working tree's, and those are compared. (Two
runs of `runback demo` cannot be compared: each makes a new allocation key, so the arms' letters
differ.)

Rows are matched by the table's declared key (model, population, timepoint, parameter, visit, term
and, for the tipping grid, the two arms' shifts); their labels and counts
(role, status, note, n_obs, n_participants) must be equal and every number (estimate, std_error,
df, ci_low, ci_high, p_value, p_adjusted) equal to --tolerance relative (absolute below 1e-300),
missing in both or in neither. `fit_hash` is left out: it names the code, which changed. Prints the
largest relative difference per column; exits 1 when a row or value differs.

Run: .venv/bin/python bench/model_results_check.py BEFORE.duckdb AFTER.duckdb [--cut N] [--tolerance 1e-8]
     .venv/bin/python bench/model_results_check.py data/demo/runback.duckdb --refit main [--cut N]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import duckdb
import numpy as np

from runback.flows.analyse.tables import DECLARED

KEY = list(next(t.key for t in DECLARED if t.name == "model_results"))  # the table's declared key
LABELS = ["role", "status", "note", "n_obs", "n_participants"]
NUMBERS = ["estimate", "std_error", "df", "ci_low", "ci_high", "p_value", "p_adjusted"]


def results(db: str, cut: int | None):
    with duckdb.connect(db, read_only=True) as con:
        cut = cut if cut is not None else con.execute("select max(data_cut) from analysis.model_results").fetchone()[0]
        columns = ", ".join(KEY + LABELS + NUMBERS)
        frame = con.execute(f"select {columns} from analysis.model_results where data_cut = $cut", {"cut": cut}).df()
    return cut, frame.astype({c: object for c in KEY}).fillna({c: "" for c in KEY}).set_index(KEY).sort_index()


def refitted(db: str, revision: str, cut: int | None, folder: Path) -> tuple[str, str]:
    """Two copies of a warehouse with the cut analysed again: by REV's fitting code, by the working tree's."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from fits import against

    from runback.flows.analyse import refresh
    from runback.flows.ingest.project import load_project
    from runback.flows.warehouse import connect

    cut = cut if cut is not None else results(db, None)[0]
    ours, theirs = refresh.models, against(revision, folder)
    copies = []
    for name, fitting in ((revision, theirs), ("working tree", ours)):
        copy = folder / f"{len(copies)}.duckdb"
        shutil.copy(db, copy)
        refresh.models = fitting
        try:
            with connect(copy) as con:
                done = refresh.refresh_analysis(con, load_project(), cut)
        finally:
            refresh.models = ours
        print(f"cut {cut} analysed again with the fitting code of {name}: {done.fitted} fits")
        copies.append(str(copy))
    return copies[0], copies[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after", nargs="?")
    parser.add_argument(
        "--refit", metavar="REV", help="Analyse BEFORE's cut again with REV's and the working tree's fits."
    )
    parser.add_argument("--cut", type=int, help="The data cut (default: the newest analysed in each).")
    parser.add_argument("--tolerance", type=float, default=1e-8)
    args = parser.parse_args()
    if args.refit:
        args.before, args.after = refitted(args.before, args.refit, args.cut, Path(tempfile.mkdtemp()))
    elif args.after is None:
        parser.error("give AFTER, or --refit REV")
    (cut_a, a), (cut_b, b) = results(args.before, args.cut), results(args.after, args.cut)
    print(f"cut {cut_a}: {len(a)} rows before, cut {cut_b}: {len(b)} rows after")
    failed = not a.index.equals(b.index)
    if failed:
        print("the rows differ:", sorted(set(a.index) ^ set(b.index))[:10])
        return 1
    for column in LABELS:
        same = a[column].astype(str).to_numpy() == b[column].astype(str).to_numpy()
        print(f"{column:15s} {'equal' if same.all() else f'{(~same).sum()} rows differ'}")
        failed |= not same.all()
    for column in NUMBERS:
        x, y = a[column].to_numpy(float), b[column].to_numpy(float)
        both = ~np.isnan(x) & ~np.isnan(y)
        difference = np.abs(x[both] - y[both]) / np.maximum(np.abs(x[both]), 1e-300)
        worst = float(difference.max(initial=0.0))
        bad = (np.isnan(x) != np.isnan(y)).sum() + (difference > args.tolerance).sum()
        print(f"{column:15s} largest relative difference {worst:.1e}" + (f", {bad} rows differ" if bad else ""))
        failed |= bool(bad)
    print("FAIL" if failed else f"same results (to {args.tolerance:g})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
