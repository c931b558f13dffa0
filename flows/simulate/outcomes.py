"""The outcome model: questionnaire and physical-test values at each assessment.

Each outcome is a person-level random intercept plus within-person noise plus a per-step slope
by arm, with step = 0 (baseline), 1 (week 4), 2 (week 8), 3 (month 3), 4 (month 6); the slopes are
the published GEE slopes (study README). Values are then rounded to the field's precision and
clipped to its range; baselines and spreads keep clipping negligible, so a GEE on a large
simulated trial recovers the published slopes within its confidence intervals (chance differences
between the arms are real, as in any trial).

| outcome | model | per-step slope (LL / LE / LS) |
|---|---|---|
| PSFS | 1-3 named activities, each an integer 0-10 around the person's level | +0.949 / +0.751 / +0.686 |
| NPRS running | integer 0-10, baseline ~6.5 (SD ~1.2) | -0.746 in every arm |
| NPRS average | integer 0-10, about 0.85 x running pain | about -0.63 |
| ODI | 10 sections, each Binomial(5, p) so E[ODI%] = 100 p exactly | -3 points |
| knee-extensor torque | left and right around the person's level, 2 dp | +0.260 / +0.040 / +0.054 |
| step length | cm, 1 dp | +2.464 / +2.464 / +0.251 |
| Sorensen hold | integer s, capped 240 | +9 s in every arm |

Each form is filled at the events it is designated to (ODI not at week 4, physical tests at
baseline and week 8 only). Missing values are MCAR: a whole form now
and then, single values rarely, and missing-data codes (UNK, ASKU, NA) in about 0.5% of optional
values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from runback.flows.simulate import days
from runback.flows.simulate.schedule import STEP_EVENTS, Schedule
from runback.flows.simulate.table import FormRows
from runback.schemas.study import Study


@dataclass(frozen=True)
class Outcome:
    """A continuous latent outcome: base + person intercept + slope[arm] x step + visit noise."""

    base: float
    person_sd: float
    visit_sd: float
    slope: tuple[float, float, float]
    """Per-step change in LL, LE, LS."""

    def latent(self, rng: np.random.Generator, arm: np.ndarray, n_steps: int = 5) -> np.ndarray:
        n = len(arm)
        person = noise(rng, self.person_sd, (n, 1))
        within = noise(rng, self.visit_sd, (n, n_steps))
        slope = np.asarray(self.slope)[np.asarray(arm, dtype=np.int64) - 1]
        return self.base + person + slope[:, None] * np.arange(n_steps) + within


PSFS = Outcome(base=3.4, person_sd=0.9, visit_sd=0.6, slope=(0.949, 0.949 - 0.198, 0.949 - 0.263))
PSFS_ACTIVITY_SD = 0.5
"""Person-level offset of each named activity."""
PSFS_ITEM_SD = 0.7
"""Noise of one activity's score at one visit."""
PSFS_ACTIVITY_COUNT = {3: 0.75, 2: 0.18, 1: 0.07}
PSFS_ACTIVITIES = (
    "Running 10 km",
    "Running uphill",
    "Sprint intervals",
    "Long runs over 15 km",
    "Running on consecutive days",
    "Trail running",
    "Bending to tie shoelaces",
    "Sitting at work for 2 hours",
    "Lifting my child",
    "Carrying groceries",
    "Driving over 1 hour",
    "Playing football",
    "Getting out of bed",
    "Track sessions",
)

NPRS_RUN = Outcome(base=6.5, person_sd=0.8, visit_sd=0.85, slope=(-0.746,) * 3)
NPRS_AVG_SCALE = 0.85
NPRS_AVG_BASE = 5.6
NPRS_AVG_SD = 0.5

ODI = Outcome(base=0.28, person_sd=0.05, visit_sd=0.03, slope=(-0.03,) * 3)
"""On the proportion scale: ODI% = 100 x p."""
ODI_SECTIONS = 10
ODI_SECTION8_SKIPPED = 0.3
ODI_OTHER_SKIPPED = 0.01
ODI_THREE_SKIPPED = 0.005

