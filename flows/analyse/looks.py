"""Planned looks: group-sequential efficacy boundaries, their power, and the sample size they need.

The boundaries spend alpha by the Lan-DeMets O'Brien-Fleming-type function (Lan & DeMets 1983),

    alpha(t) = sided x 2 (1 - Phi(z_{1 - alpha / (2 sided)} / sqrt(t))),   alpha(t) = alpha for t >= 1,

at the information fractions t_1 < ... < t_K actually observed at the looks, so a look taken earlier
or later than planned spends what its information allows. The critical value c_k of look k solves

    P(Z_k crosses c_k, no earlier Z_j crossed c_j) = alpha(t_k) - alpha(t_(k-1))

(one-sided: Z_k >= c_k; two-sided: |Z_k| >= c_k), where the sequential z statistics are jointly normal
with Cov(Z_j, Z_k) = sqrt(t_j / t_k). The probabilities are computed by the classical recursive
integration over the score statistic S_k = Z_k sqrt(t_k), whose increments are independent
(Armitage, McPherson & Rowe 1969; Jennison & Turnbull 2000, chapter 19), with Simpson's rule on
the continuation region of each look, so they are deterministic and accurate to about 1e-10.
`tests/unit/flows/analyse/fixtures/make_looks_reference.R` is the oracle (R's rpact,
`getDesignGroupSequential(typeOfDesign = "asOF")`): critical values agree to 5e-8 (measured; the
test asks 1e-6), except at looks spending less than 1e-6 of alpha, whose critical values rpact
solves only to its tolerance in probability (there the nominal levels agree to 1e-9).

With sided = 2 the boundaries are symmetric and alpha is spent over both tails; two-sided designs
at alpha 0.05 and one-sided designs at 0.025 have the same critical values to 1e-8 (crossing one
boundary after having been beyond the other is that improbable).

The sample size and power of a comparison of two means with equal allocation follow rpact's
`getSampleSizeMeans` and `getPowerMeans`: the fixed-design total from the noncentral t (or the
normal approximation), times the design's inflation factor; the power of a group-sequential design
from the drift that makes the fixed design's t power exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

NODES = 401
"""Simpson's rule nodes on each look's continuation region (odd)."""
TAIL = 12.0
"""An unbounded side of a continuation region is cut this many SDs from the score's mean."""


@dataclass(frozen=True)
class Boundary:
    """One look: its information fraction, critical z value (infinite when the look has no alpha
    to spend), cumulative alpha spent, and the one-sided nominal p-value level of the critical value."""

    look: int
    information: float
    critical: float
    alpha_spent: float
    nominal: float


def spent(t: np.ndarray | float, alpha: float, sided: int = 1) -> np.ndarray:
    """The Lan-DeMets O'Brien-Fleming-type alpha spent by information fraction t (cumulative)."""
    t = np.minimum(np.asarray(t, dtype=float), 1.0)
    z = stats.norm.isf(alpha / (2 * sided))
    return np.where(t > 0, sided * 2 * stats.norm.sf(z / np.sqrt(np.maximum(t, 1e-300))), 0.0)


@dataclass(frozen=True)
class _Region:
    """The continuation region of the score S_k = Z_k sqrt(t_k) at a look, as Simpson nodes and
    the probability of reaching each node's neighbourhood without having crossed a boundary (the
    density times the node's Simpson weight)."""

    nodes: np.ndarray
    mass: np.ndarray

    def crossing(self, step: float, drift: float, lower: float, upper: float) -> float:
        """P(no crossing so far, then S at the next look, `step` later in information, below
        `lower` or beyond `upper`), the score's drift per unit information being `drift`."""
        mean, sd = self.nodes + drift * step, np.sqrt(step)
        tails = stats.norm.sf((upper - mean) / sd) + stats.norm.cdf((lower - mean) / sd)
        return float(self.mass @ tails)

    def next(self, step: float, drift: float, lower: float, upper: float) -> _Region:
        """The region of the next look, between `lower` and `upper` (finite; empty when equal)."""
        nodes = np.linspace(lower, upper, NODES)
        sd = np.sqrt(step)
        kernel = stats.norm.pdf((nodes[:, None] - self.nodes[None, :] - drift * step) / sd) / sd
        return _Region(nodes, _simpson(nodes) * (kernel @ self.mass))


