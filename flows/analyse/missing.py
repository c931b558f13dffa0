"""Missing not at random: delta-adjusted multiple imputation and its tipping point.

The primary MMRM assumes values are missing at random (MAR). This sensitivity analysis imputes the
missing values at the timepoint's visit from the MMRM fitted to the observed data: for each of
`IMPUTATIONS` draws, beta from its estimated sampling distribution and each missing value from its
conditional normal distribution given the participant's observed earlier values (Sigma at its REML
estimate). Each completed data set is analysed with the ANCOVA of the plan (value ~ arm + baseline
+ sex, OLS) and the results are combined with Rubin's rules (Barnard-Rubin df).

Under MNAR the imputed values of one arm are shifted by delta. For each pair of arms the imputed
values of the arm the MAR estimate favours (the higher one) are lowered, towards the other arm,
and the *tipping delta* is the smallest shift at which the MAR conclusion (p < 0.05 or not) changes.
Which arm is shifted follows from the data, not from the arms' order, so the analysis is the same
whichever letters the allocation key gave the arms;
a result that is not significant under MAR has no tipping delta. Draws come from a fixed seed, so a
cut's analysis is reproducible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy import optimize

from runback.flows.analyse import mmrm

IMPUTATIONS = 50
SEED = 20171201
ALPHA = 0.05
GRID = 80
"""Steps over [0, limit] in which the first change of conclusion is bracketed."""


Pooled = mmrm.Contrast
"""A contrast combined over imputations by Rubin's rules (the same fields as the MMRM's)."""


@dataclass(frozen=True)
class Completed:
    """The ANCOVA design of the completed data sets and the imputed values of each draw."""

    x: np.ndarray
    observed: np.ndarray
    y_observed: np.ndarray
    imputed: np.ndarray
    arm: np.ndarray


def rubin(estimates: np.ndarray, variances: np.ndarray, df_complete: float) -> Pooled:
    """Rubin's rules with the Barnard-Rubin small-sample degrees of freedom (the complete-data df
    when the imputations do not differ, i.e. nothing was imputed)."""
    m = len(estimates)
    q, u, b = float(np.mean(estimates)), float(np.mean(variances)), float(np.var(estimates, ddof=1))
    t = u + (1 + 1 / m) * b
    lam = (1 + 1 / m) * b / t
    df_old = (m - 1) / lam**2 if lam > 0 else np.inf
    df_obs = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - lam)
    df = df_complete if lam < 1e-12 else df_old * df_obs / (df_old + df_obs)
    return mmrm.t_contrast(q, float(np.sqrt(t)), float(df), 1 - ALPHA)


def impute(
    fit: mmrm.MmrmFit,
    person: np.ndarray,
    visit: np.ndarray,
    aval: np.ndarray,
    design: np.ndarray,
    final: int,
    rng: np.random.Generator,
    draws: int,
) -> np.ndarray:
    """Draws (draws x participants) of the final-visit value of participants without one.

    The rows are every participant's (`person`, visit index `visit`, `aval` NaN where missing, one
    row at the final visit for everyone, last; a participant's rows together) with `design` their
    MMRM design rows. The means are drawn as fitted values, X beta* with beta* ~ N(beta, Phi),
    through the symmetric square root of X Phi X': the same draws whatever the design's coding of
    the arms (which arm is first). Each value is then drawn given the participant's earlier values;
    participants observed at the same visits share the regression on them, so they are drawn
    together."""
    lacking = person[(visit == final) & np.isnan(aval)]
    needed = np.flatnonzero(np.isin(person, lacking))
    x = design[needed]
    u, singular, _ = np.linalg.svd(x @ np.linalg.cholesky(fit.cov_beta), full_matrices=False)
    noise = ((rng.standard_normal((draws, len(x))) @ u) * singular) @ u.T  # U S U' is the root, O(n p^2)
    means = x @ fit.beta + noise
    person = person[needed]
    starts = np.flatnonzero(np.r_[True, person[1:] != person[:-1]]) if len(person) else np.zeros(0, int)
    seen_counts = np.diff(np.r_[starts, len(person)]) - 1  # every row but the final one is observed
    visits, values = visit[needed], aval[needed]
    keys = np.add.reduceat(np.where(visits == final, 0, 2**visits), starts) if len(person) else starts
    shocks = rng.standard_normal((len(starts), draws))  # participant by participant, as drawn one by one
    out = np.zeros((draws, len(starts)))
    for key in np.unique(keys):
        members = np.flatnonzero(keys == key)
        o = np.flatnonzero([(int(key) >> v) & 1 for v in range(final)])
        seen = starts[members][:, None] + np.arange(len(o))
        last = starts[members] + seen_counts[members]
        s_oo, s_fo = fit.sigma[np.ix_(o, o)], fit.sigma[final, o]
        weight = np.linalg.solve(s_oo, s_fo) if len(o) else np.zeros(0)
        mean = means[:, last] + (values[seen] - means[:, seen]) @ weight
        out[:, members] = mean + np.sqrt(fit.sigma[final, final] - s_fo @ weight) * shocks[members].T
    return out


def ancova_design(arm: np.ndarray, base: np.ndarray, sex: np.ndarray, arms: int) -> np.ndarray:
    """Intercept, arm indicators (against the first of `arms` arms; `arm` indexes them), baseline and
    sex (`sex`: codes that sort as the sexes do, -1 when missing) of one row per participant."""
    columns = [np.ones(len(arm))] + [(arm == a).astype(float) for a in range(1, arms)]
    columns.append(np.asarray(base, dtype=float))
    for level in np.unique(sex[sex >= 0])[1:]:
        columns.append((sex == level).astype(float))
    return np.column_stack(columns)


@dataclass(frozen=True)
class Ancovas:
    """The ANCOVA of the plan fitted to every completed data set at once (one column per draw):
    (X'X)^-1, each draw's coefficients and residuals, and their sums of squares."""

    completed: Completed
    xtx_inv: np.ndarray
    beta: np.ndarray
    residual: np.ndarray
    squares: np.ndarray

    @classmethod
    def of(cls, completed: Completed) -> Ancovas:
        x = completed.x
        xtx_inv = np.linalg.inv(x.T @ x)
        y = np.repeat(completed.y_observed[:, None], len(completed.imputed), axis=1)
        y[~completed.observed] = completed.imputed.T
        beta = xtx_inv @ (x.T @ y)
        residual = y - x @ beta
        return cls(completed, xtx_inv, beta, residual, np.sum(residual**2, axis=0))

    @property
    def df(self) -> int:
        n, p = self.completed.x.shape
        return n - p

    def pooled(self, vector: np.ndarray) -> Pooled:
        """The contrast `vector` of the coefficients, combined over the draws by Rubin's rules."""
        return rubin(vector @ self.beta, self.squares / self.df * (vector @ self.xtx_inv @ vector), self.df)

    def shifted(self, vector: np.ndarray, direction: np.ndarray) -> Callable[[float], Pooled]:
        """`pooled` with the imputed values shifted by -delta * `direction`, as a function of delta.
        Least squares is linear in y: y moving by -delta d (d: `direction` at the imputed rows, 0
        elsewhere) moves every draw's coefficients by -delta g, g = (X'X)^-1 X'd, and its residuals by
        -delta h, h = d - X g; each delta then costs a few numbers per draw, not a refit."""
        x = self.completed.x
        d = np.zeros(len(x))
        d[~self.completed.observed] = direction
        g = self.xtx_inv @ (x.T @ d)
        h = d - x @ g
        estimate, slope, spread = vector @ self.beta, float(vector @ g), vector @ self.xtx_inv @ vector
        cross, length = h @ self.residual, float(h @ h)

        def at(delta: float) -> Pooled:
            squares = self.squares - 2 * delta * cross + delta**2 * length
            return rubin(estimate - delta * slope, squares / self.df * spread, self.df)

        return at


def pooled_contrast(completed: Completed, vector: np.ndarray, shift: np.ndarray) -> Pooled:
    """The contrast of the ANCOVA over every completed data set, imputed values shifted by `shift`."""
    return Ancovas.of(replace(completed, imputed=completed.imputed + shift)).pooled(vector)


def tipping_delta(
    ancovas: Ancovas, vector: np.ndarray, later: str, earlier: str, limit: float
) -> tuple[str, float | None]:
    """The arm shifted, and the smallest (negative) shift of its imputed values that changes whether
    p < ALPHA: the arm the MAR estimate of `later - earlier` favours is lowered towards the other.
    The shift is None when the MAR result is not significant or nothing within `limit` tips it."""
    completed = ancovas.completed
    missing_arms = completed.arm[~completed.observed]
    mar = ancovas.pooled(vector)
    favoured = later if mar.estimate > 0 else earlier
    shifted = (missing_arms == favoured).astype(float)
    if mar.p_value >= ALPHA or not shifted.any():
        return favoured, None
    at = ancovas.shifted(vector, shifted)

    def margin(delta: float) -> float:
        return at(delta).p_value - ALPHA

    grid = np.linspace(0.0, limit, GRID + 1)
    for low, high in zip(grid[:-1], grid[1:], strict=True):  # the first crossing: far shifts re-reach p < ALPHA
        if margin(high) >= 0:
            return favoured, -float(optimize.brentq(margin, low, high, xtol=1e-6))
    return favoured, None
