"""The MMRM against R's reference fits (`nlme::gls`, corSymm + varIdent, REML; emmeans contrasts),
made by `fixtures/make_mmrm_reference.R` from the committed data: no R is needed to run these."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runback.flows.analyse import mmrm, models

FIXTURES = Path(__file__).parent / "fixtures"
DATASETS = ("four_visits", "two_visits")


def _fit(data: pd.DataFrame, arms=None):
    arms = arms or sorted(data["arm"].unique())
    visits = list(data.sort_values("visit_index")["visit"].unique())
    design = models.mmrm_design(data, arms, visits)
    fit = mmrm.fit(
        data["aval"].to_numpy(),
        design.to_numpy(),
        data["id"].to_numpy(),
        data["visit_index"].to_numpy() - 1,
        tuple(design.columns),
    )
    return fit, visits


def _contrast(fit, term: str, visit: str):
    later, earlier = term.split("-")
    return fit.contrast(models.mmrm_vector(fit.names, later, earlier, visit))


@pytest.mark.parametrize("name", DATASETS)
def test_contrasts_match_nlme_gls(name):
    data = pd.read_csv(FIXTURES / f"mmrm_{name}.csv")
    reference = pd.read_csv(FIXTURES / f"mmrm_{name}_reference.csv")
    fit, _ = _fit(data)
    assert fit.converged
    contrasts = reference[reference["kind"] == "contrast"]
    assert len(contrasts) == 3 * data["visit"].nunique()
    for row in contrasts.itertuples():
        got = _contrast(fit, row.term, row.visit)
        assert got.estimate == pytest.approx(row.estimate, rel=1e-4, abs=1e-6), (row.visit, row.term)
        assert got.std_error == pytest.approx(row.std_error, rel=1e-2), (row.visit, row.term)
        assert got.df == pytest.approx(row.df, rel=1e-3), (row.visit, row.term)
        assert (got.ci_low, got.ci_high) == pytest.approx((row.ci_low, row.ci_high), rel=1e-2, abs=1e-3)
        assert got.p_value == pytest.approx(row.p_value, rel=1e-3, abs=1e-9)


@pytest.mark.parametrize("name", DATASETS)
def test_covariance_matches_nlme_gls(name):
    data = pd.read_csv(FIXTURES / f"mmrm_{name}.csv")
    reference = pd.read_csv(FIXTURES / f"mmrm_{name}_reference.csv").query("kind == 'sigma'")
    fit, visits = _fit(data)
    expected = reference.pivot(index="visit", columns="term", values="estimate").loc[visits, visits].to_numpy()
    np.testing.assert_allclose(fit.sigma, expected, rtol=1e-3)


def test_results_do_not_depend_on_which_arm_is_first():
    data = pd.read_csv(FIXTURES / "mmrm_four_visits.csv")
    fit_abc, _ = _fit(data, ["A", "B", "C"])
    fit_cab, _ = _fit(data, ["C", "A", "B"])
    for visit in ("week_4", "month_6"):
        one, other = _contrast(fit_abc, "C-B", visit), _contrast(fit_cab, "C-B", visit)
        assert one.estimate == pytest.approx(other.estimate, rel=1e-6)
        assert one.std_error == pytest.approx(other.std_error, rel=1e-5)
        assert one.df == pytest.approx(other.df, rel=1e-3)


def test_one_visit_is_ordinary_least_squares():
    import statsmodels.api as sm

    data = pd.read_csv(FIXTURES / "mmrm_two_visits.csv").query("visit == 'week_8'").assign(visit_index=1)
    fit, visits = _fit(data)
    design = models.mmrm_design(data, ["A", "B", "C"], visits)
    ols = sm.OLS(data["aval"], design).fit()
    c = models.mmrm_vector(fit.names, "C", "A", "week_8")
    got, expected = fit.contrast(c), ols.t_test(c[None, :])
    assert got.estimate == pytest.approx(float(expected.effect[0]), rel=1e-8)
    assert got.std_error == pytest.approx(float(expected.sd[0, 0]), rel=1e-5)
    assert got.df == pytest.approx(ols.df_resid, rel=1e-3)


def _reml_by_participant(theta, data, design, k):
    """-2 REML log-likelihood (no constant) summed participant by participant, the textbook way."""
    lower = mmrm._lower(theta, k)
    sigma = lower @ lower.T
    people = [
        (np.linalg.inv(sigma[np.ix_(v, v)]), x, y, np.linalg.slogdet(sigma[np.ix_(v, v)])[1])
        for v, x, y in _by_participant(data, design)
    ]
    xtwx = sum(x.T @ w @ x for w, x, _, _ in people)
    beta = np.linalg.solve(xtwx, sum(x.T @ w @ y for w, x, y, _ in people))
    quadratic = sum((y - x @ beta) @ w @ (y - x @ beta) for w, x, y, _ in people)
    return sum(d for *_, d in people) + np.linalg.slogdet(xtwx)[1] + quadratic


def _by_participant(data, design):
    for _, rows in data.groupby("id"):
        yield rows["visit_index"].to_numpy() - 1, design.loc[rows.index].to_numpy(), rows["aval"].to_numpy()


@pytest.mark.parametrize("name", DATASETS)
def test_reml_from_pattern_sums_is_the_sum_over_participants(name):
    data = pd.read_csv(FIXTURES / f"mmrm_{name}.csv")
    fit, visits = _fit(data)
    design = models.mmrm_design(data, sorted(data["arm"].unique()), visits)
    k = len(visits)

    def criterion(theta):
        return mmrm._criterion(theta, fit.patterns, k)[0]

    for theta in (fit.theta, fit.theta + 0.1 * np.random.default_rng(0).standard_normal(len(fit.theta))):
        value, gradient = mmrm._criterion(theta, fit.patterns, k)
        assert value == pytest.approx(_reml_by_participant(theta, data, design, k), rel=1e-10)
        for j in range(len(theta)):
            step = np.eye(len(theta))[j] * 1e-6
            numeric = (criterion(theta + step) - criterion(theta - step)) / 2e-6
            assert gradient[j] == pytest.approx(numeric, rel=1e-5, abs=1e-5)