TORQUE = Outcome(base=2.1, person_sd=0.35, visit_sd=0.12, slope=(0.260, 0.260 - 0.220, 0.260 - 0.206))
TORQUE_SIDE_SD = 0.06
"""Person-level left/right asymmetry..."""
TORQUE_NOISE_SD = 0.06
"""...and each side's measurement noise."""
TORQUE_ONE_SIDE_MISSING = 0.03
STEP_LENGTH = Outcome(base=112.0, person_sd=9.0, visit_sd=2.5, slope=(2.464, 2.464, 2.464 - 2.213))
SORENSEN = Outcome(base=95.0, person_sd=25.0, visit_sd=10.0, slope=(9.0,) * 3)
SORENSEN_CAP = 240

FORM_MISSING = {"nprs": 0.005, "psfs": 0.01, "odi": 0.02, "physical_tests": 0.03}
"""P(a form is not done at an attended follow-up visit); at baseline only physical tests miss."""
BASELINE_FORM_MISSING = {"physical_tests": 0.01}
VALUE_BLANK = 0.015
"""P(an optional value is left blank)."""
MISSING_CODE_RATE = 0.005
"""P(an optional value holds a missing-data code instead)."""
MISSING_CODES = {"nprs_avg": ("UNK", "ASKU"), "step_length_cm": ("NA",), "sorensen_s": ("NA", "UNK")}


def outcome_forms(rng: np.random.Generator, study: Study, schedule: Schedule, arm: np.ndarray) -> list[FormRows]:
    """nprs, psfs, odi and physical_tests at the steps whose event they are designated to."""
    values = {
        "nprs": _nprs(rng, arm),
        "psfs": _psfs(rng, arm),
        "odi": _odi(rng, arm),
        "physical_tests": _physical(rng, arm),
    }
    batches = []
    for form, cells in values.items():
        for step, event in enumerate(STEP_EVENTS):
            if form not in study.forms_in_event(event):
                continue
            missing = (BASELINE_FORM_MISSING if step == 0 else FORM_MISSING).get(form, 0.0)
            done = schedule.attended[:, step] & (rng.random(len(arm)) >= missing)
            when = (
                schedule.baseline_tests_day if (form == "physical_tests" and step == 0) else schedule.visit_day[:, step]
            )
            date_field = {"nprs": "nprs_date", "psfs": "psfs_date", "odi": "odi_date", "physical_tests": "pt_date"}[
                form
            ]
            step_cells = {c: v[:, step][done] for c, v in cells.items()}
            step_cells[date_field] = days.iso(when[done])
            batches.append(FormRows(form, event, schedule.record[done], when[done], step_cells))
    return batches


def _nprs(rng: np.random.Generator, arm: np.ndarray) -> dict[str, np.ndarray]:
    run = NPRS_RUN.latent(rng, arm)
    avg = NPRS_AVG_BASE + NPRS_AVG_SCALE * (run - NPRS_RUN.base) + noise(rng, NPRS_AVG_SD, run.shape)
    return {"nprs_run": _integers(run, 0, 10), "nprs_avg": _optional(rng, "nprs_avg", _integers(avg, 0, 10))}


def _psfs(rng: np.random.Generator, arm: np.ndarray) -> dict[str, np.ndarray]:
    n = len(arm)
    level = PSFS.latent(rng, arm)
    counts = np.asarray(list(PSFS_ACTIVITY_COUNT))[rng.choice(3, size=n, p=list(PSFS_ACTIVITY_COUNT.values()))]
    activities = np.argsort(rng.random((n, len(PSFS_ACTIVITIES))), axis=1)[:, :3]
    cells = {}
    for k in range(3):
        named = np.broadcast_to((k < counts)[:, None], level.shape)
        offset = noise(rng, PSFS_ACTIVITY_SD, (n, 1))
        score = _integers(level + offset + noise(rng, PSFS_ITEM_SD, level.shape), 0, 10)
        names = np.asarray(PSFS_ACTIVITIES, dtype=object)[activities[:, k]]
        cells[f"psfs_act{k + 1}"] = np.where(named, names[:, None], "").astype(object)
        cells[f"psfs_score{k + 1}"] = np.where(named, score, "").astype(object)
    return cells


