"""Intercurrent events: participants who stop running, and treatments for back pain outside the trial.

- About 10% stop running at some point between randomisation and their last visit (injury 35%,
  low back pain 45%, other 20%). Every attended follow-up visit records `running_status`: still
  running, or the date they stopped and why (the same date at every later visit).
- About 30% receive a co-intervention (analgesics most often, then physiotherapy), rarely two. Each
  is logged as one instance of the repeating `co_intervention` form at the first attended follow-up
  visit on or after its start, with its start date and, when it had ended by then, its stop date.
- Both are independent of the arm and of the outcomes (the values after stopping are recorded as
  the participant gives them; the analysis decides what to do with them).
"""

from __future__ import annotations

import numpy as np

from runback.flows.simulate import days
from runback.flows.simulate.schedule import STEP_EVENTS, Schedule
from runback.flows.simulate.sessions import _instances, _pick
from runback.flows.simulate.table import NEVER, FormRows

STOPPED_RUNNING_RATE = 0.10
STOP_REASONS = {"1": 0.35, "2": 0.45, "99": 0.2}
STOP_OTHER = ("Started cycling instead", "No time to run since a new job")
CO_INTERVENTIONS_MEAN = 0.35
"""Poisson mean of the treatments a participant receives outside the trial."""
CO_INTERVENTION_TYPES = {"1": 0.55, "2": 0.25, "3": 0.1, "4": 0.03, "99": 0.07}
CO_INTERVENTION_OTHER = ("Massage", "Acupuncture")
CO_INTERVENTION_DAYS = 21
"""Mean days a treatment lasts."""


def running_status_forms(rng: np.random.Generator, schedule: Schedule) -> list[FormRows]:
    """`running_status` at every attended follow-up visit."""
    n = len(schedule.record)
    last_day = np.minimum(schedule.leave_day, schedule.visit_day[:, -1])
    stops = rng.random(n) < STOPPED_RUNNING_RATE
    span = np.maximum(last_day - schedule.rand_day, 1)
    stop_day = np.where(stops, schedule.rand_day + 1 + np.floor(rng.random(n) * span).astype(np.int64), NEVER)
    reason = _pick(rng, STOP_REASONS, n)
    other = np.asarray(STOP_OTHER, dtype=object)[rng.integers(0, len(STOP_OTHER), n)]
    batches = []
    for step in range(1, len(STEP_EVENTS)):
        done = schedule.attended[:, step]
        when = schedule.visit_day[:, step]
        stopped = (stop_day <= when)[done]
        cells = {
            "run_date": days.iso(when[done]),
            "run_still": np.where(stopped, "0", "1").astype(object),
            "run_stop_date": np.where(stopped, days.iso(np.minimum(stop_day, when)[done]), "").astype(object),
            "run_stop_reason": np.where(stopped, reason[done], "").astype(object),
            "run_stop_other": np.where(stopped & (reason[done] == "99"), other[done], "").astype(object),
        }
        batches.append(FormRows("running_status", STEP_EVENTS[step], schedule.record[done], when[done], cells))
    return batches


def co_intervention_forms(rng: np.random.Generator, schedule: Schedule) -> list[FormRows]:
    """`co_intervention` instances, each at the first attended follow-up visit on or after its start."""
    counts = rng.poisson(CO_INTERVENTIONS_MEAN, len(schedule.record))
    person = np.repeat(np.arange(len(schedule.record)), counts)
    m = len(person)
    attended, follow_up = schedule.attended[:, 1:], schedule.visit_day[:, 1:]
    last_day = np.max(np.where(attended, follow_up, 0), axis=1)
    span = np.maximum(last_day - schedule.rand_day, 1)[person]
    start = schedule.rand_day[person] + 1 + np.floor(rng.random(m) * span).astype(np.int64)
    lasts = rng.geometric(1 / CO_INTERVENTION_DAYS, m)
    kind = _pick(rng, CO_INTERVENTION_TYPES, m)
    other = np.asarray(CO_INTERVENTION_OTHER, dtype=object)[rng.integers(0, len(CO_INTERVENTION_OTHER), m)]
    reported = attended[person] & (follow_up[person] >= start[:, None])
    step = reported.argmax(axis=1)  # index into the follow-up steps
    logged = reported.any(axis=1)
    visit_day = follow_up[person, step]
    batches = []
    for k in range(follow_up.shape[1]):
        at = np.flatnonzero(logged & (step == k))
        at = at[np.lexsort((start[at], person[at]))]
        ended = start[at] + lasts[at] <= visit_day[at]
        cells = {
            "cointv_type": kind[at],
            "cointv_other": np.where(kind[at] == "99", other[at], "").astype(object),
            "cointv_start": days.iso(start[at]),
            "cointv_stop": np.where(ended, days.iso(start[at] + lasts[at]), "").astype(object),
        }
        batches.append(
            FormRows(
                "co_intervention",
                STEP_EVENTS[k + 1],
                schedule.record[person[at]],
                visit_day[at],
                cells,
                instance=_instances(person[at]),
            )
        )
    return batches