def _simpson(nodes: np.ndarray) -> np.ndarray:
    """Simpson's rule weights on equally spaced nodes (an odd number of them)."""
    w = np.ones(len(nodes))
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    return w * (nodes[1] - nodes[0]) / 3


_START = _Region(np.zeros(1), np.ones(1))
"""Before the first look: S = 0 at information 0 with probability 1."""


def _limits(critical: float, t: float, drift: float, sided: int) -> tuple[float, float]:
    """The continuation region of S at information t, cut TAIL SDs from its mean where unbounded."""
    mean, sd = drift * t, np.sqrt(t)
    upper = min(critical * sd, mean + TAIL * sd)
    lower = max(-critical * sd, mean - TAIL * sd) if sided == 2 else mean - TAIL * sd
    return lower, max(lower, upper)


def _critical(region: _Region, step: float, t: float, target: float, sided: int) -> float:
    """The critical z value at information t whose crossing probability (drift 0) is `target`."""
    if target <= 0:
        return np.inf

    def excess(c: float) -> float:
        lower = -c * np.sqrt(t) if sided == 2 else -np.inf
        return region.crossing(step, 0.0, lower, c * np.sqrt(t)) - target

    return float(optimize.brentq(excess, 0.0, 40.0, xtol=1e-12, rtol=1e-14))


def boundaries(fractions: tuple[float, ...], alpha: float = 0.025, sided: int = 1) -> tuple[Boundary, ...]:
    """The efficacy boundaries of looks at the given information fractions (increasing; the final
    analysis at 1 spends what is left of alpha)."""
    t = np.asarray(fractions, dtype=float)
    if len(t) == 0 or np.any(t <= 0) or np.any(np.diff(t) <= 0):
        raise ValueError(f"information fractions must be positive and increasing, not {fractions}")
    spending = spent(t, alpha, sided)
    region, previous, out = _START, 0.0, []
    for k, (t_k, spent_k) in enumerate(zip(t, spending, strict=True)):
        step = t_k - previous
        target = spent_k - (spending[k - 1] if k else 0.0)
        c = _critical(region, step, t_k, target, sided)
        out.append(Boundary(k + 1, float(t_k), c, float(spent_k), float(stats.norm.sf(c))))
        region, previous = region.next(step, 0.0, *_limits(c, t_k, 0.0, sided)), t_k
    return tuple(out)


def rejections(bounds: tuple[Boundary, ...], drift: float, sided: int = 1) -> np.ndarray:
    """P(the trial crosses a boundary first at each look) when E[Z at information 1] = `drift`
    (the score's drift per unit information)."""
    region, previous, out = _START, 0.0, []
    for b in bounds:
        step = b.information - previous
        upper, lower = b.critical * np.sqrt(b.information), -b.critical * np.sqrt(b.information)
        out.append(region.crossing(step, drift, lower if sided == 2 else -np.inf, upper))
        region, previous = region.next(step, drift, *_limits(b.critical, b.information, drift, sided)), b.information
    return np.asarray(out)


def inflation(bounds: tuple[Boundary, ...], alpha: float, beta: float) -> float:
    """The inflation factor of a one-sided design: its maximum information over the fixed design's,
    at power 1 - beta."""
    fixed = stats.norm.isf(alpha) + stats.norm.isf(beta)
    drift = optimize.brentq(lambda d: rejections(bounds, d).sum() - (1 - beta), 0.0, 4 * fixed, xtol=1e-12)
    return float((drift / fixed) ** 2)


