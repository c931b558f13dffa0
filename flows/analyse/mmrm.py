"""A mixed model for repeated measures (MMRM) on numpy/scipy: generalised least squares with an
unstructured within-participant covariance, fitted by REML, with Satterthwaite degrees of freedom.

The model is y_i = X_i beta + e_i, e_i ~ N(0, Sigma[V_i, V_i]), where V_i are the visits participant
i was assessed at and Sigma (k x k, one row per visit) is unstructured. It is the model of R's
`nlme::gls(y ~ ..., correlation = corSymm(form = ~ visit_index | id),
weights = varIdent(form = ~ 1 | visit), method = "REML")`, which is its test oracle
(`tests/unit/flows/analyse/fixtures/make_mmrm_reference.R`).

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

import functools
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special


@dataclass(frozen=True)
class Patterns:
    """Participants grouped by the visits they were assessed at, as the sums over each pattern's
    participants that the REML criterion needs, laid out over all k visits so that every pattern is
    computed at once: xx[i, a, b] = sum x_a x_b' (P, k, k, p, p), xy[i, a, b] = sum x_a y_b
    (P, k, k, p), yy[i, a, b] = sum y_a y_b (P, k, k), x_a being a participant's design row at
    visit a (zero at the visits a pattern lacks); `seen` (P, k) marks each pattern's visits, `m` (P)
    counts its participants; `inside` (P, k, k) marks the pairs of visits of each pattern."""

    seen: np.ndarray
    m: np.ndarray
    xx: np.ndarray
    xy: np.ndarray
    yy: np.ndarray
    inside: np.ndarray


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
    """A REML fit: fixed effects, their covariance, Sigma, and what Satterthwaite's df need
    (`weights`: each pattern's Sigma[V, V]^-1 at the REML estimate, as `_inverses` lays it out)."""

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
    patterns: Patterns
    weights: np.ndarray

    def contrast(self, vector: np.ndarray, level: float = 0.95) -> Contrast:
        """Estimate, SE, Satterthwaite df, CI and two-sided p of c'beta."""
        return self.contrasts(np.asarray(vector, dtype=float)[None, :], level)[0]

    def contrasts(self, vectors: np.ndarray, level: float = 0.95) -> list[Contrast]:
        """`contrast` of each row of `vectors`, their df's gradients computed together."""
        c = np.asarray(vectors, dtype=float)
        estimates, variances = c @ self.beta, np.einsum("cp,ps,cs->c", c, self.cov_beta, c)
        gradients = _variance_gradients(self.theta, self.patterns, len(self.sigma), c @ self.cov_beta, self.weights)
        dfs = 2 * variances**2 / np.einsum("cu,uv,cv->c", gradients, self.theta_cov, gradients)
        return [
            t_contrast(float(e), float(np.sqrt(v)), float(df), level)
            for e, v, df in zip(estimates, variances, dfs, strict=True)
        ]


def t_contrast(estimate: float, se: float, df: float, level: float = 0.95) -> Contrast:
    """A contrast with t inference on `df`: CI from Student's t quantile, two-sided p."""
    if not se > 0:  # no variance: an estimate without inference
        return Contrast(estimate, se, df, float("nan"), float("nan"), float("nan"))
    half = float(special.stdtrit(df, 0.5 + level / 2)) * se
    p = float(2 * special.stdtr(df, -abs(estimate) / se))
    return Contrast(estimate, se, df, estimate - half, estimate + half, p)


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
    lower = _lower(theta, k)
    value, _, beta, phi = _reml_at(lower, patterns, need_gradient=False)
    hessian = _hessian(theta, patterns, k)
    theta_cov = 2 * np.linalg.pinv(hessian)
    gradient_norm = float(np.max(np.abs(_criterion(theta, patterns, k)[1])))
    return MmrmFit(
        names=tuple(names),
        beta=beta,
        cov_beta=phi,
        sigma=lower @ lower.T,
        theta=theta,
        theta_cov=theta_cov,
        minus2_reml=value,
        converged=bool(result.success or gradient_norm < 1e-4),
        n_obs=len(y),
        n_participants=int(patterns.m.sum()),
        patterns=patterns,
        weights=_inverses(lower @ lower.T, patterns)[0],
    )


def _patterns(y: np.ndarray, x: np.ndarray, subject: np.ndarray, visit: np.ndarray) -> Patterns:
    """Group the rows by participant, then participants by the visits they were assessed at (the
    set of visits as the bits of one integer, so the grouping is a sort, not a loop), and take each
    pattern's sums as matrix products."""
    order = np.lexsort((visit, subject))
    y, x, subject, visit = y[order], x[order], subject[order], visit[order]
    starts = np.flatnonzero(np.r_[True, subject[1:] != subject[:-1]])
    key = np.repeat(np.add.reduceat(2**visit, starts), np.diff(np.r_[starts, len(subject)]))
    by_key = np.argsort(key, kind="stable")  # a participant's rows stay together, in visit order
    y, x, key, visit = y[by_key], x[by_key], key[by_key], visit[by_key]
    bounds = np.flatnonzero(np.r_[True, key[1:] != key[:-1], True])
    k, p, n = int(visit.max()) + 1, x.shape[1], len(bounds) - 1
    seen, m = np.zeros((n, k), bool), np.zeros(n)
    xx, xy, yy = np.zeros((n, k, k, p, p)), np.zeros((n, k, k, p)), np.zeros((n, k, k))
    for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        q = int(key[lo]).bit_count()  # visits per participant of this pattern
        visits, m[i] = visit[lo : lo + q], (hi - lo) // q
        flat, values = x[lo:hi].reshape(-1, q * p), y[lo:hi].reshape(-1, q)
        block = np.ix_(visits, visits)
        seen[i, visits] = True
        xx[i][block] = (flat.T @ flat).reshape(q, p, q, p).transpose(0, 2, 1, 3)
        xy[i][block] = (flat.T @ values).reshape(q, p, q).transpose(0, 2, 1)
        yy[i][block] = values.T @ values
    return Patterns(seen, m, xx, xy, yy, seen[:, :, None] & seen[:, None, :])


def _start(y: np.ndarray, x: np.ndarray, subject: np.ndarray, visit: np.ndarray, k: int) -> np.ndarray:
    """Starting theta: the pairwise covariance of the OLS residuals (a diagonal one if it is not
    positive definite), which leaves BFGS few steps to the REML optimum."""
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    residual = y - x @ beta
    _, first, inverse = np.unique(subject, return_index=True, return_inverse=True)
    row = np.empty(len(first), dtype=int)
    row[np.argsort(first, kind="stable")] = np.arange(len(first))  # participants in order of appearance
    wide = np.full((len(first), k), np.nan)
    wide[row[inverse.ravel()], visit] = residual
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


@functools.cache
def _indices(k: int) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], np.ndarray]:
    """The diagonal and the strictly lower triangle of a k x k matrix, and the k x k identity."""
    return np.diag_indices(k), np.tril_indices(k, -1), np.eye(k)


