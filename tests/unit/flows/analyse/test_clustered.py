"""The GEE and the mixed model on numpy against statsmodels' GEE and MixedLM, the oracle: on a
simulated trial and on awkward data (missing visits, a participant with one visit, unbalanced arms)."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.regression.mixed_linear_model import MixedLMParams

from runback.flows.analyse import clustered


def _trial(rng, per_arm=(30, 20, 10), keep=0.8) -> pd.DataFrame:
    """value ~ step x arm with a participant effect; each later visit kept with probability `keep`."""
    rows = []
    for arm, n in enumerate(per_arm):
        for _ in range(n):
            person, level = len({r[0] for r in rows}), rng.normal(0, 1.5)
            for step in range(5):
                if step == 0 or rng.random() < keep:
                    rows.append((f"p{person}", arm, step, 5 + level + (0.3 + 0.2 * arm) * step + rng.normal()))
    return pd.DataFrame(rows, columns=["id", "arm", "step", "y"])


def _awkward(rng) -> pd.DataFrame:
    frame = _trial(rng, per_arm=(25, 8, 4), keep=0.5)
    lone = pd.DataFrame([("lone", 2, 3, 7.0)], columns=frame.columns)  # one participant, one visit
    return pd.concat([frame, lone], ignore_index=True).sample(frac=1, random_state=3)  # rows in any order


def _design(frame: pd.DataFrame) -> np.ndarray:
    arms = [(frame["arm"] == a).to_numpy(float) for a in (1, 2)]
    step = frame["step"].to_numpy(float)
    return np.column_stack([np.ones(len(frame)), *arms, step, step * arms[0], step * arms[1]])


DATASETS = {
    "simulated trial": lambda: _trial(np.random.default_rng(1)),
    "awkward": lambda: _awkward(np.random.default_rng(2)),
    "balanced, every visit": lambda: _trial(np.random.default_rng(4), per_arm=(15, 15, 15), keep=1.0),
}


@pytest.mark.parametrize("name", DATASETS)
def test_gee_is_statsmodels_gee(name):
    frame = DATASETS[name]()
    x = _design(frame)
    oracle = sm.GEE(
        frame["y"], x, groups=frame["id"], family=sm.families.Gaussian(), cov_struct=sm.cov_struct.Exchangeable()
    ).fit()
    fit = clustered.gee(frame["y"].to_numpy(), x, frame["id"].to_numpy())
    np.testing.assert_allclose(fit.params, oracle.params, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fit.cov, oracle.cov_params(), rtol=1e-8, atol=1e-12)
    assert fit.note == ""
    vector = np.array([0, 0, 0, 1, -1, 1.0])
    got, expected = fit.contrast(vector), oracle.t_test(vector[None, :])
    assert (got.estimate, got.std_error, got.p_value) == pytest.approx(
        (float(expected.effect[0]), float(expected.sd[0, 0]), float(expected.pvalue)), rel=1e-8
    )
    assert (got.ci_low, got.ci_high) == pytest.approx(tuple(np.ravel(expected.conf_int())), rel=1e-8)
    assert got.df is None


def test_gee_says_when_it_stops_at_the_iteration_limit(monkeypatch):
    frame = DATASETS["awkward"]()
    monkeypatch.setattr(clustered, "GEE_MAX_ITERATIONS", 2)
    fit = clustered.gee(frame["y"].to_numpy(), _design(frame), frame["id"].to_numpy())
    assert fit.note == "Iteration limit reached prior to convergence"


@pytest.mark.parametrize("name", DATASETS)
def test_mixed_model_is_statsmodels_mixedlm_at_the_reml_optimum(name):
    frame = DATASETS[name]()
    x = _design(frame)
    fit = clustered.mixed(frame["y"].to_numpy(), x, frame["id"].to_numpy())
    model = sm.MixedLM(frame["y"], x, groups=frame["id"])
    default = model.fit(reml=True)  # statsmodels stops at its own gradient tolerance
    np.testing.assert_allclose(fit.params, default.fe_params, rtol=1e-4, atol=1e-5)
    ratio = default.cov_re.iloc[0, 0] / default.scale
    assert fit.ratio == pytest.approx(ratio, rel=1e-3)
    packed = np.array([np.sqrt(fit.ratio)])  # statsmodels' parameter: the ratio's square root
    model.reml = True
    assert abs(model.score(packed)[0]) < 1e-6 * len(frame)  # the REML optimum: statsmodels' score vanishes
    params = MixedLMParams.from_packed(packed, 6, 1, use_sqrt=True, has_fe=False)  # what MixedLM.fit does there
    params.fe_params = model.get_fe_params(params.cov_re, params.vcomp)[0]
    np.testing.assert_allclose(fit.params, params.fe_params, rtol=1e-8, atol=1e-10)
    cov = np.linalg.inv(-model.hessian(params)[0])[:6, :6]
    np.testing.assert_allclose(fit.cov, cov, rtol=1e-8, atol=1e-12)


def test_rows_in_any_order_give_the_same_fit():
    frame = DATASETS["simulated trial"]()
    shuffled = frame.sample(frac=1, random_state=0)
    for fit in (clustered.gee, clustered.mixed):
        one = fit(frame["y"].to_numpy(), _design(frame), frame["id"].to_numpy())
        other = fit(shuffled["y"].to_numpy(), _design(shuffled), shuffled["id"].to_numpy())
        np.testing.assert_allclose(one.params, other.params, rtol=1e-8)


def test_a_contrast_without_variance_has_no_inference_rather_than_a_fault():
    """An arm of one cluster can leave a contrast with no variance: its estimate stands, its CI and
    p are not defined (shown as missing), and nothing divides by zero."""
    import math

    import numpy as np

    from runback.flows.analyse.clustered import Fit
    from runback.flows.analyse.mmrm import t_contrast

    c = Fit(np.array([1.0, 2.0]), np.zeros((2, 2)), "").contrast(np.array([0.0, 1.0]))
    assert c.estimate == 2.0 and math.isnan(c.p_value) and math.isnan(c.ci_low)
    assert math.isnan(t_contrast(1.5, 0.0, 10.0).p_value)
