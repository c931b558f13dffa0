"""The two models of value ~ step x arm over each participant's assessments, on numpy: the Gaussian
GEE with an exchangeable working correlation (the published trial's analysis) and the linear mixed
model with a random intercept (REML).

statsmodels' `GEE` and `MixedLM` are their oracles (`tests/unit/flows/analyse/test_clustered.py`), but
their fits loop over participants in Python at every iteration. With one correlation (or one
random-intercept variance) for everyone, a participant's working covariance depends only on how
many assessments they have, and its inverse is a scalar correction of the identity
(Sherman-Morrison). So every quantity of both fits is a sum over rows plus a sum over
participants of their column sums (`Clusters.sums`): a few matrix products per iteration, however
many participants there are.

- GEE: the iteration of statsmodels' `GEE.fit` step for step (start at OLS; a Gauss-Newton step
  of the mean parameters, then the moment estimate of the correlation; stop when the score's norm
  is below 1e-6 after at least one correlation update), so the estimates are statsmodels' own;
  robust (sandwich) covariance, z inference.
- Mixed model: the REML criterion profiled over the residual variance is a function of one ratio
  g = (random-intercept variance) / (residual variance), maximised to 1e-10 by Brent's method; the
  fixed effects' covariance is statsmodels' (the inverse of the negative Hessian of the profiled
  criterion in the fixed effects and g, its fixed-effects block), z inference.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import optimize, sparse, special

from runback.flows.analyse.mmrm import Contrast

GEE_TOLERANCE = 1e-6
GEE_MAX_ITERATIONS = 60
"""statsmodels' `GEE.fit` defaults (ctol, maxiter)."""
RATIO_TOLERANCE = 1e-10


@dataclass(frozen=True)
class Clusters:
    """Rows (y, x) grouped by participant, each participant's rows together."""

    y: np.ndarray
    x: np.ndarray
    sizes: np.ndarray
    starts: np.ndarray

    @classmethod
    def of(cls, y: np.ndarray, x: np.ndarray, groups: np.ndarray) -> Clusters:
        """Order the rows by participant (first appearance; rows of a participant keep their order)."""
        codes = np.unique(np.asarray(groups), return_inverse=True)[1].ravel()
        order = np.argsort(codes, kind="stable")
        codes = codes[order]
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        sizes = np.diff(np.r_[starts, len(codes)])
        return cls(np.asarray(y, float)[order], np.asarray(x, float)[order], sizes, starts)

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Each participant's sum of `values` (rows in the clusters' order), by numpy's reduceat. The
        mixed model's sums: its REML profile is flat at the maximum, so Brent's method follows the
        criterion's last bits, and sums rounded otherwise would move its results by about 1e-6."""
        return np.add.reduceat(values, self.starts, axis=0)

    def added(self, values: np.ndarray) -> np.ndarray:
        """`sums` as the product with the participants x rows indicator (sparse), one pass over the
        rows in their order, four times faster for a design's columns: the GEE's (its results move
        by 1e-13 with the rounding)."""
        return self.indicator @ values

    @functools.cached_property
    def indicator(self):
        n = len(self.y)
        return sparse.csr_array((np.ones(n), np.arange(n), np.r_[self.starts, n]), shape=(len(self.sizes), n))

    @functools.cached_property
    def column_sums(self) -> np.ndarray:
        """Each participant's sums of the design's columns."""
        return self.sums(self.x)

    @functools.cached_property
    def xtx(self) -> np.ndarray:
        return self.x.T @ self.x

    @functools.cached_property
    def xty(self) -> np.ndarray:
        return self.x.T @ self.y

    @functools.cached_property
    def y_sums(self) -> np.ndarray:
        return self.sums(self.y)


@dataclass(frozen=True)
class Fit:
    """Fixed effects, their covariance and a note (empty when the fit converged)."""

    params: np.ndarray
    cov: np.ndarray
    note: str

    def contrast(self, vector: np.ndarray, level: float = 0.95) -> Contrast:
        """c'beta with z inference (normal quantiles; `df` None), as statsmodels' `t_test` of these fits."""
        estimate = float(vector @ self.params)
        se = float(np.sqrt(vector @ self.cov @ vector))
        if not se > 0:  # no variance (an arm of one cluster): an estimate without inference
            return Contrast(estimate, se, None, float("nan"), float("nan"), float("nan"))
        z = float(special.ndtri(0.5 + level / 2))
        p = float(2 * special.ndtr(-abs(estimate) / se))
        return Contrast(estimate, se, None, estimate - z * se, estimate + z * se, p)


@dataclass(frozen=True)
class MixedFit(Fit):
    """A mixed model's fit with its REML variance ratio (random intercept over residual variance)."""

    ratio: float


def gee(y: np.ndarray, x: np.ndarray, groups: np.ndarray) -> Fit:
    """Gaussian GEE, exchangeable working correlation, robust covariance (statsmodels' defaults)."""
    c = Clusters.of(y, x, groups)
    p = c.x.shape[1]
    column_sums = c.column_sums
    beta = np.linalg.solve(c.xtx, c.xty)  # OLS, from the normal equations
    alpha, updated, score_norm = 0.0, False, np.inf
    for _ in range(GEE_MAX_ITERATIONS):
        bread, score = _gee_equations(c, column_sums, c.y - c.x @ beta, alpha)[:2]
        beta = beta + np.linalg.solve(bread, score)
        score_norm = float(np.sqrt(np.sum(score**2)))
        if score_norm < GEE_TOLERANCE and updated:
            break
        alpha, updated = _exchangeable(c, c.y - c.x @ beta, p), True
    bread, _, meat = _gee_equations(c, column_sums, c.y - c.x @ beta, alpha)
    inverse = np.linalg.inv(bread)
    note = "" if score_norm < GEE_TOLERANCE else "Iteration limit reached prior to convergence"
    return Fit(beta, inverse @ meat @ inverse, note)


