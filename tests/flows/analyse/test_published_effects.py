"""On a large simulated trial the GEE recovers the published per-step effects (study README)."""

import duckdb
import pytest

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
    return {(param, term): (est, low, high) for param, term, est, low, high in rows}


@pytest.mark.slow
def test_gee_recovers_the_published_slopes(tmp_path, study):
    found = gee_estimates(tmp_path, study, participants=3000, seed=7)
    for key, published in PUBLISHED.items():
        est, low, high = found[key]
        assert low <= published <= high, f"{key}: {est:.3f} [{low:.3f}, {high:.3f}] misses {published}"
