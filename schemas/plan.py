"""The statistical analysis plan as data: estimands, the primary analysis, secondary outcomes,
multiplicity and sensitivity analyses. `flows/analyse/models.py` fits what is declared here and
marks each result with its role; docs/analysis.md restates it and a test checks that the two agree.

The analyses never name arms: every analysis compares every pair of arms present in the data
(later minus earlier in the order of `ref.arms`), so the plan holds whether the warehouse stores
arm codes or blinded letters. Only the primary hypotheses name arms (the trial's own hypothesis),
so the decision they give is stated with the allocation key (flows/analyse/looks.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from runback.schemas.trial import ARM_NAMES, ARM_ORDER, PARAMS, PRIMARY, RECRUITMENT, REFERENCE_ARM, TIMEPOINTS

ITT = "ITT"
PER_PROTOCOL = "Per protocol"
OBSERVED_CASES = "Observed cases"
MULTIPLE_IMPUTATION = "Multiple imputation"
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
    "The primary hypotheses below are tested by their graph and group-sequential boundaries, which alone "
    "decide. Beside them the report gives the Holm-adjusted p-values of the six two-sided primary contrasts "
    "(every pair of arms at week 8, both primary outcomes) as a summary; they decide nothing. Every other "
    "p-value is nominal, and shown only at a planned look, at the final analysis of a locked timepoint, or "
    "when the data monitoring committee asks with a recorded reason."
)
RESPONDERS = (
    f"participants whose change from baseline reaches the MCID in the better direction, per outcome with an MCID and "
    f"timepoint. {ITT}: every randomised participant due at the timepoint's visit (its window closed by the data "
    f"cut's date, or assessed), one without a change there counted as a non-responder (the primary responder "
    f"rule); sensitivity: {OBSERVED_CASES} (participants with a change) and {PER_PROTOCOL} (adherent participants "
    f"with a change assessed in its window). Every pair of arms compared by the risk difference with Newcombe's "
    f"hybrid score 95% CI and the relative risk with the log 95% CI; no p-value. Sensitivity for the primary "
    f"outcomes at {PRIMARY_TIMEPOINT}: {MULTIPLE_IMPUTATION}, responders counted in each completed data set of the "
    f"delta-adjusted MI without a shift (participants due with a baseline and the stratum; only values due and "
    f"missing imputed) and each pair's risk difference pooled by Rubin's rules (within-imputation variance "
    f"p1(1-p1)/n1 + p2(1-p2)/n2; Wald 95% CI with t on Rubin's degrees of freedom), with the number of "
    f"imputations; no relative risk."
)
MULTIPLICITY_METHOD = "holm"
ALPHA = 0.05


@dataclass(frozen=True)
class Looks:
    """The planned looks at the primary timepoint: the interim looks' information fractions (the
    final analysis, the timepoint's lock, is the last look at fraction 1), how information is
    measured, and the alpha-spending function with its one-sided alpha."""

    timepoint: str
    interim: tuple[float, ...]
    total: int
    spending: str
    alpha: float
    sided: int

    @property
    def count(self) -> int:
        """K: the planned looks, the final analysis included."""
        return len(self.interim) + 1


LOOKS = Looks(PRIMARY_TIMEPOINT, (0.5,), RECRUITMENT.target, "Lan-DeMets O'Brien-Fleming type", 0.025, 1)
INFORMATION = (
    "participants with a value of a primary outcome at week 8 in the look's data cut, over the planned total "
    f"of {LOOKS.total} randomised"
)


@dataclass(frozen=True)
class Hypothesis:
    """One hypothesis of the primary family, one-sided: on `outcome` at the primary timepoint,
    `better` is better than `than` (in the outcome's better direction); `weight` is its initial
    share of alpha."""

    name: str
    outcome: str
    better: str
    than: str
    weight: float


_LUMBAR = tuple(a for a in ARM_ORDER if a != REFERENCE_ARM)
HYPOTHESES = tuple(
    Hypothesis(f"H{i + 1}", outcome, REFERENCE_ARM, other, 0.5 if outcome == PRIMARY[0] else 0.0)
    for i, (outcome, other) in enumerate((o, a) for o in PRIMARY for a in _LUMBAR)
)
"""The trial's hypothesis (Cai 2017): lower limb strengthening (LL) better than each lumbar
programme (LE, LS), in function (PSFS) and in pain during running (NPRS_RUN)."""
TRANSITIONS = {("H1", "H3"): 1.0, ("H2", "H4"): 1.0, ("H3", "H2"): 1.0, ("H4", "H1"): 1.0}
"""The graph's edges (Bretz et al. 2009): the alpha of a rejected hypothesis passes on along them.
Each pair of arms starts with half of alpha on PSFS; PSFS then pain for the same pair (a fixed
sequence); a pair whose two hypotheses are rejected passes its alpha to the other pair's PSFS."""
SUCCESS = ("H1", "H2")
"""The success rule: the trial succeeds when any of these is rejected."""


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
    lines += [f"Responders: {RESPONDERS}", ""]
    return "\n".join(lines + _sequential_markdown())


def _sequential_markdown() -> list[str]:
    """The planned looks, the primary hypotheses, their testing strategy and the success rule."""
    looks = ", ".join(f"an interim look at information fraction {t:g}" for t in LOOKS.interim)
    names = {h.name: f"{h.better} better than {h.than} in `{h.outcome}`" for h in HYPOTHESES}
    lines = [
        f"Planned looks at {LOOKS.timepoint}: {looks}, and the final analysis (the timepoint's lock) at "
        f"fraction 1; K = {LOOKS.count}. Information: {INFORMATION}. Alpha spending: {LOOKS.spending} "
        f"(Lan & DeMets 1983), one-sided alpha {LOOKS.alpha:g}, efficacy boundaries only (non-binding: no "
        "futility boundary), computed for the fractions observed at the looks actually recorded.",
        "",
        "| hypothesis | one-sided, at week 8 | initial weight | its alpha passes to |",
        "|---|---|---:|---|",
    ]
    for h in HYPOTHESES:
        to = ", ".join(f"{b} ({w:g})" for (a, b), w in TRANSITIONS.items() if a == h.name) or "none"
        lines.append(
            f"| {h.name} | {names[h.name]} ({ARM_NAMES[h.better]} vs {ARM_NAMES[h.than]}) | {h.weight:g} | {to} |"
        )
    lines += [
        "",
        "Testing strategy: the graphical procedure of Bretz et al. (2009) with group-sequential boundaries, "
        "as Maurer & Bretz (2013): at each look every hypothesis not yet rejected is tested at the boundary "
        "of its local alpha (its weight times alpha) for the fractions observed; a rejected hypothesis passes "
        "its alpha on along the graph, and the others are tested again at their new local alpha, at this look "
        "and the earlier ones, until none more is rejected. Each test is the primary MMRM's contrast, its t "
        "(Satterthwaite df) turned into the z of the same one-sided p-value, positive when the first arm is "
        "better.",
        "",
        f"Success rule: the trial succeeds when {' or '.join(SUCCESS)} is rejected "
        f"({'; '.join(names[n] for n in SUCCESS)}); any other hypothesis rejected is a further claim. At an "
        "interim look, success is the guidance to stop for efficacy that the data monitoring committee weighs; "
        "otherwise the trial continues to the next look.",
        "",
    ]
    return lines


VERSION = "1.1"
"""The plan's version, as the trial statistician signs it (`runback plan` renders it)."""
SIGNED = {"1.0": "3f1f50415ed16342", "1.1": "ceda155f3d33ba47"}
"""Each version's content hash (`fingerprint()`): a plan changed without a new version fails a test,
so a report never names a version whose content differs from what was signed."""


def fingerprint() -> str:
    """The SHA-256 of the plan's content (its Markdown), first 16 hex digits."""
    return hashlib.sha256(markdown().encode("utf-8")).hexdigest()[:16]
