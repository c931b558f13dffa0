"""A mixed model for repeated measures (MMRM) on numpy/scipy: generalised least squares with an
unstructured within-participant covariance, fitted by REML, with Satterthwaite degrees of freedom.

The model is y_i = X_i beta + e_i, e_i ~ N(0, Sigma[V_i, V_i]), where V_i are the visits participant
i was assessed at and Sigma (k x k, one row per visit) is unstructured. It is the model of R's
`nlme::gls(y ~ ..., correlation = corSymm(form = ~ visit_index | id),
weights = varIdent(form = ~ 1 | visit), method = "REML")`, which is its test oracle
(`tests/flows/analyse/fixtures/make_mmrm_reference.R`).

- Sigma = L L' with L lower triangular, its diagonal on the log scale (theta, k(k+1)/2 values).
- The REML criterion and its gradient are computed per visit pattern: participants assessed at
  the same visits share Sigma[V, V] and its inverse, so each pattern enters only through the sums
  of its participants' cross-products (X'X, X'y, y'y per pair of visits), taken once per fit. The
  optimiser's work then grows with the number of patterns, not with the number of participants.
- beta is the GLS estimate at the REML Sigma; its covariance (X' W X)^-1 is model based.
- A contrast c'beta gets Satterthwaite's degrees of freedom, 2 (c' Phi c)^2 / (g' A g), with g the
  gradient of c' Phi(theta) c (analytic) and A the asymptotic covariance of theta (twice the inverse
  Hessian of the -2 REML log-likelihood, by central differences of its analytic gradient). This is
  what `emmeans` computes for a `gls` fit with `mode = "satterthwaite"`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats


@dataclass(frozen=True)
class Pattern:
    """Participants assessed at the same visits (q of them), as the sums over those m participants
    that the REML criterion needs: xx[a, b] = sum x_a x_b' (q, q, p, p), xy[a, b] = sum x_a y_b
    (q, q, p) and yy[a, b] = sum y_a y_b (q, q), x_a being a participant's design row at visit a."""

    visits: np.ndarray
    m: int
    xx: np.ndarray
    xy: np.ndarray
    yy: np.ndarray

    @classmethod
    def of(cls, visits: np.ndarray, x: np.ndarray, y: np.ndarray) -> Pattern:
        """The sums of one pattern's design (m, q, p) and responses (m, q), as matrix products."""
        m, q, p = x.shape
        flat = x.reshape(m, q * p)
        xx = (flat.T @ flat).reshape(q, p, q, p).transpose(0, 2, 1, 3)
        xy = (flat.T @ y).reshape(q, p, q).transpose(0, 2, 1)
        return cls(visits, m, xx, xy, y.T @ y)


@dataclass(frozen=True)
class Contrast:
    """One linear combination c'beta of the fixed effects, with t inference on its df
    (Satterthwaite's for the MMRM; Rubin's rules' when pooled over imputations), or z inference
    when `df` is None (the GEE and the mixed model)."""

    estimate: float
    std_error: float
    df: float | None
    ci_low: float
    ci_high: float
    p_value: float


@dataclass(frozen=True)
class MmrmFit:
    """A REML fit: fixed effects, their covariance, Sigma, and what Satterthwaite's df need."""

    names: tuple[str, ...]
    beta: np.ndarray
    cov_beta: np.ndarray
    sigma: np.ndarray
    theta: np.ndarray
    theta_cov: np.ndarray
    minus2_reml: float
    converged: bool
    n_obs: int
    n_participants: int
    patterns: tuple[Pattern, ...]

    def contrast(self, vector: np.ndarray, level: float = 0.95) -> Contrast:
        """Estimate, SE, Satterthwaite df, CI and two-sided p of c'beta."""
        c = np.asarray(vector, dtype=float)
        estimate = float(c @ self.beta)
        variance = float(c @ self.cov_beta @ c)
        gradient = _variance_gradient(self.theta, self.patterns, len(self.sigma), self.cov_beta @ c)
        df = float(2 * variance**2 / (gradient @ self.theta_cov @ gradient))
        se = np.sqrt(variance)
        t = stats.t.ppf(0.5 + level / 2, df)
        p = float(2 * stats.t.sf(abs(estimate) / se, df))
        return Contrast(estimate, float(se), df, estimate - t * se, estimate + t * se, p)