def fixed_total(effect: float, sd: float, alpha: float, beta: float, normal: bool = False) -> float:
    """The total of a fixed-design, one-sided comparison of two means (1:1) at level alpha and power
    1 - beta: noncentral t (df n - 2) or the normal approximation, as rpact's getSampleSizeMeans."""
    standardised = abs(effect) / sd
    approximate = float(4 * (stats.norm.isf(alpha) + stats.norm.isf(beta)) ** 2 / standardised**2)
    if normal:
        return approximate

    def shortfall(per_arm: float) -> float:
        df = max(1e-3, 2 * per_arm - 2)
        return stats.nct.cdf(stats.t.isf(alpha, df), df, np.sqrt(per_arm / 2) * standardised) - beta

    return 2 * float(optimize.brentq(shortfall, 1.001, approximate + 4, xtol=1e-10))  # t needs a few more


def sample_size(bounds: tuple[Boundary, ...], effect: float, sd: float, beta: float, normal: bool = False) -> float:
    """The maximum total of a one-sided group-sequential comparison of two means: the fixed total
    times the design's inflation factor (rpact's getSampleSizeMeans)."""
    alpha = bounds[-1].alpha_spent
    return fixed_total(effect, sd, alpha, beta, normal) * inflation(bounds, alpha, beta)


def power(bounds: tuple[Boundary, ...], effect: float, sd: float, total: float, normal: bool = False) -> np.ndarray:
    """P(crossing first at each look) of a one-sided comparison of two means (1:1) with `total`
    participants at the final look; with the t distribution the drift is the one whose normal power
    equals the fixed design's noncentral t power (rpact's getPowerMeans)."""
    alpha = bounds[-1].alpha_spent
    drift = abs(effect) / sd * np.sqrt(total) / 2
    if not normal:
        df = total - 2
        t_power = stats.nct.sf(stats.t.isf(alpha, df), df, drift)
        drift = stats.norm.isf(alpha) - stats.norm.isf(t_power)
    return rejections(bounds, drift)


def z_of_t(t: float, df: float | None) -> float:
    """The z value with the same one-sided p-value as t on df degrees of freedom (None: t is z), so
    that a t test (the MMRM's, Satterthwaite df) is compared with a boundary on the z scale."""
    if df is None:
        return t
    return float(np.sign(t) * stats.norm.isf(stats.t.sf(abs(t), df)))


@dataclass(frozen=True)
class Assumptions:
    """What a sample size rests on, for one between-arm comparison of the primary outcome at the
    primary timepoint: the difference in means, the outcome's SD, its correlation with the baseline
    value (the ANCOVA/MMRM adjustment for baseline leaves the variance times 1 - rho^2; Borm et al.,
    J Clin Epidemiol 2007;60:1234-8), the one-sided alpha, the share of randomised participants
    without the primary outcome, the planned looks' information fractions and the number of arms
    randomised 1:1:..."""

    effect: float
    sd: float
    correlation: float
    alpha: float
    dropout: float
    fractions: tuple[float, ...]
    arms: int

    @property
    def adjusted_sd(self) -> float:
        return self.sd * float(np.sqrt(1 - self.correlation**2))

    def required(self, beta: float) -> int:
        """Participants to randomise for power 1 - beta: the pair's group-sequential total, per arm
        rounded up after dropout, times the arms."""
        pair = sample_size(boundaries(self.fractions, self.alpha), self.effect, self.adjusted_sd, beta)
        return self.arms * int(np.ceil(pair / 2 / (1 - self.dropout)))

    def power(self, randomised: int) -> float:
        """The power of the comparison when `randomised` participants are randomised over the arms."""
        pair = 2 * randomised / self.arms * (1 - self.dropout)
        return float(power(boundaries(self.fractions, self.alpha), self.effect, self.adjusted_sd, pair).sum())

    def fraction(self, std_error: float, randomised: int) -> float:
        """The information fraction of a look at which the pair's contrast has standard error
        `std_error`: its information 1 / SE^2 over the information the plan expects at the final
        analysis of `randomised` participants (evaluable per arm / (2 x adjusted SD^2)). The final
        analysis itself is a look at fraction 1 whatever its SE, so that it spends what is left."""
        final = randomised / self.arms * (1 - self.dropout) / (2 * self.adjusted_sd**2)
        return float(1 / std_error**2 / final)


