"""The statistical analysis plan as data: estimands, the primary analysis, secondary outcomes,
multiplicity and sensitivity analyses. `flows/analyse/models.py` fits what is declared here and
marks each result with its role; docs/analysis.md restates it and a test checks that the two agree.

Arms are never named here: every analysis compares every pair of arms present in the data
(later minus earlier in the order of `ref.arms`), so the plan holds whether the warehouse stores
arm codes or blinded letters.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from runback.schemas.trial import PARAMS, PRIMARY, TIMEPOINTS

ITT = "ITT"
PER_PROTOCOL = "Per protocol"
PRIMARY_ROLE, SECONDARY_ROLE, SENSITIVITY_ROLE = "primary", "secondary", "sensitivity"
ROLES = (PRIMARY_ROLE, SECONDARY_ROLE, SENSITIVITY_ROLE)

MMRM, ANCOVA, GEE, MIXED, DELTA_MI = "MMRM", "ANCOVA", "GEE", "Mixed model", "Delta-adjusted MI"

PRIMARY_TIMEPOINT = "week_8"
"""The primary endpoint: the end of the 8-week programme."""


@dataclass(frozen=True)
class Estimand:
    """ICH E9(R1) attributes of the estimand of one primary outcome."""

    outcome: str
    population: str
    variable: str
    intercurrent_events: tuple[tuple[str, str], ...]
    summary_measure: str


@dataclass(frozen=True)
class Analysis:
    """One model of the plan: which results it gives and what role they play."""

    model: str
    role: str
    population: str
    params: tuple[str, ...]
    timepoints: tuple[str, ...]
    description: str
    inference: str


ESTIMANDS = tuple(
    Estimand(
        outcome=code,
        population="All randomised participants (recreational runners with chronic low back pain), as allocated",
        variable=f"{label} at week 8 (end of the programme)",
        intercurrent_events=(
            ("Non-adherence to the programme (fewer than 12 of 16 supervised sessions)", "treatment policy"),
            (
                "Discontinuation of the programme or withdrawal from follow-up",
                "treatment policy, values missing "
                "at random given the arm, baseline, sex and earlier values (MMRM); missing not at random in the "
                "delta-adjusted sensitivity analysis",
            ),
        ),
        summary_measure="Difference in mean value at week 8 between each pair of arms, adjusted for baseline and sex",
    )
    for code, label in ((p.code, p.label) for p in PARAMS if p.code in PRIMARY)
)

ALL_PARAMS = tuple(p.code for p in PARAMS)
SECONDARY_OUTCOMES = tuple(code for code in ALL_PARAMS if code not in PRIMARY)

TIPPING_MC_BOUND = 0.01
"""The stated bound on the Monte-Carlo error (SE) of each tipping delta of the delta-adjusted MI, in MCID units."""
TIPPING_GRID_MCID = (0.0, 0.5, 1.0, 1.5, 2.0)
"""The delta-adjusted MI's tipping grid: each arm's imputed values made worse by these MCIDs."""

ANALYSES = (
    Analysis(
        MMRM,
        PRIMARY_ROLE,
        ITT,
        PRIMARY,
        (PRIMARY_TIMEPOINT,),
        "MMRM of the value at each post-baseline visit: visit (factor), arm x visit, baseline x visit, sex; "
        "unstructured covariance, REML; contrasts between every pair of arms at week 8",
        "t with Satterthwaite degrees of freedom (their definition for nlme::gls, as in emmeans)",
    ),
    Analysis(
        MMRM,
        SECONDARY_ROLE,
        ITT,
        ALL_PARAMS,
        tuple(TIMEPOINTS),
        "The same MMRM for every outcome, its contrasts at every visit of the timepoint (the primary result excepted)",
        "t with Satterthwaite degrees of freedom",
    ),
    Analysis(
        GEE,
        SECONDARY_ROLE,
        ITT,
        ALL_PARAMS,
        tuple(TIMEPOINTS),
        "The published trial's analysis (Cai 2017): GEE, Gaussian, exchangeable working correlation, value ~ "
        "step x arm; slope per step by arm and their differences",
        "z (normal) with the robust sandwich variance, as statsmodels' GEE",
    ),
    Analysis(
        ANCOVA,
        SENSITIVITY_ROLE,
        ITT,
        ALL_PARAMS,
        tuple(TIMEPOINTS),
        "Complete-case ANCOVA of the value at the timepoint on arm, baseline and sex (OLS)",
        "t with the residual degrees of freedom",
    ),
    Analysis(
        MMRM,
        SENSITIVITY_ROLE,
        PER_PROTOCOL,
        PRIMARY,
        tuple(TIMEPOINTS),
        "The primary MMRM in the per-protocol set (adherent participants, assessments in their windows)",
        "t with Satterthwaite degrees of freedom",
    ),
    Analysis(
        ANCOVA,
        SENSITIVITY_ROLE,
        PER_PROTOCOL,
        PRIMARY,
        tuple(TIMEPOINTS),
        "Complete-case ANCOVA in the per-protocol set",
        "t with the residual degrees of freedom",
    ),
    Analysis(
        GEE,
        SENSITIVITY_ROLE,
        PER_PROTOCOL,
        PRIMARY,
        tuple(TIMEPOINTS),
        "The published trial's GEE in the per-protocol set",
        "z (normal), robust sandwich variance",
    ),
    Analysis(
        MIXED,
        SENSITIVITY_ROLE,
        ITT,
        PRIMARY,
        tuple(TIMEPOINTS),
        "Linear mixed model, random intercept per participant (REML), value ~ step x arm",
        "z (normal), model-based variance, as statsmodels' MixedLM",
    ),
    Analysis(
        DELTA_MI,
        SENSITIVITY_ROLE,
        ITT,
        PRIMARY,
        (PRIMARY_TIMEPOINT,),
        "Missing not at random: the week 8 values that were due by the cut (window closed, or assessed) and "
        "are missing imputed from the MMRM by proper imputation (Sigma and the coefficients drawn for each "
        "imputation), the ANCOVA fitted to each completed data set; the imputed values of the arm the MAR "
        "estimate favours made worse (in the outcome's worse direction) by delta MCIDs; the tipping delta is the "
        "smallest delta at which p crosses 0.05, imputations added until its Monte-Carlo error (jackknife) is "
        f"under {TIPPING_MC_BOUND} MCID; a tipping grid over both arms' shifts of "
        f"{', '.join(f'{s:g}' for s in TIPPING_GRID_MCID)} MCID",
        "Rubin's rules, t with Barnard-Rubin degrees of freedom",
    ),
)

MULTIPLICITY = (
    "Holm across the primary family: the primary MMRM contrasts at week 8 of both primary outcomes "
    "(every pair of arms, so 2 x 3 = 6 p-values), family-wise error 5%. Every other p-value is nominal."
)
MULTIPLICITY_METHOD = "holm"
ALPHA = 0.05


def role(model: str, population: str, param: str, timepoint: str, visit: str | None) -> str | None:
    """The plan's role of one result, or None when the plan does not declare it."""
    primary = (model, population, timepoint, visit) == (MMRM, ITT, PRIMARY_TIMEPOINT, TIMEPOINTS[PRIMARY_TIMEPOINT][-1])
    if primary and param in PRIMARY:
        return PRIMARY_ROLE
    for analysis in ANALYSES:
        declared = (model, population) == (analysis.model, analysis.population) and param in analysis.params
        if analysis.role != PRIMARY_ROLE and declared and timepoint in analysis.timepoints:
            return analysis.role
    return None


