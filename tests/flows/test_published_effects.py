"""On a large simulated trial the GEE recovers the published per-step effects (study README)."""

import duckdb
import pytest

from flows.analysis import refresh_analysis
from flows.nightly_ingest import ingest_export
from flows.settings import PROJECT_DIR
from flows.simulate import simulate
from flows.warehouse import connect

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


@pytest.mark.slow
def test_gee_recovers_the_published_slopes(tmp_path, study):
    sim = simulate(tmp_path, participants=3000, seed=7, defects=False, nights=2)
    db = tmp_path / "w.duckdb"
    ingest_export.fn(str(sim.files[-1]), str(db), str(PROJECT_DIR))
    with connect(db) as con:
        refresh_analysis(con, study, 1)
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select param, term, estimate, ci_low, ci_high from latest.model_results "
            "where model = 'GEE' and population = 'ITT' and timepoint = 'month_6'"
        ).fetchall()
    found = {(param, term): (est, low, high) for param, term, est, low, high in rows}
    for key, published in PUBLISHED.items():
        est, low, high = found[key]
        assert low <= published <= high, f"{key}: {est:.3f} [{low:.3f}, {high:.3f}] misses {published}"
