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


TREATMENT_POLICY, HYPOTHETICAL, COMPOSITE, WHILE_ON_TREATMENT = (
    "treatment policy",
    "hypothetical",
    "composite",
    "while on treatment",
)
SETS_ASIDE = (HYPOTHETICAL, WHILE_ON_TREATMENT)
"""Strategies under which the values assessed after the event are not the variable's: the analysis
sets them aside before the models (analysis.set_aside)."""


@dataclass(frozen=True)
class IntercurrentEvent:
    """An event after randomisation that affects the interpretation or existence of the outcome."""

    code: str
    """As analysis.intercurrent_events and ref.strategies name it."""
    description: str
    recorded: str
    """Where the trial records it."""


NON_ADHERENCE, DISCONTINUATION, CO_INTERVENTION, STOPPED_RUNNING = (
    "non_adherence",
    "discontinuation",
    "co_intervention",
    "stopped_running",
)
INTERCURRENT_EVENTS = (
    IntercurrentEvent(
        NON_ADHERENCE,
        "Non-adherence to the programme (fewer than 12 of 16 supervised sessions)",
        "`session_log`",
    ),
    IntercurrentEvent(
        DISCONTINUATION,
        "Discontinuation of the programme (no further sessions, follow-up continuing)",
        "`session_log`; `adverse_event` action 'Withdrew from programme'",
    ),
    IntercurrentEvent(
        CO_INTERVENTION,
        "Co-intervention: analgesics, physiotherapy or other treatment for low back pain outside the trial",
        "`co_intervention` (repeating, at each follow-up visit: treatment, start and stop dates)",
    ),
    IntercurrentEvent(
        STOPPED_RUNNING,
        "Stopped running (injury, low back pain or another reason)",
        "`running_status` (each follow-up visit: still running, or the date running stopped and why)",
    ),
)


@dataclass(frozen=True)
class Estimand:
    """ICH E9(R1) attributes of the estimand of one primary or key secondary outcome."""

    outcome: str
    population: str
    variable: str
    intercurrent_events: tuple[tuple[str, str], ...]
    """(intercurrent event code, strategy), for every event of INTERCURRENT_EVENTS in its order."""
    summary_measure: str


KEY_SECONDARY = ("NPRS_AVG", "ODI")
"""Secondary outcomes with an estimand of their own: the patient-reported ones, defined whether or
not the participant still runs."""
POPULATION = "All randomised participants (recreational runners with chronic low back pain), as allocated"
SUMMARY_MEASURE = "Difference in mean value at week 8 between each pair of arms, adjusted for baseline and sex"

ESTIMANDS = tuple(
    Estimand(
        outcome=p.code,
        population=POPULATION,
        variable=f"{p.label} at week 8 (end of the programme)",
        intercurrent_events=(
            (NON_ADHERENCE, TREATMENT_POLICY),
            (DISCONTINUATION, TREATMENT_POLICY),
            (CO_INTERVENTION, TREATMENT_POLICY),
            (STOPPED_RUNNING, HYPOTHETICAL if p.code in PRIMARY else TREATMENT_POLICY),
        ),
        summary_measure=SUMMARY_MEASURE,
    )
    for p in PARAMS
    if p.code in PRIMARY + KEY_SECONDARY
)

MISSING_DATA = (
    "Values not observed (a missed visit, withdrawal, loss to follow-up) and values set aside by a "
    "hypothetical strategy are missing at random given the arm, the baseline value, sex and the earlier "
    "values: the MMRM uses every value observed and needs no imputation. The delta-adjusted multiple "
    "imputation departs from that assumption (missing not at random) as the sensitivity analysis. This is "
    "an assumption about missing values, not a strategy for an intercurrent event: a participant who "
    "discontinues the programme but is assessed contributes the values observed (treatment policy)."
)
NOT_ANALYSED = (
    "no baseline value",
    "no stratum (sex)",
    "stopped running before any follow-up value",
    "left the study before any follow-up value",
    "no follow-up visit due yet",
    "no follow-up value",
)
"""Why a randomised participant does not contribute to the MMRM of an outcome at a timepoint, in the
order they are tested (CONSORT: "Not analysed: <reason>"); those who contribute have a baseline value,
the stratum and a value (not set aside) at a follow-up visit up to the timepoint."""


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


ALL_PARAMS = tuple(p.code for p in PARAMS)
SECONDARY_OUTCOMES = tuple(code for code in ALL_PARAMS if code not in PRIMARY)

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
        "Missing not at random: missing values at week 8 imputed from the MMRM (50 imputations), the ANCOVA "
        "fitted to each completed data set; the imputed values of the later arm of each pair shifted by "
        "delta against the MAR estimate; the tipping delta is the smallest shift at which p crosses 0.05",
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
    for event in INTERCURRENT_EVENTS:
        lines.append(
            f"| intercurrent event: {event.description} | "
            + " | ".join(dict(e.intercurrent_events)[event.code] for e in ESTIMANDS)
            + " |"
        )
    lines.append("| summary measure | " + " | ".join(e.summary_measure for e in ESTIMANDS) + " |")
    lines += ["", "| intercurrent event | recorded in |", "|---|---|"]
    lines += [f"| {event.description} | {event.recorded} |" for event in INTERCURRENT_EVENTS]
    lines += [
        "",
        f"Values set aside: under a {HYPOTHETICAL} strategy (the value had the participant kept running) or a "
        f"{WHILE_ON_TREATMENT} strategy, the values assessed after the event are not values of the variable: they "
        "are set aside before every analysis (`analysis.set_aside`, counted per arm in the closed report).",
        "",
        f"Missing data: {MISSING_DATA}",
        "",
        "Analysed population: every randomised participant, in the arm allocated, with a baseline value, the "
        "stratum and at least one value (not set aside) at a follow-up visit up to the timepoint contributes "
        "to the MMRM. The others do not, for the first of these reasons that applies (counted per arm in "
        "CONSORT): " + "; ".join(NOT_ANALYSED) + ".",
    ]
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
SIGNED = {"1.0": "3f1f50415ed16342", "1.1": "68d2581c3a535481"}
"""Each version's content hash (`fingerprint()`): a plan changed without a new version fails a test,
so a report never names a version whose content differs from what was signed."""


def fingerprint() -> str:
    """The SHA-256 of the plan's content (its Markdown), first 16 hex digits."""
    return hashlib.sha256(markdown().encode("utf-8")).hexdigest()[:16]
