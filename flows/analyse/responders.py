"""Responders compared between two arms: the risk difference with Newcombe's hybrid score interval
and the relative risk with the log interval (CONSORT 17b).

- Risk difference p1 - p2 (p = responders / participants of the arm), its interval Newcombe's
  method 10 (Newcombe, Stat Med 1998;17:873-90): from each arm's Wilson score interval (l_i, u_i),
  L = d - sqrt((p1 - l1)^2 + (u2 - p2)^2), U = d + sqrt((u1 - p1)^2 + (p2 - l2)^2). It stays inside
  [-1, 1] and is defined when an arm has no responders or only responders.
- Relative risk p1 / p2, interval exp(log RR -/+ z SE) with SE^2 = 1/x1 - 1/n1 + 1/x2 - 1/n2 (Katz et al.,
  Biometrics 1978;34:469-74). An arm without responders makes log RR and SE infinite: then 0.5 is
  added to every cell of the 2 x 2 table (x + 0.5 responders of n + 1; Haldane-Anscombe, as the
  Cochrane Handbook's RevMan does), and when neither arm has a responder there is no ratio (None).
  When both arms respond completely RR = 1 with a zero-width interval.

`tests/unit/flows/analyse/fixtures/make_responders_reference.R` computes both in base R
(prop.test's Wilson intervals); the tests compare to 1e-12. `comparisons()` gives the rows of
`analysis.responder_comparisons`: every pair of arms, later minus (or over) earlier, as the models
compare them (`models.pairs`).

Responders by multiple imputation (a sensitivity analysis of the primary outcomes at the primary
timepoint, population `plan.MULTIPLE_IMPUTATION`, `imputed_comparisons()`): the completed data sets
are those of the delta-adjusted MI without a shift (`missing.py`, `models.Imputed`: only values due
and missing imputed); in each, a participant responds when the change reaches the MCID in the better
direction (within `TOLERANCE`, as `sql/analyse/responders.sql`). Each pair's risk difference is
pooled by Rubin's rules (`pooled_difference`): within-imputation variance p1(1-p1)/n1 + p2(1-p2)/n2,
the Wald 95% interval with Student's t on Rubin's (1987) degrees of freedom (the normal quantile
when the imputations agree). No relative risk is pooled.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from itertools import groupby

import numpy as np
import pandas as pd
from scipy import special, stats

from runback.flows.analyse.models import Imputed, pairs
from runback.schemas import plan
from runback.schemas.trial import PARAMS

COLUMNS = ("timepoint", "param", "population", "term", "risk_difference", "rd_ci_low", "rd_ci_high")
COLUMNS += ("relative_risk", "rr_ci_low", "rr_ci_high", "imputations", "imputed")
TOLERANCE = 1e-9
"""A change this close to the MCID reaches it (the tolerance of `sql/analyse/responders.sql`)."""


@dataclass(frozen=True)
class Comparison:
    """A between-arm comparison of responders: estimate and confidence interval (None when the
    comparison is not defined)."""

    estimate: float | None
    ci_low: float | None
    ci_high: float | None


@cache
def _z(level: float) -> float:
    """The normal quantile of a two-sided interval, asked once per level (goal: the 1 s refresh at
    84 participants; scipy's takes 0.1 ms and a refresh asks it hundreds of times, 40 ms in all)."""
    return float(stats.norm.isf((1 - level) / 2))


def wilson(responders: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval for a proportion (no continuity correction)."""
    z = _z(level)
    p = responders / n
    centre, half = 2 * n * p + z**2, z * np.sqrt(z**2 + 4 * n * p * (1 - p))
    return float((centre - half) / (2 * (n + z**2))), float((centre + half) / (2 * (n + z**2)))


def risk_difference(x1: int, n1: int, x2: int, n2: int, level: float = 0.95) -> Comparison:
    """p1 - p2 with Newcombe's hybrid score interval (method 10); None when an arm is empty."""
    if n1 == 0 or n2 == 0:
        return Comparison(None, None, None)
    p1, p2 = x1 / n1, x2 / n2
    (l1, u1), (l2, u2) = wilson(x1, n1, level), wilson(x2, n2, level)
    d = p1 - p2
    return Comparison(d, d - float(np.hypot(p1 - l1, u2 - p2)), d + float(np.hypot(u1 - p1, p2 - l2)))


def relative_risk(x1: int, n1: int, x2: int, n2: int, level: float = 0.95) -> Comparison:
    """p1 / p2 with the log interval; 0.5 added to every cell when an arm has no responders, None
    when neither arm has any (or an arm is empty)."""
    if n1 == 0 or n2 == 0 or x1 == x2 == 0:
        return Comparison(None, None, None)
    half = 0.5 if 0 in (x1, x2) else 0.0
    a1, m1, a2, m2 = x1 + half, n1 + 2 * half, x2 + half, n2 + 2 * half
    ratio = (a1 / m1) / (a2 / m2)
    se = np.sqrt(1 / a1 - 1 / m1 + 1 / a2 - 1 / m2)
    z = _z(level)
    return Comparison(float(ratio), float(ratio * np.exp(-z * se)), float(ratio * np.exp(z * se)))


def comparisons(counts: list[tuple], arms: list[str]) -> pd.DataFrame:
    """Per timepoint, parameter and population of `counts` (analysis.responders rows: timepoint,
    param, population, arm, n, responders, in that order), both comparisons for every pair of
    `arms` of which each has a row."""
    out = []
    for group, found in groupby(sorted(counts), key=lambda row: row[:3]):
        by_arm = {arm: (int(responders), int(n)) for *_, arm, n, responders in found}
        for later, earlier in pairs([arm for arm in arms if arm in by_arm]):
            difference = risk_difference(*by_arm[later], *by_arm[earlier])
            ratio = relative_risk(*by_arm[later], *by_arm[earlier])
            out.append(
                (*group, f"{later} - {earlier}", difference.estimate, difference.ci_low, difference.ci_high)
                + (ratio.estimate, ratio.ci_low, ratio.ci_high, None, None)
            )
    return pd.DataFrame(out, columns=list(COLUMNS))


def pooled_difference(x1: np.ndarray, n1: int, x2: np.ndarray, n2: int, level: float = 0.95) -> Comparison:
    """p1 - p2 pooled over imputations by Rubin's rules (`x1`, `x2`: each imputation's responders of
    the n1 and n2 participants): the mean difference, total variance T = W + (1 + 1/m) B (W the mean
    of p1(1-p1)/n1 + p2(1-p2)/n2, B the variance of the differences over the m imputations), and the
    interval d -/+ t(df) sqrt(T), df = (m - 1)(1 + W / ((1 + 1/m) B))^2 (infinite when B = 0)."""
    p1, p2 = np.asarray(x1) / n1, np.asarray(x2) / n2
    m, difference = len(p1), p1 - p2
    d, w, b = float(np.mean(difference)), float(np.mean(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)), 0.0
    if m > 1:
        b = float(np.var(difference, ddof=1))
    between = (1 + 1 / m) * b
    df = (m - 1) * (1 + w / between) ** 2 if between > 0 else np.inf
    half = float(special.stdtrit(df, 0.5 + level / 2)) * np.sqrt(w + between)
    return Comparison(d, d - half, d + half)


def by_imputation(imputed: Imputed, arms: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The responders of each arm in each completed data set (imputations x `arms`), the
    participants of each arm and how many of them were imputed."""
    outcome = next(p for p in PARAMS if p.code == imputed.param)
    better = 1.0 if outcome.better == "higher" else -1.0
    c, reach = imputed.completed, float(outcome.mcid) - TOLERANCE
    seen = c.observed
    observed = np.bincount(c.arm[seen], better * (c.y_observed[seen] - imputed.base[seen]) >= reach, arms)
    drawn = better * (c.imputed - imputed.base[~seen]) >= reach  # imputations x participants imputed
    responded = observed + drawn.astype(float) @ (c.arm[~seen, None] == np.arange(arms))
    return responded, np.bincount(c.arm, minlength=arms), np.bincount(c.arm[~seen], minlength=arms)


def imputed_comparisons(imputed: tuple[Imputed, ...], arms: list[str]) -> pd.DataFrame:
    """The responders by multiple imputation compared between every pair of `arms` of which each has
    participants due: rows of `analysis.responder_comparisons`, the risk difference pooled by Rubin's
    rules, with the imputations and the values imputed in the two arms."""
    out = []
    for each in imputed:
        responded, n, drawn = by_imputation(each, len(arms))
        for later, earlier in pairs(arms):
            i, j = arms.index(later), arms.index(earlier)
            if n[i] and n[j]:
                difference = pooled_difference(responded[:, i], int(n[i]), responded[:, j], int(n[j]))
                out.append(
                    (each.timepoint, each.param, plan.MULTIPLE_IMPUTATION, f"{later} - {earlier}")
                    + (difference.estimate, difference.ci_low, difference.ci_high, None, None, None)
                    + (len(responded), int(drawn[i] + drawn[j]))
                )
    return pd.DataFrame(out, columns=list(COLUMNS))
