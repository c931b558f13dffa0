"""Group-sequential boundaries, power and sample size against R's rpact (committed fixtures made by
`fixtures/make_looks_reference.R`; no R is needed to run these)."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from runback.flows.analyse import looks
from runback.schemas.trial import ARMS, RECRUITMENT

FIXTURES = Path(__file__).parent / "fixtures"
BOUNDARIES = pd.read_csv(FIXTURES / "looks_boundaries.csv", dtype={"fractions": str})
SAMPLE_SIZES = pd.read_csv(FIXTURES / "looks_sample_size.csv", dtype={"fractions": str})
TRIALS = pd.read_csv(FIXTURES / "looks_trials.csv", dtype={"fractions": str})


def _fractions(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split("/"))


@pytest.mark.parametrize(
    ("fractions", "sided", "alpha"), sorted(set(zip(BOUNDARIES.fractions, BOUNDARIES.sided, BOUNDARIES.alpha)))
)
def test_boundaries_match_rpact(fractions, sided, alpha):
    """Planned and observed fractions, and the local alphas of the primary hypotheses' graph."""
    reference = BOUNDARIES[
        (BOUNDARIES.fractions == fractions) & (BOUNDARIES.sided == sided) & (BOUNDARIES.alpha == alpha)
    ]
    bounds = looks.boundaries(_fractions(fractions), alpha, sided)
    critical = np.array([b.critical for b in bounds])
    nominal = np.array([b.nominal for b in bounds])
    # rpact solves each look to a tolerance in probability: beyond z = 4.5 (a look spending under
    # 1e-6) its critical value is only as good as 1e-4 / phi(z), so there the levels are compared
    usual = reference.stage_level.to_numpy() > 1e-6
    np.testing.assert_allclose(critical[usual], reference.critical[usual], rtol=0, atol=1e-6)
    np.testing.assert_allclose(nominal, reference.stage_level, rtol=0, atol=1e-9)
    np.testing.assert_allclose([b.alpha_spent for b in bounds], reference.alpha_spent, rtol=0, atol=2e-8)


def test_boundaries_spend_alpha_in_the_joint_normal_distribution():
    """The recursion against scipy's multivariate normal of (Z_1, Z_2, Z_3), Cov = sqrt(t_j / t_k)."""
    t = np.array([0.43, 0.77, 1.0])
    bounds = looks.boundaries(tuple(t), 0.025)
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    critical = [b.critical for b in bounds]
    stay = stats.multivariate_normal(np.zeros(3), cov, abseps=1e-8, releps=1e-8, seed=1).cdf(critical)
    assert 1 - stay == pytest.approx(0.025, abs=1e-6)
    assert looks.rejections(bounds, 0.0).sum() == pytest.approx(0.025, abs=1e-12)


def test_a_look_without_new_alpha_has_no_boundary_and_fractions_must_increase():
    assert looks.boundaries((1.0, 1.2))[1].critical == np.inf
    with pytest.raises(ValueError, match="increasing"):
        looks.boundaries((0.5, 0.5, 1.0))


@pytest.mark.parametrize("row", SAMPLE_SIZES.to_dict("records"), ids=lambda r: f"{r['fractions']}-{r['effect']}")
def test_sample_size_and_power_match_rpact(row):
    bounds = looks.boundaries(_fractions(row["fractions"]), 0.025)
    args = (row["effect"], row["sd"])
    fixed = looks.fixed_total(*args, 0.025, row["beta"], row["normal"])
    assert fixed == pytest.approx(row["n_fixed"], abs=1e-4)
    assert looks.sample_size(bounds, *args, row["beta"], row["normal"]) == pytest.approx(row["max_n"], abs=1e-4)
    rejections = looks.power(bounds, *args, row["total"], row["normal"])
    assert rejections.sum() == pytest.approx(row["power"], abs=1e-7)
    assert rejections[0] == pytest.approx(row["reject_first_look"], abs=1e-7)


@pytest.mark.parametrize("row", TRIALS.to_dict("records"), ids=lambda r: f"{r['fractions']}-{r['effect']}")
def test_a_trials_sample_size_from_its_assumptions_matches_rpact(row):
    assumptions = looks.Assumptions(
        row["effect"], row["sd"], row["correlation"], 0.025, row["dropout"], _fractions(row["fractions"]), row["arms"]
    )
    assert assumptions.required(row["beta"]) == row["required"]
    assert assumptions.power(row["randomised"]) == pytest.approx(row["power"], abs=1e-7)


@pytest.mark.parametrize(("t", "df"), [(2.1, 12.5), (-3.0, 40.0), (0.4, 5.2)])
def test_z_of_t_keeps_the_one_sided_p_value(t, df):
    z = looks.z_of_t(t, df)
    assert stats.norm.sf(z) == pytest.approx(stats.t.sf(t, df), rel=1e-10)
    assert abs(z) < abs(t)
    assert looks.z_of_t(t, None) == t


