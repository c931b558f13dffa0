"""Each randomised participant's timeline: assessment dates, missed visits, dropout and study end.

- Baseline assessments fall between consent and randomisation (within the 14 days before it).
- Follow-up visits (week 4, week 8, month 3, month 6) are scheduled at the Events file's day
  offsets from `rand_date`; the visit date scatters inside the window, and about 5% fall outside.
- About 12% leave the study, more as time goes on (a hazard after each visit); they have no data
  after they leave. Most leavers are lost to follow-up (about 9% of participants), a few withdraw,
  and rarely (early) one is excluded after randomisation. A few others miss one intermediate visit but come back.
- Dropout is independent of outcomes (MCAR), so complete-case models are unbiased.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from runback.schemas.study import Study

STEP_EVENTS = ("baseline_arm_1", "week_4_arm_1", "week_8_arm_1", "month_3_arm_1", "month_6_arm_1")
"""Assessment step 0..4 -> event."""
BASELINE_WINDOW_DAYS = 14
OUT_OF_WINDOW_RATE = 0.05
IN_WINDOW_SD = 0.4
"""SD of an in-window visit's deviation from target, as a share of the half-window."""
OUT_OF_WINDOW_DAYS_MEAN = 4
OUT_OF_WINDOW_DAYS_MAX = 12
"""Mean and most days beyond the window edge of an out-of-window visit."""
DROPOUT_HAZARD = (0.025, 0.025, 0.035, 0.04)
"""P(leaving) after baseline, week 4, week 8, month 3 (about 12% in all)."""
MISSED_VISIT_RATE = 0.04
"""P(missing an intermediate visit while staying in the study)."""
LEAVER_STATUS = {2: 0.2, 3: 0.8}
"""`end_status` of leavers: 2 withdrew, 3 lost to follow-up."""
EXCLUDED_SHARE = 0.2
"""Share of leavers after baseline who were excluded after randomisation (`end_status` 4)."""
EXCLUDED_DAYS = (2, 21)
LOST_DECLARED_DAYS = (7, 30)
"""Days after the missed visit's window closes before a participant is declared lost."""

COMPLETED, WITHDREW, LOST, EXCLUDED = 1, 2, 3, 4


@dataclass
class Schedule:
    """Timelines of the randomised participants (arrays in the order of `record`)."""

    record: np.ndarray
    rand_day: np.ndarray
    visit_day: np.ndarray
    """(participant, step) assessment day; baseline = questionnaire day."""
    attended: np.ndarray
    """(participant, step) whether the visit took place."""
    baseline_tests_day: np.ndarray
    last_step: np.ndarray
    leave_day: np.ndarray
    """Day the participant stopped taking part (far future for completers)."""
    end_status: np.ndarray
    end_day: np.ndarray


def plan(rng: np.random.Generator, study: Study, record, consent_day, rand_day) -> Schedule:
    """Timelines for randomised participants with the given consent and randomisation days."""
    record, consent_day, rand_day = (np.asarray(a, dtype=np.int64) for a in (record, consent_day, rand_day))
    n = len(record)
    events = [study.event_map[e] for e in STEP_EVENTS[1:]]
    target = np.array([e.day_offset for e in events], dtype=np.int64)
    half = np.array([e.offset_max for e in events], dtype=np.int64)

    lead = np.minimum(BASELINE_WINDOW_DAYS, rand_day - consent_day)
    baseline_day = rand_day - np.floor(rng.random(n) * (lead + 1)).astype(np.int64)
    tests_day = baseline_day + np.floor(rng.random(n) * (rand_day - baseline_day + 1)).astype(np.int64)
    deviation = _deviation(rng, n, half)
    visit_day = np.column_stack([baseline_day, rand_day[:, None] + target + deviation])

    last_step = _last_step(rng, n)
    steps = np.arange(5)
    missed = (rng.random((n, 5)) < MISSED_VISIT_RATE) & (steps > 0) & (steps < last_step[:, None])
    attended = (steps <= last_step[:, None]) & ~missed

    status, leave_day, end_day = _ending(rng, rand_day, visit_day, last_step, target, half)
    return Schedule(record, rand_day, visit_day, attended, tests_day, last_step, leave_day, status, end_day)


def _deviation(rng: np.random.Generator, n: int, half: np.ndarray) -> np.ndarray:
    """Days from target: mostly inside +/- half-window, about 5% outside."""
    inside = np.clip(np.round(rng.normal(0, IN_WINDOW_SD * half, (n, len(half)))), -half, half)
    beyond = half + np.minimum(rng.geometric(1 / OUT_OF_WINDOW_DAYS_MEAN, (n, len(half))), OUT_OF_WINDOW_DAYS_MAX)
    sign = np.where(rng.random((n, len(half))) < 0.5, -1, 1)
    outside = rng.random((n, len(half))) < OUT_OF_WINDOW_RATE
    return np.where(outside, sign * beyond, inside).astype(np.int64)


def _last_step(rng: np.random.Generator, n: int) -> np.ndarray:
    """Last assessment step attended: the first step after which the participant left, else 4."""
    leaves = rng.random((n, len(DROPOUT_HAZARD))) < np.array(DROPOUT_HAZARD)
    return np.where(leaves.any(axis=1), leaves.argmax(axis=1), 4)


def _ending(rng, rand_day, visit_day, last_step, target, half):
    """(end_status, leave_day, end_day) for each participant."""
    n = len(rand_day)
    rows = np.arange(n)
    leaver = last_step < 4
    codes = np.array(list(LEAVER_STATUS))
    status = np.where(leaver, codes[rng.choice(len(codes), size=n, p=list(LEAVER_STATUS.values()))], COMPLETED)
    status = np.where(leaver & (last_step == 0) & (rng.random(n) < EXCLUDED_SHARE), EXCLUDED, status)

    next_step = np.minimum(last_step, 3)  # index into the follow-up targets of the next visit
    last_rel = np.where(last_step == 0, 0, visit_day[rows, last_step] - rand_day)
    next_target = target[next_step]
    span = np.maximum(next_target - last_rel, 2)
    leave_rel = last_rel + 1 + np.floor(rng.random(n) * (span - 1)).astype(np.int64)
    excluded_rel = rng.integers(EXCLUDED_DAYS[0], EXCLUDED_DAYS[1] + 1, n)
    leave_rel = np.where(status == EXCLUDED, excluded_rel, leave_rel)
    leave_day = np.where(leaver, rand_day + leave_rel, rand_day + 10_000)

    declared = (
        rand_day + next_target + half[next_step] + rng.integers(LOST_DECLARED_DAYS[0], LOST_DECLARED_DAYS[1] + 1, n)
    )
    end_day = np.select(
        [status == COMPLETED, status == LOST],
        [visit_day[:, 4], declared],
        leave_day,
    )
    return status, leave_day, end_day