@dataclass(frozen=True)
class Tested:
    """One hypothesis of a graphical procedure after a look: its local alpha (at its rejection, or
    what it holds at the end), the boundary of that alpha at the last look (None when it holds no
    alpha), its z at the last look, and whether it is rejected."""

    name: str
    alpha: float
    boundary: Boundary | None
    z: float | None
    rejected: bool


Graph = dict[tuple[str, str], float]


def passed_on(weights: dict[str, float], graph: Graph, rejected: str) -> tuple[dict[str, float], Graph]:
    """The weights and graph once `rejected` is rejected (Bretz et al., Stat Med 2009;28:586-604,
    algorithm 1): its weight passes along its edges, and the edges through it join up."""
    left = [h for h in weights if h != rejected]
    edge = lambda a, b: graph.get((a, b), 0.0)  # noqa: E731 - a lookup with a default
    new_weights = {h: weights[h] + weights[rejected] * edge(rejected, h) for h in left}
    new_graph = {}
    for a in left:
        loop = edge(a, rejected) * edge(rejected, a)
        for b in left:
            if a != b and loop < 1:
                through = (edge(a, b) + edge(a, rejected) * edge(rejected, b)) / (1 - loop)
                if through > 0:
                    new_graph[(a, b)] = through
    return new_weights, new_graph


def _bounds(fractions: tuple[float, ...], alpha: float) -> tuple[Boundary, ...] | None:
    """One-sided boundaries at the fractions for a local alpha (None without alpha)."""
    return boundaries(fractions, alpha) if alpha > 1e-12 else None


def graphical(
    weights: dict[str, float],
    graph: Graph,
    z: dict[str, list[float | None]],
    fractions: tuple[float, ...],
    alpha: float,
) -> list[Tested]:
    """A graphical procedure with group-sequential boundaries (Maurer & Bretz, Stat Biopharm Res
    2013;5:311-20): each hypothesis not yet rejected is rejected when its z at any look so far
    (`z[h][k]` at `fractions[k]`, None where it was not computed) reaches the one-sided boundary of
    its local alpha (weight x alpha) at that look; its alpha then passes on and the others are
    tested again, until none more is rejected. Hypotheses are tested in the order given."""
    local, rejected_at = dict(weights), {}
    while True:
        found = next((h for h in local if _crosses(z[h], fractions, local[h] * alpha)), None)
        if found is None:
            break
        rejected_at[found] = local[found] * alpha
        local, graph = passed_on(local, graph, found)
    out = []
    for h in weights:
        level = rejected_at.get(h, local.get(h, 0.0) * alpha)
        bounds = _bounds(fractions, level)
        out.append(Tested(h, level, bounds[-1] if bounds else None, z[h][-1], h in rejected_at))
    return out


def _crosses(z: list[float | None], fractions: tuple[float, ...], alpha: float) -> bool:
    bounds = _bounds(fractions[: len(z)], alpha)
    return bounds is not None and any(v is not None and v >= b.critical for v, b in zip(z, bounds, strict=True))


def levels(weights: dict[str, float], graph: Graph, alpha: float) -> list[float]:
    """Every local alpha a hypothesis can hold in the graph, whichever others are rejected (largest first)."""
    found, states = set(), [(dict(weights), dict(graph))]
    while states:
        w, g = states.pop()
        found |= {round(v * alpha, 15) for v in w.values() if v > 1e-12}
        states += [passed_on(w, g, h) for h in w]
    return sorted(found, reverse=True)