def _odi(rng: np.random.Generator, arm: np.ndarray) -> dict[str, np.ndarray]:
    n = len(arm)
    p = np.clip(ODI.latent(rng, arm), 0.005, 0.995)
    scores = rng.binomial(5, p[:, :, None], size=(n, 5, ODI_SECTIONS)).astype(str).astype(object)
    skipped = rng.random((n, 5, ODI_SECTIONS)) < ODI_OTHER_SKIPPED
    skipped[:, :, 7] = rng.random((n, 5)) < ODI_SECTION8_SKIPPED
    three = rng.random((n, 5)) < ODI_THREE_SKIPPED
    not_eight = np.array([i for i in range(ODI_SECTIONS) if i != 7])
    others = not_eight[np.argsort(rng.random((n, 5, len(not_eight))), axis=2)[:, :, :2]]
    person, step = np.nonzero(three)
    for k in range(2):
        skipped[person, step, others[person, step, k]] = True
    skipped[:, :, 7] |= three
    scores[skipped] = ""
    return {f"odi_q{i + 1}": scores[:, :, i] for i in range(ODI_SECTIONS)}


def _physical(rng: np.random.Generator, arm: np.ndarray) -> dict[str, np.ndarray]:
    n = len(arm)
    torque = TORQUE.latent(rng, arm)
    side = noise(rng, TORQUE_SIDE_SD, (n, 1))
    left = torque + side + noise(rng, TORQUE_NOISE_SD, torque.shape)
    right = torque - side + noise(rng, TORQUE_NOISE_SD, torque.shape)
    one_missing = rng.random(torque.shape) < TORQUE_ONE_SIDE_MISSING
    left_missing = one_missing & (rng.random(torque.shape) < 0.5)
    return {
        "ke_torque_l": np.where(left_missing, "", _decimals(left, 2, 0.20, 5.00)).astype(object),
        "ke_torque_r": np.where(one_missing & ~left_missing, "", _decimals(right, 2, 0.20, 5.00)).astype(object),
        "step_length_cm": _optional(rng, "step_length_cm", _decimals(STEP_LENGTH.latent(rng, arm), 1, 50, 250)),
        "sorensen_s": _optional(rng, "sorensen_s", _integers(SORENSEN.latent(rng, arm), 0, SORENSEN_CAP)),
    }


def noise(rng: np.random.Generator, sd: float, shape: tuple) -> np.ndarray:
    """Normal noise with mean 0."""
    return rng.normal(0, sd, shape)


def _integers(x: np.ndarray, low: int, high: int) -> np.ndarray:
    return np.clip(np.round(x), low, high).astype(np.int64).astype(str).astype(object)


def _decimals(x: np.ndarray, places: int, low: float, high: float) -> np.ndarray:
    rounded = np.clip(np.round(x, places), low, high)
    return np.char.mod(f"%.{places}f", rounded).astype(object)


def _optional(rng: np.random.Generator, field: str, values: np.ndarray) -> np.ndarray:
    """Blank a few values and replace a few by missing-data codes (MCAR)."""
    u = rng.random(values.shape)
    codes = np.asarray(MISSING_CODES.get(field, ("UNK",)), dtype=object)
    coded = codes[rng.integers(0, len(codes), values.shape)]
    out = np.where(u < VALUE_BLANK, "", values)
    return np.where(u > 1 - MISSING_CODE_RATE, coded, out).astype(object)