def fit(y: np.ndarray, x: np.ndarray, subject: np.ndarray, visit: np.ndarray, names: tuple[str, ...]) -> MmrmFit:
    """Fit the MMRM to rows (y, x) of participants `subject` at visit indices `visit` (0..k-1)."""
    y, x = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    visit = np.asarray(visit, dtype=int)
    k = int(visit.max()) + 1
    patterns = _patterns(y, x, np.asarray(subject), visit)
    start = _start(y, x, np.asarray(subject), visit, k)
    result = optimize.minimize(
        _criterion,
        start,
        args=(patterns, k),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-10, "ftol": 1e-15, "maxiter": 2000},
    )
    theta = result.x
    value, _, beta, phi = _reml(theta, patterns, k, need_gradient=False)
    hessian = _hessian(theta, patterns, k)
    theta_cov = 2 * np.linalg.pinv(hessian)
    gradient_norm = float(np.max(np.abs(_criterion(theta, patterns, k)[1])))
    lower = _lower(theta, k)
    return MmrmFit(
        names=tuple(names), beta=beta, cov_beta=phi, sigma=lower @ lower.T, theta=theta, theta_cov=theta_cov,
        minus2_reml=value, converged=bool(result.success or gradient_norm < 1e-4), n_obs=len(y),
        n_participants=int(sum(p.m for p in patterns)), patterns=patterns,
    )  # fmt: skip


def _patterns(y: np.ndarray, x: np.ndarray, subject: np.ndarray, visit: np.ndarray) -> tuple[Pattern, ...]:
    """Group the rows by participant, then participants by the visits they were assessed at (the
    set of visits as the bits of one integer, so the grouping is a sort, not a loop)."""
    order = np.lexsort((visit, subject))
    y, x, subject, visit = y[order], x[order], subject[order], visit[order]
    starts = np.flatnonzero(np.r_[True, subject[1:] != subject[:-1]])
    key = np.repeat(np.add.reduceat(2**visit, starts), np.diff(np.r_[starts, len(subject)]))
    by_key = np.argsort(key, kind="stable")  # a participant's rows stay together, in visit order
    y, x, key, visit = y[by_key], x[by_key], key[by_key], visit[by_key]
    bounds = np.flatnonzero(np.r_[True, key[1:] != key[:-1], True])
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        q = int(key[lo]).bit_count()  # visits per participant of this pattern
        m = (hi - lo) // q
        out.append(Pattern.of(visit[lo : lo + q], x[lo:hi].reshape(m, q, -1), y[lo:hi].reshape(m, q)))
    return tuple(sorted(out, key=lambda pattern: tuple(pattern.visits)))


def _start(y: np.ndarray, x: np.ndarray, subject: np.ndarray, visit: np.ndarray, k: int) -> np.ndarray:
    """Starting theta: the pairwise covariance of the OLS residuals (a diagonal one if it is not
    positive definite), which leaves BFGS few steps to the REML optimum."""
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    residual = y - x @ beta
    ids = {s: i for i, s in enumerate(dict.fromkeys(subject))}
    wide = np.full((len(ids), k), np.nan)
    wide[[ids[s] for s in subject], visit] = residual
    variances = np.array([max(np.nanmean(wide[:, v] ** 2), 1e-8) for v in range(k)])
    start = np.diag(variances)
    for i in range(k):
        for j in range(i):
            both = ~np.isnan(wide[:, i]) & ~np.isnan(wide[:, j])
            if both.sum() > 2:
                start[i, j] = start[j, i] = np.mean(wide[both, i] * wide[both, j])
    try:
        lower = np.linalg.cholesky(start)
    except np.linalg.LinAlgError:
        lower = np.diag(np.sqrt(variances))
    return np.r_[np.log(np.diag(lower)), lower[np.tril_indices(k, -1)]]


def _lower(theta: np.ndarray, k: int) -> np.ndarray:
    lower = np.zeros((k, k))
    lower[np.diag_indices(k)] = np.exp(theta[:k])
    lower[np.tril_indices(k, -1)] = theta[k:]
    return lower


