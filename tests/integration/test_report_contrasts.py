"""The report's contrasts table follows the analysis plan: the primary results first, marked, with
their Holm-adjusted p-values from analysis.model_results."""

import re

import duckdb
import pytest

from runback.flows.analyse.lock import lock
from runback.flows.report.render import pval
from runback.flows.warehouse import connect
from runback.schemas.trial import TIMEPOINTS
from tests.helpers import report_html, simulated_warehouse


@pytest.fixture(scope="module")
def trial(tmp_path_factory, study):
    folder = tmp_path_factory.mktemp("trial")
    db, cut = simulated_warehouse(folder, study, participants=84, seed=5, nights=3)
    with connect(db) as con:  # the final analysis: a cut that is not a planned look shows no p-value
        for timepoint in TIMEPOINTS:
            lock(con, timepoint, cut, force=True, reason="the final analysis")
    return db, cut


def test_the_primary_results_lead_with_their_adjusted_p_values(trial):
    db, cut = trial
    html = report_html(db, cut, "week_8")
    table = html.split('<section id="contrasts"', 1)[1].split("</section>", 1)[0]
    row = r'<tr data-param="(\w+)" data-model="([^"]+)" data-population="([^"]+)" data-role="(\w*)">(.*?)</tr>'
    rows = re.findall(row, table, flags=re.S)
    assert [(r[0], r[1], r[3]) for r in rows[:2]] == [("PSFS", "MMRM", "primary"), ("NPRS_RUN", "MMRM", "primary")]
    assert all(r[3] != "primary" for r in rows[2:])
    assert {r[1] for r in rows} == {"MMRM", "ANCOVA", "Delta-adjusted MI"}
    with duckdb.connect(str(db), read_only=True) as con:
        adjusted = con.execute(
            "select param, p_adjusted from analysis.model_results where data_cut = $cut and role = 'primary'",
            {"cut": cut},
        ).fetchall()
    for param, _, _, _, cells in rows[:2]:
        shown = sorted(re.findall(r'data-adjusted="holm">Holm: ([^<]+)<', cells))
        assert shown == sorted(pval(p) for q, p in adjusted if q == param)
    assert "data-adjusted" not in "".join(r[4] for r in rows[2:])


def test_month_6_has_no_primary_result_and_no_physical_tests(trial):
    db, cut = trial
    html = report_html(db, cut, "month_6")
    table = html.split('<section id="contrasts"', 1)[1].split("</section>", 1)[0]
    assert 'data-role="primary"' not in table and 'data-param="KE_TORQUE"' not in table
    assert "Not assessed at 6 months by design: Knee-extensor peak torque" in table


def test_the_mnar_analysis_shows_its_tipping_delta_error_and_grid_in_the_closed_report_only(trial):
    """The tipping delta with its Monte-Carlo error, the plan's bound, the arm made worse and the
    outcome's worse direction; the tipping grid's kept cells as the warehouse's p-values say; none
    of it in the open report."""
    from runback.schemas import plan

    db, cut = trial
    table = report_html(db, cut, "week_8").split('<section id="contrasts"', 1)[1].split("</section>", 1)[0]
    with duckdb.connect(str(db), read_only=True) as con:
        tipped = con.execute(
            "select m.term, m.estimate, m.mc_error, m.imputations, m.shift_later, p.mcid, p.better"
            " from analysis.model_results as m inner join ref.params as p using (param)"
            " where m.data_cut = $cut and m.term like 'tipping delta %' and m.estimate is not null",
            {"cut": cut},
        ).fetchall()
        grid = con.execute(
            "select param, term, shift_later, shift_earlier, p_value from analysis.model_results"
            " where data_cut = $cut and term like 'tipping grid %'",
            {"cut": cut},
        ).fetchall()
    assert tipped  # the simulated trial (seed 5) has a result significant under MAR
    for term, delta, error, imputations, shift_later, mcid, better in tipped:
        later, earlier = term.removeprefix("tipping delta ").split(" - ")
        worse = "lower" if better == "higher" else "higher"
        shown = f"tips when Arm {later if shift_later else earlier}'s imputed values are made worse ({worse})"
        assert f"{shown} by {delta:.2f} MCID ({delta * mcid:.2f} points)" in table
        assert f"Monte-Carlo error {error:.4f} MCID (bound {plan.TIPPING_MC_BOUND}), {imputations} imputations" in table
        assert error <= plan.TIPPING_MC_BOUND
    cells = re.findall(r'<td class="num" data-kept="(true|false)">', table)
    assert len(cells) == len(grid) == 2 * 3 * len(plan.TIPPING_GRID_MCID) ** 2
    mar = {(param, term): p < 0.05 for param, term, a, b, p in grid if a == b == 0}
    shown = sorted(grid, key=lambda r: (("PSFS", "NPRS_RUN").index(r[0]), *r[1:4]))  # outcome, pair, row, column
    assert cells == [str((p < 0.05) == mar[param, term]).lower() for param, term, _, _, p in shown]
    assert "false" in cells
    opened = report_html(db, cut, "week_8", audience="open")
    assert '<table class="compact tipping-grid"' not in opened and "data-kept=" not in opened  # the methods name it
    assert "tips when" not in opened and "MCID (bound" not in opened