def _fraction(text: str) -> float:
    numerator, _, denominator = text.partition("/")
    return float(numerator) / float(denominator or 1)


def test_the_sample_size_table_of_the_docs_is_what_the_assumptions_give():
    docs = (Path(__file__).resolve().parents[4] / "docs" / "sample-size.md").read_text()
    table = re.search(r"<!-- sample-size:start -->\n(.*)<!-- sample-size:end -->", docs, flags=re.S)
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.group(1).splitlines()[2:]]
    assert len(rows) >= 4
    for _, _, effect, _, sd, rho, dropout, alpha, fractions, power, needed in rows:
        assumptions = looks.Assumptions(
            float(effect),
            float(sd),
            float(rho),
            _fraction(alpha),
            float(dropout),
            _fractions(fractions.replace(", ", "/")),
            len(ARMS),
        )
        assert f"{assumptions.power(RECRUITMENT.target):.3f}" == power
        assert str(assumptions.required(0.2)) == needed


def test_the_information_fraction_of_a_look_is_its_information_over_the_planned_final():
    assumptions = looks.Assumptions(0.5, 1.2, 0.6, 0.025, 0.1, (0.5, 1.0), 3)
    per_arm = 84 / 3 * 0.9
    final_se = np.sqrt(2 * assumptions.adjusted_sd**2 / per_arm)
    assert assumptions.fraction(final_se, 84) == pytest.approx(1.0, rel=1e-12)
    assert assumptions.fraction(final_se * np.sqrt(2), 84) == pytest.approx(0.5, rel=1e-12)
    assert assumptions.adjusted_sd == pytest.approx(1.2 * 0.8)


def _one_look(z: dict[str, float], weights: dict[str, float], graph: dict, alpha: float = 0.025) -> set[str]:
    found = looks.graphical(weights, graph, {h: [v] for h, v in z.items()}, (1.0,), alpha)
    return {t.name for t in found if t.rejected}


@pytest.mark.parametrize("p", [(0.01, 0.02), (0.012, 0.03), (0.02, 0.024), (0.013, 0.02), (0.001, 0.2)])
def test_the_holm_graph_at_one_look_is_holm(p):
    """Two hypotheses, half of alpha each, all of it passed to the other (Bretz et al. 2009, Holm)."""
    z = {"a": stats.norm.isf(p[0]), "b": stats.norm.isf(p[1])}
    rejected = _one_look(z, {"a": 0.5, "b": 0.5}, {("a", "b"): 1.0, ("b", "a"): 1.0})
    low, high = sorted(p)
    first = "a" if p[0] < p[1] else "b"
    holm = set() if low > 0.0125 else {"a", "b"} if high <= 0.025 else {first}
    assert rejected == holm


def test_the_plans_graph_passes_alpha_from_function_to_pain_and_then_to_the_other_pair():
    from runback.schemas import plan

    weights = {h.name: h.weight for h in plan.HYPOTHESES}
    assert looks.levels(weights, plan.TRANSITIONS, 0.025) == [0.025, 0.0125]
    w, g = looks.passed_on(weights, plan.TRANSITIONS, "H1")
    assert w == {"H2": 0.5, "H3": 0.5, "H4": 0.0} and g[("H3", "H2")] == 1.0 and g[("H4", "H3")] == 1.0
    w, _ = looks.passed_on(w, g, "H3")
    assert w == {"H2": 1.0, "H4": 0.0}
    at = {p: stats.norm.isf(p) for p in (0.001, 0.02, 0.3)}
    # H1 at 0.0125, then H3 at 0.0125 (p 0.001), then H2 at the whole 0.025 (p 0.02), not H4 (p 0.3)
    z = {"H1": at[0.001], "H2": at[0.02], "H3": at[0.001], "H4": at[0.3]}
    assert _one_look(z, weights, plan.TRANSITIONS) == {"H1", "H2", "H3"}
    assert _one_look(z | {"H3": at[0.02]}, weights, plan.TRANSITIONS) == {"H1"}  # H3 at 0.0125 fails


def test_a_hypothesis_is_rejected_at_the_look_whose_boundary_it_crosses():
    weights, graph = {"a": 1.0}, {}
    bounds = looks.boundaries((0.4, 1.0), 0.025)
    crossed_early = looks.graphical(weights, graph, {"a": [bounds[0].critical + 0.01, 0.0]}, (0.4, 1.0), 0.025)
    assert crossed_early[0].rejected and crossed_early[0].boundary == bounds[1]
    late = looks.graphical(
        weights, graph, {"a": [bounds[0].critical - 0.01, bounds[1].critical - 0.01]}, (0.4, 1.0), 0.025
    )
    assert not late[0].rejected
    no_alpha = looks.graphical({"a": 0.0}, graph, {"a": [9.0]}, (1.0,), 0.025)[0]
    assert not no_alpha.rejected and no_alpha.boundary is None and no_alpha.alpha == 0