def _lower(theta: np.ndarray, k: int) -> np.ndarray:
    diagonal, below, _ = _indices(k)
    lower = np.zeros((k, k))
    lower[diagonal] = np.exp(theta[:k])
    lower[below] = theta[k:]
    return lower


def _inverses(sigma: np.ndarray, patterns: Patterns) -> tuple[np.ndarray, np.ndarray]:
    """Each pattern's Sigma[V, V]^-1 laid out over all visits (zero elsewhere), and log det Sigma[V, V]:
    Sigma on a pattern's visits and the identity elsewhere is inverted in one batched call."""
    blocks = np.where(patterns.inside, sigma, _indices(len(sigma))[2])
    factor = np.linalg.cholesky(blocks)
    logdet = 2 * np.sum(np.log(np.diagonal(factor, axis1=1, axis2=2)), axis=1)
    return np.linalg.inv(blocks) * patterns.inside, logdet


def _reml(theta: np.ndarray, patterns: Patterns, k: int, need_gradient: bool = True):
    """-2 REML log-likelihood (without its constant), d/dSigma of it, beta and (X'WX)^-1."""
    return _reml_at(_lower(theta, k), patterns, need_gradient)


def _reml_at(lower: np.ndarray, patterns: Patterns, need_gradient: bool = True):
    """`_reml` at Sigma = L L'."""
    w, logdet = _inverses(lower @ lower.T, patterns)
    xtwx = np.einsum("iab,iabps->ps", w, patterns.xx)
    xtwy = np.einsum("iab,iabp->p", w, patterns.xy)
    phi = np.linalg.inv(xtwx)
    beta = phi @ xtwy
    value = patterns.m @ logdet + np.linalg.slogdet(xtwx)[1] + np.sum(w * patterns.yy) - float(beta @ xtwy)
    if not need_gradient:
        return value, None, beta, phi
    fitted = patterns.xy @ beta  # sum (x_a beta) y_b
    residual = patterns.yy - fitted - fitted.transpose(0, 2, 1) + np.einsum("iabps,p,s->iab", patterns.xx, beta, beta)
    leverage = np.einsum("iabps,ps->iab", patterns.xx, phi)  # sum x_a Phi x_b'
    grad_sigma = np.sum(patterns.m[:, None, None] * w - w @ (residual + leverage) @ w, axis=0)
    return value, grad_sigma, beta, phi


