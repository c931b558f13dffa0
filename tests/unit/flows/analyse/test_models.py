"""The plan's models on numpy (flows/analyse/models.py) against statsmodels, the oracle: the ANCOVA's
least squares, Holm's adjustment."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from statsmodels.stats.multitest import multipletests

from runback.flows.analyse import models

ARMS = ("A", "B", "C")


def _trial(n: int = 30, seed: int = 3) -> pd.DataFrame:
    """analysis.outcomes-like rows of one parameter at baseline and week 8, with sex."""
    rng = np.random.default_rng(seed)
    people = pd.DataFrame(
        {
            "record_id": [str(i) for i in range(1, n + 1)],
            "arm": rng.choice(ARMS, n),
            "sex": rng.choice(["Female", "Male"], n),
            "base": rng.normal(5, 2, n).round(1),
        }
    )
    week_8 = people.assign(visit="week_8", step=2, aval=lambda f: (f["base"] + rng.normal(1, 1.5, n)).round(1))
    rows = pd.concat([people.assign(visit="baseline", step=0, aval=people["base"]), week_8], ignore_index=True)
    return rows.assign(param="PSFS", in_window=True, chg=rows["aval"] - rows["base"])


def test_ols_is_statsmodels_ols():
    rng = np.random.default_rng(0)
    x = np.column_stack([np.ones(25), rng.integers(0, 2, 25), rng.normal(size=25), rng.integers(0, 2, 25)])
    y = x @ [1.0, 0.5, -0.3, 0.2] + rng.normal(size=25)
    ours, theirs = models.ols(y, x), sm.OLS(y, x).fit()
    np.testing.assert_allclose(ours.params, theirs.params, rtol=1e-12)
    np.testing.assert_allclose(ours.cov, theirs.cov_params(), rtol=1e-12)
    assert ours.df_resid == theirs.df_resid
    vector = np.array([0, 1.0, 0, -1.0])
    c, test = ours.contrast(vector), theirs.t_test(vector[None, :])
    assert c.estimate == pytest.approx(float(test.effect[0]), rel=1e-12)
    assert c.std_error == pytest.approx(float(test.sd[0, 0]), rel=1e-12)
    assert (c.ci_low, c.ci_high) == pytest.approx(tuple(np.asarray(test.conf_int()).ravel()), rel=1e-12)
    assert c.p_value == pytest.approx(float(test.pvalue), rel=1e-10)


def test_ols_of_a_rank_deficient_design_is_statsmodels_pseudo_inverse():
    rng = np.random.default_rng(1)
    x = np.column_stack([np.ones(12), rng.normal(size=12)])
    x = np.column_stack([x, 2 * x[:, 1]])  # the third column repeats the second
    y = rng.normal(size=12)
    ours, theirs = models.ols(y, x), sm.OLS(y, x).fit()
    assert ours.df_resid == theirs.df_resid == 10
    np.testing.assert_allclose(ours.params, theirs.params, rtol=1e-10)
    np.testing.assert_allclose(ours.cov, theirs.cov_params(), rtol=1e-10)


def test_ancova_rows_are_statsmodels_formula_ols():
    frame = _trial()
    rows = pd.DataFrame(models.ancova(frame, ARMS, "week_8", "ITT", "PSFS")).set_index("term")
    fit = smf.ols('aval ~ C(arm, Treatment("A")) + base + C(sex)', data=frame[frame["visit"] == "week_8"]).fit()
    name = 'C(arm, Treatment("A"))[T.C]'
    assert rows.loc["C - A", "estimate"] == pytest.approx(fit.params[name], rel=1e-10)
    assert rows.loc["C - A", "std_error"] == pytest.approx(fit.bse[name], rel=1e-10)
    assert (rows.loc["C - A", "ci_low"], rows.loc["C - A", "ci_high"]) == pytest.approx(
        tuple(fit.conf_int().loc[name]), rel=1e-10
    )
    assert rows.loc["C - A", "p_value"] == pytest.approx(fit.pvalues[name], rel=1e-10)
    assert rows.loc["C - A", "df"] == fit.df_resid and rows.loc["C - A", "n_obs"] == fit.nobs


def test_ancova_with_too_few_participants_says_so():
    frame = _trial(n=6)
    rows = models.ancova(frame[frame["arm"] != "C"], ARMS, "week_8", "ITT", "PSFS")
    assert {row["status"] for row in rows} == {"not fitted"}
    assert "C 0" in rows[0]["note"]


@pytest.mark.parametrize("p_values", [[0.01, 0.04, 0.03, 0.005, 0.2, 0.04], [0.3, 0.3, 0.9], [1e-12]])
def test_holm_is_statsmodels_multipletests(p_values):
    expected = multipletests(p_values, method="holm")[1]
    np.testing.assert_array_equal(models.holm(np.array(p_values)), expected)


@pytest.mark.parametrize("letters", ["ABC", "BCA", "CAB"])
def test_an_mmrm_or_ancova_whose_stratum_is_confounded_with_the_arms_says_it_cannot_be_fitted(letters):
    """Every participant of two arms female, of the third male (as a small population at an early
    cut may be): sex is a combination of the arms' columns. Whichever letters the key gives the arms,
    the MMRM and the ANCOVA say they cannot be fitted, never an estimate of a singular design."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(15):
        arm = letters[i % 3]
        person = {"record_id": str(i), "arm": arm, "sex": "Male" if arm == "C" else "Female", "base": rng.normal(5, 1)}
        rows.append(person | {"visit": "baseline", "step": 0, "aval": person["base"]})
        for visit, step in (("week_4", 1), ("week_8", 2)):
            rows.append(person | {"visit": visit, "step": step, "aval": person["base"] - step + rng.normal(0, 1)})
    for fitter in (models.mmrm_rows, models.ancova):
        found = fitter(pd.DataFrame(rows), ["A", "B", "C"], "week_8", "ITT", "NPRS_RUN")
        assert {(r["status"], r["estimate"]) for r in found} == {("not fitted", None)}
        assert {r["note"] for r in found} == {f"could not be fitted: {models.SINGULAR}"}
