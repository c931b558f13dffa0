"""The trial's own definitions on top of its REDCap project: arms, visits, outcome parameters.

Everything here restates `schemas/redcap/` or the study README in code; tests check that the two
agree, so a change to the REDCap project cannot slip past them unnoticed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from enum import StrEnum

from runback.schemas import study as s
from runback.schemas.arms import (  # noqa: F401 - the arms are part of the trial's definition
    ALLOCATION_FIELDS,
    ARM_NAMES,
    ARM_ORDER,
    ARM_PAIRS,
    ARMS,
    BLINDED_ARMS,
    REFERENCE_ARM,
)


@dataclass(frozen=True)
class Recruitment:
    """The trial's recruitment plan: how many to randomise, from when to when."""

    target: int
    start: dt.date
    end: dt.date


RECRUITMENT = Recruitment(target=84, start=dt.date(2013, 6, 3), end=dt.date(2015, 6, 2))
"""84 to randomise over two years of screening (the study README; the simulator recruits in it)."""

ASSESSMENT_DATES = {"nprs": "nprs_date", "psfs": "psfs_date", "odi": "odi_date", "physical_tests": "pt_date"}
"""Assessment forms and the field holding each one's date (visit windows are checked on it)."""

STOPPED_RUNNING_DATE = ("running_status", "run_stop_date")
"""The form and field of the date a participant stopped running, an intercurrent event: after randomisation."""

PROGRAMME_EVENT = "programme_arm_1"
"""The event of the exercise programme, whose window bounds the session dates."""


# -- analysis definitions (study README: outcomes, programme, analysis plan) ---------------------
VISIT_LABELS = {
    "baseline": "Baseline",
    "week_4": "Week 4",
    "week_8": "Week 8",
    "month_3": "Month 3 (3 months after the programme)",
    "month_6": "Month 6 (6 months after the programme)",
}
"""The assessment visits (REDCap's event names without `_arm_1`), in order, with their labels."""
VISIT_STEPS = {visit: step for step, visit in enumerate(VISIT_LABELS)}
"""Each visit's step in the longitudinal models (baseline = 0)."""

TIMEPOINT_LABELS = {"week_8": "8 weeks", "month_6": "6 months"}
"""The follow-up reports' timepoints (each a visit) with their labels: the one list of them."""
TIMEPOINTS = {t: tuple(VISIT_STEPS)[: VISIT_STEPS[t] + 1] for t in TIMEPOINT_LABELS}
"""The assessments each timepoint's report uses: baseline up to the timepoint."""
Timepoint = StrEnum("Timepoint", {t: t for t in TIMEPOINT_LABELS})
"""A timepoint as a type: a choice on the command line, a dropdown in the Prefect UI."""

AUDIENCES = ("open", "closed")
"""Who a report is for: open (pooled over the arms) or closed (by arm)."""
Audience = StrEnum("Audience", {a: a for a in AUDIENCES})

SUPERVISED_PLANNED = 16
"""Supervised sessions in the 8-week programme (2 a week); adherence = done / 16."""
ADHERENT_MIN = 12
"""Supervised sessions done to count as adherent."""

PRIMARY = ("PSFS", "NPRS_RUN")


@dataclass(frozen=True)
class Param:
    """An outcome parameter of analysis.outcomes."""

    code: str
    label: str
    unit: str
    source: str
    better: str  # 'higher' or 'lower'
    mcid: float | None


PARAMS = (
    Param("PSFS", "Running ability (PSFS)", "points", "mean of psfs_score1..3 whose activity is named", "higher", 2),
    Param("NPRS_RUN", "Pain during running (NPRS)", "points", "nprs_run", "lower", 2),
    Param("NPRS_AVG", "Average pain (NPRS)", "points", "nprs_avg", "lower", 2),
    Param("ODI", "Disability (ODI)", "%", "sum of odi_q1..10 / (5 x sections answered) x 100", "lower", 10),
    Param(
        "KE_TORQUE",
        "Knee-extensor peak torque",
        "Nm/kg",
        "mean of ke_torque_l and ke_torque_r recorded",
        "higher",
        None,
    ),
    Param("STEP_LEN", "Running step length", "cm", "step_length_cm", "higher", None),
    Param("SORENSEN", "Sorensen hold", "s", "sorensen_s", "higher", None),
)

PARAM_FORMS = {
    "PSFS": "psfs",
    "NPRS_RUN": "nprs",
    "NPRS_AVG": "nprs",
    "ODI": "odi",
    "KE_TORQUE": "physical_tests",
    "STEP_LEN": "physical_tests",
    "SORENSEN": "physical_tests",
}
"""The form each parameter is derived from: a parameter is measured at the visits its form is designated to."""


def allocation_fields(study: s.Study) -> tuple[str, ...]:
    """The fields of a dictionary that hold the allocation, by what they are, not what they are
    called: the randomisation field(s) (`ALLOCATION_FIELDS`), and any other field whose choices are
    the allocation's: the randomisation field's own choice list, or the arms' codes with labels
    that name the arms (a copy of the allocation a newer dictionary adds)."""
    named = [f for f in study.fields if f.name in ALLOCATION_FIELDS]
    lists = {_choice_list(f.choices) for f in named}
    return tuple(
        f.name for f in study.fields if f.name in ALLOCATION_FIELDS or (f.choices and _holds_allocation(f, lists))
    )


def _choice_list(choices) -> frozenset:
    return frozenset((code.strip(), " ".join(label.split()).casefold()) for code, label in choices)


def _holds_allocation(field: s.Field, lists: set) -> bool:
    """A field whose choices are the allocation's (see allocation_fields)."""
    if _choice_list(field.choices) in lists:
        return True
    codes = {code.strip() for code, _ in field.choices}
    arms = {a.casefold() for a in ARMS.values()}
    names = {n.casefold() for n in ARM_NAMES.values()}

    def names_an_arm(label: str) -> bool:
        text = " ".join(label.split()).casefold()
        return bool(arms & set(re.findall(r"[^\W_]+", text))) or any(n in text for n in names)

    return codes == set(ARMS) and all(names_an_arm(label) for _, label in field.choices)


def blinded_study(study: s.Study) -> s.Study:
    """The study as the warehouse sees it: each allocation field's choices are the blinded
    letters (its codes never reach the warehouse, so neither do the labels that name the arms)."""
    letters = tuple((letter, f"Arm {letter}") for letter in BLINDED_ARMS)
    masked = allocation_fields(study)
    fields = tuple(replace(f, choices=letters) if f.name in masked else f for f in study.fields)
    return replace(study, fields=fields)
