"""Enrolment and end-of-study forms: screening, baseline characteristics, randomisation, study end.

- `screening` is saved for everyone screened (a screen failure has nothing else): identifiers,
  eligibility answers, `excl_reason` checkboxes, consent. `age` is REDCap's calc: whole years
  from `dob` to `scr_date`.
- `baseline_characteristics`: height and weight by sex (BMI calc = round(weight / (height/100)^2, 1)),
  running history, prior treatment checkboxes.
- `randomisation`: date, allocation sequence number, arm.
- `study_end`: once a participant completes month 6 or leaves: status, date, reasons (a lost
  participant's reason is sometimes the missing-data code UNK).
Checkbox columns of a saved form are `1`/`0`, including the missing-code columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from runback.flows.simulate import days
from runback.flows.simulate.schedule import EXCLUDED, LOST, WITHDREW, Schedule
from runback.flows.simulate.table import FormRows
from runback.schemas.study import Study

HEIGHT_CM = {1: (172.0, 6.5), 2: (160.0, 6.0)}
BMI = (22.3, 2.2)
RUNNING_YEARS_MEDIAN, RUNNING_YEARS_LOG_SD = 5.0, 0.7
KM_PER_RUN = (7.0, 2.5)
PRIOR_TREATMENT = {"2": 0.45, "3": 0.35, "4": 0.12, "5": 0.04, "99": 0.05}
"""P(each kind of treatment in the past year); `1` (none) when no other applies."""
MISSING_CODE_RATE = 0.005

END_REASONS = {
    WITHDREW: {"1": 0.15, "2": 0.4, "3": 0.15, "4": 0.2, "99": 0.1},
    LOST: {"2": 0.3, "3": 0.4, "99": 0.3},
    EXCLUDED: {"1": 0.4, "99": 0.6},
}
LOST_REASON_UNKNOWN = 0.3
"""Share of participants lost to follow-up whose reason is recorded as UNK."""
OTHER_REASONS = {
    WITHDREW: ("Started a new job, no time", "Prefers to see a private physiotherapist"),
    LOST: ("No reply to calls or e-mails", "Phone number no longer in use"),
    EXCLUDED: ("Red flag found at first session, referred to GP", "Pregnancy", "Spinal surgery scheduled"),
}


def screening_form(study: Study, people: pd.DataFrame) -> FormRows:
    """Saved when the screening (or, for people who consented, the consent) was recorded."""
    n = len(people)
    consented = people["consent"].to_numpy() == 1
    when = np.where(consented, people["consent_day"], people["scr_day"])
    excl = {code: np.array([code in r for r in people["excl_reasons"]]) for code in _codes(study, "excl_reason")}
    cells = {
        "scr_date": days.iso(people["scr_day"]),
        "first_name": people["first_name"].to_numpy(object),
        "last_name": people["last_name"].to_numpy(object),
        "nric": people["nric"].to_numpy(object),
        "phone": people["phone"].to_numpy(object),
        "email": people["email"].to_numpy(object),
        "dob": days.iso(people["dob_day"]),
        "sex": _text(people["sex"]),
        "age": _text(people["age"]),
        "runs_per_week": _text(people["runs_per_week"]),
        "lbp_months": _text(people["lbp_months"]),
        "waitlist": _text(people["waitlist"]),
        "eligible": _text(people["eligible"]),
        "consent": np.where(people["consent"] >= 0, _text(people["consent"]), "").astype(object),
        "consent_date": np.where(consented, days.iso(np.maximum(people["consent_day"], 0)), "").astype(object),
    }
    cells |= checkbox(study, "excl_reason", excl, n)
    return FormRows("screening", "baseline_arm_1", people["record"].to_numpy(), when, cells)


def baseline_characteristics_form(
    rng: np.random.Generator, study: Study, people: pd.DataFrame, schedule: Schedule
) -> FormRows:
    n = len(people)
    sex = people["sex"].to_numpy()
    mean = np.where(sex == 1, HEIGHT_CM[1][0], HEIGHT_CM[2][0])
    sd = np.where(sex == 1, HEIGHT_CM[1][1], HEIGHT_CM[2][1])
    height = np.clip(np.round(rng.normal(mean, sd), 1), 140, 205)
    weight = np.clip(np.round(rng.normal(*BMI, n) * (height / 100) ** 2, 1), 38, 130)
    bmi = np.floor(weight / (height / 100) ** 2 * 10 + 0.5) / 10
    years = np.exp(rng.normal(np.log(RUNNING_YEARS_MEDIAN), RUNNING_YEARS_LOG_SD, n))
    years = np.minimum(np.round(years, 1), np.maximum(people["age"].to_numpy() - 12, 1))
    km = np.round(people["runs_per_week"].to_numpy() * np.clip(rng.normal(*KM_PER_RUN, n), 3, 21), 1)
    treated = {code: rng.random(n) < p for code, p in PRIOR_TREATMENT.items()}
    treated["1"] = ~np.any(list(treated.values()), axis=0)
    cells = {
        "height_cm": _fixed(height, 1),
        "weight_kg": _fixed(weight, 1),
        "bmi": np.array([_calc_number(b) for b in bmi], dtype=object),
        "running_years": _fixed(years, 1),
        "weekly_km": _fixed(km, 1),
    }
    unknown = rng.random(n) < MISSING_CODE_RATE
    cells |= checkbox(study, "prior_treatment", treated, n, missing=np.where(unknown, "UNK", ""))
    return FormRows("baseline_characteristics", "baseline_arm_1", schedule.record, schedule.visit_day[:, 0], cells)


def randomisation_form(people: pd.DataFrame, schedule: Schedule) -> FormRows:
    cells = {
        "rand_date": days.iso(schedule.rand_day),
        "rand_id": people["rand_id"].to_numpy(object),
        "rand_group": _text(people["group"]),
    }
    return FormRows("randomisation", "baseline_arm_1", schedule.record, schedule.rand_day, cells)


def study_end_form(rng: np.random.Generator, study: Study, schedule: Schedule) -> FormRows:
    n = len(schedule.record)
    status = schedule.end_status
    codes = _codes(study, "end_reason")
    chosen = np.full(n, "", dtype=object)
    for s, weights in END_REASONS.items():
        rows = status == s
        chosen[rows] = np.asarray(list(weights), dtype=object)[
            rng.choice(len(weights), rows.sum(), p=list(weights.values()))
        ]
    unknown = (status == LOST) & (rng.random(n) < LOST_REASON_UNKNOWN)
    chosen[unknown] = ""
    other = np.full(n, "", dtype=object)
    for s, texts in OTHER_REASONS.items():
        rows = (status == s) & (chosen == "99")
        other[rows] = np.asarray(texts, dtype=object)[rng.integers(0, len(texts), rows.sum())]
    cells = {
        "end_status": _text(status),
        "end_date": days.iso(schedule.end_day),
        "end_reason_other": other,
    }
    checked = {code: chosen == code for code in codes}
    cells |= checkbox(study, "end_reason", checked, n, missing=np.where(unknown, "UNK", ""))
    return FormRows("study_end", "study_end_arm_1", schedule.record, schedule.end_day, cells)


def checkbox(
    study: Study, field: str, checked: dict[str, np.ndarray], n: int, missing: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """A checkbox's columns on saved forms: '1'/'0' per choice; a missing-data code, when given,
    sets its own column and clears the choices."""
    missing = np.full(n, "", dtype=object) if missing is None else np.asarray(missing, dtype=object)
    out = {}
    for column, code in study.field_columns(study.field_map[field]).items():
        if code in study.missing_codes:
            on = missing == code
        else:
            on = checked.get(code, np.zeros(n, dtype=bool)) & (missing == "")
        out[column] = np.where(on, "1", "0").astype(object)
    return out


def _codes(study: Study, field: str) -> list[str]:
    return [code for code, _ in study.field_map[field].choices]


def _text(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).astype(str).astype(object)


def _fixed(values: np.ndarray, places: int) -> np.ndarray:
    return np.char.mod(f"%.{places}f", values).astype(object)


def _calc_number(value: float) -> str:
    """A calc field's stored value: REDCap writes 23 rather than 23.0."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text