def _to_theta(grad_sigma: np.ndarray, theta: np.ndarray, k: int) -> np.ndarray:
    """Chain rule from a symmetric d/dSigma to d/dtheta (Sigma = L L', log diagonal)."""
    return _chain(grad_sigma, _lower(theta, k))


def _chain(grad_sigma: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """`_to_theta` at Sigma = L L'."""
    diagonal, below, _ = _indices(len(lower))
    grad_lower = 2 * grad_sigma @ lower
    return np.concatenate((grad_lower[diagonal] * lower[diagonal], grad_lower[below]))


def _criterion(theta: np.ndarray, patterns: Patterns, k: int) -> tuple[float, np.ndarray]:
    lower = _lower(theta, k)
    try:
        value, grad_sigma, _, _ = _reml_at(lower, patterns)
    except np.linalg.LinAlgError:
        return np.inf, np.zeros_like(theta)
    return value, _chain(grad_sigma, lower)


def _hessian(theta: np.ndarray, patterns: Patterns, k: int, step: float = 1e-5) -> np.ndarray:
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


def _variance_gradient(
    theta: np.ndarray, patterns: Patterns, k: int, phi_c: np.ndarray, w: np.ndarray | None = None
) -> np.ndarray:
    """d(c' Phi c)/dtheta, with Phi = (X'WX)^-1: sum over participants of (W X Phi c)(W X Phi c)'
    (`w`: the patterns' inverses at theta, computed here when not given)."""
    return _variance_gradients(theta, patterns, k, phi_c[None, :], w)[0]


def _variance_gradients(
    theta: np.ndarray, patterns: Patterns, k: int, phi_c: np.ndarray, w: np.ndarray | None = None
) -> np.ndarray:
    """`_variance_gradient` for each row of `phi_c` (one row per contrast)."""
    lower = _lower(theta, k)
    if w is None:
        w, _ = _inverses(lower @ lower.T, patterns)
    spread = np.einsum("iabps,cp,cs->ciab", patterns.xx, phi_c, phi_c)  # sum (x_a Phi c)(x_b Phi c)
    grad_lower = 2 * np.sum(w @ spread @ w, axis=1) @ lower
    (rows, columns), (below_rows, below_columns), _ = _indices(k)
    return np.concatenate(
        (grad_lower[:, rows, columns] * lower[rows, columns], grad_lower[:, below_rows, below_columns]), axis=1
    )