def _reml(theta: np.ndarray, patterns: tuple[Pattern, ...], k: int, need_gradient: bool = True):
    """-2 REML log-likelihood (without its constant), d/dSigma of it, beta and (X'WX)^-1."""
    lower = _lower(theta, k)
    sigma = lower @ lower.T
    p = patterns[0].xx.shape[2]
    xtwx, xtwy, ytwy, logdet = np.zeros((p, p)), np.zeros(p), 0.0, 0.0
    inverses = []
    for pattern in patterns:
        block = sigma[np.ix_(pattern.visits, pattern.visits)]
        factor = np.linalg.cholesky(block)
        w = np.linalg.inv(block)
        xtwx += np.einsum("ab,abps->ps", w, pattern.xx)
        xtwy += np.einsum("ab,abp->p", w, pattern.xy)
        ytwy += float(np.sum(w * pattern.yy))
        logdet += pattern.m * 2 * np.sum(np.log(np.diag(factor)))
        inverses.append(w)
    phi = np.linalg.inv(xtwx)
    beta = phi @ xtwy
    sign, logdet_xtwx = np.linalg.slogdet(xtwx)
    value = logdet + logdet_xtwx + ytwy - float(beta @ xtwy)
    if not need_gradient:
        return value, None, beta, phi
    grad_sigma = np.zeros((k, k))
    for pattern, w in zip(patterns, inverses, strict=True):
        fitted_y = pattern.xy @ beta  # sum (x_a beta) y_b
        residual = pattern.yy - fitted_y - fitted_y.T + np.einsum("p,abps,s->ab", beta, pattern.xx, beta)
        leverage = np.einsum("abps,ps->ab", pattern.xx, phi)  # sum x_a Phi x_b'
        block = pattern.m * w - w @ (residual + leverage) @ w
        grad_sigma[np.ix_(pattern.visits, pattern.visits)] += block
    return value, grad_sigma, beta, phi


def _to_theta(grad_sigma: np.ndarray, theta: np.ndarray, k: int) -> np.ndarray:
    """Chain rule from a symmetric d/dSigma to d/dtheta (Sigma = L L', log diagonal)."""
    lower = _lower(theta, k)
    grad_lower = 2 * grad_sigma @ lower
    return np.r_[np.diag(grad_lower) * np.diag(lower), grad_lower[np.tril_indices(k, -1)]]


def _criterion(theta: np.ndarray, patterns: tuple[Pattern, ...], k: int) -> tuple[float, np.ndarray]:
    try:
        value, grad_sigma, _, _ = _reml(theta, patterns, k)
    except np.linalg.LinAlgError:
        return np.inf, np.zeros_like(theta)
    return value, _to_theta(grad_sigma, theta, k)


def _hessian(theta: np.ndarray, patterns: tuple[Pattern, ...], k: int, step: float = 1e-5) -> np.ndarray:
    """Hessian of -2 REML log-likelihood by central differences of its analytic gradient."""
    n = len(theta)
    hessian = np.zeros((n, n))
    for j in range(n):
        shift = np.zeros(n)
        shift[j] = step
        hessian[:, j] = (_criterion(theta + shift, patterns, k)[1] - _criterion(theta - shift, patterns, k)[1]) / (
            2 * step
        )
    return (hessian + hessian.T) / 2


def _variance_gradient(theta: np.ndarray, patterns: tuple[Pattern, ...], k: int, phi_c: np.ndarray) -> np.ndarray:
    """d(c' Phi c)/dtheta, with Phi = (X'WX)^-1: sum over participants of (W X Phi c)(W X Phi c)'."""
    lower = _lower(theta, k)
    sigma = lower @ lower.T
    grad_sigma = np.zeros((k, k))
    for pattern in patterns:
        w = np.linalg.inv(sigma[np.ix_(pattern.visits, pattern.visits)])
        spread = np.einsum("p,abps,s->ab", phi_c, pattern.xx, phi_c)  # sum (x_a Phi c)(x_b Phi c)
        grad_sigma[np.ix_(pattern.visits, pattern.visits)] += w @ spread @ w
    return _to_theta(grad_sigma, theta, k)