def adjusted(role_: str | None) -> bool:
    """Whether the plan adjusts the p-values of results with this role for multiplicity."""
    return role_ == PRIMARY_ROLE


def inference(model: str) -> str:
    """The inference convention of a model (how its CIs and p-values are computed)."""
    return next(a.inference for a in ANALYSES if a.model == model)


def markdown() -> str:
    """The plan as the Markdown section of docs/analysis.md (a test checks that the two agree)."""
    lines = [
        f"Primary timepoint: **{PRIMARY_TIMEPOINT}**. Primary outcomes: "
        + ", ".join(f"`{code}`" for code in PRIMARY)
        + "; secondary outcomes: "
        + ", ".join(f"`{code}`" for code in SECONDARY_OUTCOMES)
        + ".",
        "",
    ]
    lines += [
        "| estimand attribute | " + " | ".join(f"`{e.outcome}`" for e in ESTIMANDS) + " |",
        "|---|" + "---|" * len(ESTIMANDS),
    ]
    lines.append("| population | " + " | ".join(e.population for e in ESTIMANDS) + " |")
    lines.append("| variable | " + " | ".join(e.variable for e in ESTIMANDS) + " |")
    for i, (event, _) in enumerate(ESTIMANDS[0].intercurrent_events):
        lines.append(
            f"| intercurrent event: {event} | " + " | ".join(e.intercurrent_events[i][1] for e in ESTIMANDS) + " |"
        )
    lines.append("| summary measure | " + " | ".join(e.summary_measure for e in ESTIMANDS) + " |")
    lines += [
        "",
        "| role | model | population | outcomes | timepoints | analysis | inference |",
        "|---|---|---|---|---|---|---|",
    ]
    for a in ANALYSES:
        outcomes = ", ".join(f"`{code}`" for code in a.params) if a.params != ALL_PARAMS else "every outcome"
        lines.append(
            f"| {a.role} | {a.model} | {a.population} | {outcomes} | {', '.join(a.timepoints)} | "
            f"{a.description} | {a.inference} |"
        )
    lines += ["", f"Multiplicity: {MULTIPLICITY}", ""]
    return "\n".join(lines)


VERSION = "1.1"
"""The plan's version, as the trial statistician signs it (`runback plan` renders it)."""
SIGNED = {"1.0": "3f1f50415ed16342", "1.1": "cb8abc4dcfa8accd"}
"""Each version's content hash (`fingerprint()`): a plan changed without a new version fails a test,
so a report never names a version whose content differs from what was signed."""


def fingerprint() -> str:
    """The SHA-256 of the plan's content (its Markdown), first 16 hex digits."""
    return hashlib.sha256(markdown().encode("utf-8")).hexdigest()[:16]
