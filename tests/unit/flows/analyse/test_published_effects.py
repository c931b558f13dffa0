"""On a large simulated trial the GEE recovers the published per-step effects (study README)."""

import os
import re
from pathlib import Path

import duckdb
import pytest

from runback.flows.allocation import read_key
from runback.flows.analyse.refresh import refresh_analysis
from runback.flows.ingest.pipeline import ingest_file
from runback.flows.settings import PROJECT_DIR
from runback.flows.simulate import simulate
from runback.flows.warehouse import connect

PUBLISHED = {  # (param, term): per-step effect, Cai, Yang & Kong 2017
    ("PSFS", "slope LL"): 0.949,
    ("PSFS", "slope LE - LL"): -0.198,
    ("PSFS", "slope LS - LL"): -0.263,
    ("NPRS_RUN", "slope LL"): -0.746,
    ("NPRS_RUN", "slope LE"): -0.746,
    ("NPRS_RUN", "slope LS"): -0.746,
    ("NPRS_RUN", "slope LE - LL"): 0.0,
    ("NPRS_RUN", "slope LS - LL"): 0.0,
    ("KE_TORQUE", "slope LL"): 0.260,
}


def gee_estimates(folder, study, participants: int, seed: int) -> dict[tuple[str, str], tuple[float, float, float]]:
    """(param, term) -> (estimate, CI low, CI high) of the ITT GEE on a simulated trial, over all five
    assessments (month 6), or up to week 8 for the physical tests (measured at baseline and week 8 only)."""
    sim = simulate(folder, participants=participants, seed=seed, defects=False, nights=2)
    db = folder / "w.duckdb"
    ingest_file(str(sim.files[-1]), str(db), str(PROJECT_DIR))
    with connect(db) as con:
        refresh_analysis(con, study, 1)
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select param, term, estimate, ci_low, ci_high from latest.model_results "
            "where model = 'GEE' and population = 'ITT' order by timepoint = 'month_6'"
        ).fetchall()
    # the warehouse holds blinded letters: unblind the terms with the key it was masked with, and
    # give each difference in both orientations (the blinded fit has it later letter minus earlier)
    arm_of = {letter: arm for arm, letter in read_key(Path(os.environ["RUNBACK_KEY"])).letters.items()}
    found = {}
    for param, term, est, low, high in rows:
        named = re.sub(r"\b([ABC])\b", lambda m: arm_of[m[1]], term)
        found[(param, named)] = (est, low, high)
        pair = re.fullmatch(r"slope (\w\w) - (\w\w)", named)
        if pair:
            found[(param, f"slope {pair[2]} - {pair[1]}")] = (-est, -high, -low)
    return found


@pytest.mark.slow
def test_gee_recovers_the_published_slopes(tmp_path, study):
    found = gee_estimates(tmp_path, study, participants=3000, seed=7)
    for key, published in PUBLISHED.items():
        est, low, high = found[key]
        assert low <= published <= high, f"{key}: {est:.3f} [{low:.3f}, {high:.3f}] misses {published}"
