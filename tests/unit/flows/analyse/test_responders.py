"""Responders' risk difference (Newcombe's hybrid score interval) and relative risk (log interval)
against R (committed fixture made by `fixtures/make_responders_reference.R`; no R is needed), and
the responders by multiple imputation pooled by Rubin's rules against the rules written out."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from runback.flows.analyse import missing, responders
from runback.flows.analyse.models import Imputed

REFERENCE = pd.read_csv(Path(__file__).parent / "fixtures" / "responders_reference.csv")


def _none_if_nan(value: float) -> float | None:
    return None if pd.isna(value) else value


@pytest.mark.parametrize(
    "row", REFERENCE.to_dict("records"), ids=lambda r: f"{r['x1']}of{r['n1']}-{r['x2']}of{r['n2']}"
)
def test_risk_difference_and_ratio_match_r(row):
    table = (int(row["x1"]), int(row["n1"]), int(row["x2"]), int(row["n2"]))
    difference = responders.risk_difference(*table)
    assert (difference.estimate, difference.ci_low, difference.ci_high) == pytest.approx(
        (row["difference"], row["difference_low"], row["difference_high"]), abs=1e-12
    )
    ratio = responders.relative_risk(*table)
    expected = tuple(_none_if_nan(row[k]) for k in ("ratio", "ratio_low", "ratio_high"))
    if expected[0] is None:
        assert ratio == responders.Comparison(None, None, None)
    else:
        assert (ratio.estimate, ratio.ci_low, ratio.ci_high) == pytest.approx(expected, rel=1e-12)


def test_newcombes_first_example():
    """Newcombe (1998), Table II, example (a): 56/70 - 48/80, method 10: 0.0524 to 0.3339."""
    d = responders.risk_difference(56, 70, 48, 80)
    assert (round(d.ci_low, 4), round(d.ci_high, 4)) == (0.0524, 0.3339)


def test_the_difference_is_antisymmetric_and_an_empty_arm_gives_nothing():
    forward, backward = responders.risk_difference(3, 27, 0, 28), responders.risk_difference(0, 28, 3, 27)
    assert (forward.estimate, forward.ci_low, forward.ci_high) == pytest.approx(
        (-backward.estimate, -backward.ci_high, -backward.ci_low), abs=1e-15
    )
    assert responders.risk_difference(0, 0, 3, 27) == responders.Comparison(None, None, None)
    assert responders.relative_risk(3, 27, 0, 0) == responders.Comparison(None, None, None)


def _imputed(param: str, arm, base, value, imputed) -> Imputed:
    """Completed data sets by hand: each participant's arm, baseline and value (None: imputed), and
    each imputation's values of those without one, in order."""
    value = np.array([np.nan if v is None else v for v in value])
    observed = ~np.isnan(value)
    completed = missing.Completed(
        np.zeros((len(arm), 1)), observed, np.nan_to_num(value), np.array(imputed), np.array(arm)
    )
    return Imputed("week_8", param, completed, np.array(base, dtype=float))


def test_responders_by_imputation_pool_each_imputations_difference_by_rubins_rules():
    """Pain during running (lower is better, MCID 2), A: four participants, B: three; three values
    imputed in three completed data sets. A change of 2 computed as -1.999999999999999 responds."""
    arm = [0, 0, 0, 0, 1, 1, 1]
    base = [6, 5, 7, 4, 6, 5, 8]
    value = [3, 4, None, None, 4.000000000000001, None, 7]  # A: 1 responder observed; B: 1 (the tie)
    imputed = [[4.0, 3.0, 2.0], [6.0, 1.5, 4.0], [5.0, 2.0, 3.5]]  # changes -3 -1 -3 | -1 -2.5 -1 | -2 -2 -1.5
    responded = [(2, 2), (2, 1), (3, 1)]  # (A, B) in each completed data set, counted by hand
    (row,) = responders.imputed_comparisons((_imputed("NPRS_RUN", arm, base, value, imputed),), ["A", "B"]).itertuples()
    m, n_a, n_b = 3, 4, 3
    differences = [b / n_b - a / n_a for a, b in responded]
    within = [a / n_a * (1 - a / n_a) / n_a + b / n_b * (1 - b / n_b) / n_b for a, b in responded]
    q, u = sum(differences) / m, sum(within) / m
    b = sum((d - q) ** 2 for d in differences) / (m - 1)
    total = u + (1 + 1 / m) * b
    df = (m - 1) * (1 + u / ((1 + 1 / m) * b)) ** 2
    half = stats.t.ppf(0.975, df) * total**0.5
    assert (row.population, row.term, row.imputations, row.imputed) == ("Multiple imputation", "B - A", 3, 3)
    assert (row.risk_difference, row.rd_ci_low, row.rd_ci_high) == pytest.approx((q, q - half, q + half), rel=1e-12)
    assert row.relative_risk is None


def test_without_imputed_values_the_pooled_difference_is_walds():
    """Nothing missing: the imputations agree (B = 0) and the interval is Wald's with z (PSFS:
    higher is better, MCID 2)."""
    value, base = [5, 2, 6, 3, 4], [2, 1, 3, 3, 1]  # changes 3 1 | 3 0 3: A 1 of 2, B 2 of 3
    found = responders.imputed_comparisons(
        (_imputed("PSFS", [0, 0, 1, 1, 1], base, value, np.zeros((4, 0))),), ["A", "B"]
    )
    d, se = 2 / 3 - 1 / 2, (0.5 * 0.5 / 2 + 2 / 3 * (1 / 3) / 3) ** 0.5
    expected = (d, d - stats.norm.ppf(0.975) * se, d + stats.norm.ppf(0.975) * se)
    assert tuple(found.loc[0, ["risk_difference", "rd_ci_low", "rd_ci_high"]]) == pytest.approx(expected, rel=1e-12)
    assert tuple(found.loc[0, ["imputations", "imputed"]]) == (4, 0)