def _gee_equations(c: Clusters, column_sums: np.ndarray, residual: np.ndarray, alpha: float):
    """X'V^-1X, X'V^-1 r and the sandwich's meat sum_i (X_i'V_i^-1 r_i)(...)' for correlation alpha,
    V_i^-1 = (I - k_i 11') / (1 - alpha) with k_i = alpha / (1 + alpha (n_i - 1))."""
    k = alpha / (1 + alpha * (c.sizes - 1))
    residual_sums = c.added(residual)
    bread = (c.xtx - (column_sums * k[:, None]).T @ column_sums) / (1 - alpha)
    per_participant = (c.added(c.x * residual[:, None]) - column_sums * (k * residual_sums)[:, None]) / (1 - alpha)
    return bread, per_participant.sum(axis=0), per_participant.T @ per_participant


def _exchangeable(c: Clusters, residual: np.ndarray, p: int) -> float:
    """statsmodels' moment estimate of the exchangeable correlation (both sums corrected by p)."""
    n = len(residual)
    scale = float(residual @ residual) / (n - p)
    squares = c.added(residual**2)
    products = float(np.sum(c.added(residual) ** 2 - squares)) / 2 / scale
    pairs = float(np.sum(c.sizes * (c.sizes - 1))) / 2
    return products / (pairs - p)


def mixed(y: np.ndarray, x: np.ndarray, groups: np.ndarray) -> MixedFit:
    """Random intercept per participant, REML; the fixed effects and statsmodels' covariance of them."""
    c = Clusters.of(y, x, groups)
    column_sums = c.column_sums
    upper = 1.0
    while _profile(c, column_sums, upper) > _profile(c, column_sums, 2 * upper) and upper < 1e8:
        upper *= 2  # bracket the maximum in g
    found = optimize.minimize_scalar(
        lambda g: _profile(c, column_sums, g),
        bounds=(0.0, 2 * upper),
        method="bounded",
        options={"xatol": RATIO_TOLERANCE},
    )
    ratio = float(found.x)
    beta, xtvix, residual = _gls(c, column_sums, ratio)
    hessian = _mixed_hessian(c, column_sums, ratio, xtvix, residual)
    p = len(beta)
    cov = np.linalg.inv(-hessian)[:p, :p]
    return MixedFit(beta, cov, "" if found.success else "REML did not converge", ratio)


def _gls(c: Clusters, column_sums: np.ndarray, ratio: float):
    """beta, X'V^-1X and the residuals at V_i = I + g 11' (unscaled), V_i^-1 = I - g/(1 + n_i g) 11'."""
    k = ratio / (1 + c.sizes * ratio)
    xtvix = c.xtx - (column_sums * k[:, None]).T @ column_sums
    xtviy = c.xty - (column_sums * (k * c.y_sums)[:, None]).sum(axis=0)
    beta = np.linalg.solve(xtvix, xtviy)
    return beta, xtvix, c.y - c.x @ beta


def _profile(c: Clusters, column_sums: np.ndarray, ratio: float) -> float:
    """-(REML log-likelihood profiled over the residual variance), constants left out."""
    _, xtvix, residual = _gls(c, column_sums, ratio)
    k = ratio / (1 + c.sizes * ratio)
    rvir = float(residual @ residual - np.sum(k * c.sums(residual) ** 2))
    fac = len(c.y) - c.x.shape[1]
    logdet = float(np.sum(np.log1p(c.sizes * ratio)))
    return 0.5 * (fac * np.log(rvir) + logdet + np.linalg.slogdet(xtvix)[1])


def _mixed_hessian(
    c: Clusters, column_sums: np.ndarray, ratio: float, xtvix: np.ndarray, residual: np.ndarray
) -> np.ndarray:
    """statsmodels' `MixedLM.hessian` for one random intercept, in (fixed effects, g): with
    d_i = 1 / (1 + n_i g), V_i^-1 1 = d_i 1, so each of its sums over participants is one over
    d_i powers times column sums s_i = 1'X_i and residual sums t_i = 1'r_i."""
    n = c.sizes
    d = 1 / (1 + n * ratio)
    k = ratio * d
    t = c.sums(residual)
    fac = len(c.y) - c.x.shape[1]
    rvir = float(residual @ residual - np.sum(k * t**2))
    s = column_sums
    hess_fe = -fac * xtvix / rvir
    hess_fere = -fac * ((d**2 * t)[:, None] * s).sum(axis=0) / rvir
    b = float(np.sum(d**2 * t**2))
    dd = float(np.sum(2 * n * d**3 * t**2))
    hess_re = float(np.sum(n**2 * d**2)) / 2 - 0.5 * fac * (dd / rvir - b**2 / rvir**2)
    xtax = (s * (d**2)[:, None]).T @ s
    f = (s * (2 * n * d**3)[:, None]).T @ s
    ql = np.linalg.solve(xtvix, xtax)
    hess_re += 0.5 * (float(np.sum(ql.T * ql)) - float(np.trace(np.linalg.solve(xtvix, f))))
    p = len(hess_fe)
    hessian = np.zeros((p + 1, p + 1))
    hessian[:p, :p] = hess_fe
    hessian[:p, p] = hessian[p, :p] = hess_fere
    hessian[p, p] = hess_re
    return hessian
