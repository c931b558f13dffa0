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
