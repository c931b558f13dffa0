"""The 8-week programme: the repeating `session_log` and `adverse_event` forms.

- Each programme week (days 1-7, 8-14, ... after randomisation) has 2 supervised sessions three
  days apart, on the participant's usual weekdays, and 2-3 home sessions on other days.
- Adherence is per person: supervised sessions are done with a probability drawn per person
  (about a fifth of people complete fewer than 12 of 16); home sessions are done less often.
- A session logs the date, programme week, type, whether it was done, the RPE (0-10, when done)
  and sometimes a physiotherapist's note: free text with commas, quotes, a line break or a leading
  `-`/`+`, as real notes have. Leavers stop logging on the day they leave.
- About 10% of participants report one or two adverse events, with a free-text description
  (some spanning two lines), severity, seriousness (rare), relatedness and action taken.
Instances are numbered 1, 2, ... per participant in date order.
"""

from __future__ import annotations

import numpy as np

from runback.flows.simulate import days
from runback.flows.simulate.schedule import Schedule
from runback.flows.simulate.table import FormRows

PROGRAMME_EVENT = "programme_arm_1"
WEEKS = 8
SUPERVISED_GAP = 3
"""Days between the two supervised sessions of a week."""
HOME_PER_WEEK = (2, 3)
SUPERVISED_ADHERENCE = (5.0, 1.0)
"""Beta(a, b) of a person's probability of doing a supervised session (mean 0.83)."""
HOME_ADHERENCE = (3.0, 1.5)
RPE_SUPERVISED = (6.0, 1.3)
RPE_HOME = (4.5, 1.3)
RPE_BLANK = 0.04
NOTE_RATE = {1: 0.12, 2: 0.03}
"""P(a note) by session type (1 supervised, 2 home), for sessions done..."""
MISSED_NOTE_RATE = 0.4
"""...and for supervised sessions not done."""
NOTES = (
    "Progressed load, good form",
    "- skipped warm-up (arrived late)",
    "- reduced sets, back stiff in the morning",
    "Single-leg squat: knee valgus on the left, cued",
    "Tolerated well.\nPlan: add one set next session",
    'Said the back felt "much better" on runs this week',
    "Mild soreness next day, resolved",
    "Increased resistance band level, form good",
    "+1 set added",
    "Ran a half marathon on Sunday, legs tired",
    "Pain 3/10 during exercise,\nsettled after cool-down",
)
MISSED_NOTES = ("Did not attend (work)", "Cancelled: unwell", "No show, rescheduled", "- cancelled, travelling")
GUARANTEED_NOTES = ("- skipped warm-up", "Sore after last session.\nReduced load today.")
"""Notes on the first randomised participant's first two supervised sessions done, so every
export past the first few weeks has a note that starts with `-` and one with a line break."""

AE_RATE = 0.10
SECOND_AE_RATE = 0.3
AE_ONSET_AFTER_PROGRAMME = 21
"""Adverse events start within the programme or up to this many days after it."""
AE_DESCRIPTIONS = (
    "Knee pain after single-leg squats",
    "Low back pain flare-up after back extensions.\nRested 3 days, settled.",
    "Delayed onset muscle soreness (thighs), 2 days",
    "Ankle sprain while running (not during a session)",
    "Hamstring strain during a race",
    "Dizziness during plank exercise",
    "Upper respiratory tract infection",
    "Shin pain after increasing weekly mileage",
    "Fall on wet track, bruised hip.\nX-ray normal.",
    "Wrist pain from opposite arm and leg raises",
)
AE_SEVERITY = {"1": 0.7, "2": 0.25, "3": 0.05}
AE_SERIOUS_RATE = 0.03
AE_RELATED = {"1": 0.15, "2": 0.2, "3": 0.35, "4": 0.2, "5": 0.1}
AE_ACTIONS = {"2": 0.35, "3": 0.2, "4": 0.1}
"""P(each action); `1` (none) when no other applies."""


def session_forms(rng: np.random.Generator, schedule: Schedule) -> list[FormRows]:
    """One `session_log` batch with every logged session of every participant."""
    n = len(schedule.record)
    supervised, home = _weekly_slots(rng, n)
    person, week, slot = np.nonzero(supervised | home)
    kind = np.where(supervised[person, week, slot], 1, 2)
    day = schedule.rand_day[person] + 7 * week + 1 + slot
    keep = day < schedule.leave_day[person]
    person, week, kind, day = person[keep], week[keep], kind[keep], day[keep]

    p_sup = rng.beta(*SUPERVISED_ADHERENCE, n)
    p_home = rng.beta(*HOME_ADHERENCE, n)
    done = rng.random(len(person)) < np.where(kind == 1, p_sup[person], p_home[person])
    mean, sd = (np.where(kind == 1, RPE_SUPERVISED[i], RPE_HOME[i]) for i in (0, 1))
    rpe = np.clip(np.round(rng.normal(mean, sd)), 0, 10).astype(np.int64).astype(str).astype(object)
    rpe = np.where(done & (rng.random(len(person)) >= RPE_BLANK), rpe, "").astype(object)
    notes = _notes(rng, kind, done)
    _guarantee_notes(schedule, person, kind, done, notes)

    cells = {
        "sess_date": days.iso(day),
        "sess_week": (week + 1).astype(str).astype(object),
        "sess_type": kind.astype(str).astype(object),
        "sess_done": done.astype(np.int64).astype(str).astype(object),
        "sess_rpe": rpe,
        "sess_note": notes,
    }
    return [FormRows("session_log", PROGRAMME_EVENT, schedule.record[person], day, cells, instance=_instances(person))]


def adverse_event_forms(rng: np.random.Generator, schedule: Schedule) -> list[FormRows]:
    """One `adverse_event` batch: about 10% of participants with one or two events."""
    n = len(schedule.record)
    count = np.where(rng.random(n) < AE_RATE, np.where(rng.random(n) < SECOND_AE_RATE, 2, 1), 0)
    span = np.minimum(schedule.leave_day - schedule.rand_day, 7 * WEEKS + AE_ONSET_AFTER_PROGRAMME)
    count = np.where(span > 1, count, 0)
    person = np.repeat(np.arange(n), count)
    onset = schedule.rand_day[person] + 1 + np.floor(rng.random(len(person)) * (span[person] - 1)).astype(np.int64)
    order = np.lexsort((onset, person))
    person, onset = person[order], onset[order]
    m = len(person)
    severity = _pick(rng, AE_SEVERITY, m)
    serious = (rng.random(m) < AE_SERIOUS_RATE) | ((severity == "3") & (rng.random(m) < 0.5))
    actions = {code: rng.random(m) < p for code, p in AE_ACTIONS.items()}
    none = ~np.any(list(actions.values()), axis=0) if m else np.zeros(0, dtype=bool)
    cells = {
        "ae_onset": days.iso(onset),
        "ae_desc": np.asarray(AE_DESCRIPTIONS, dtype=object)[rng.integers(0, len(AE_DESCRIPTIONS), m)],
        "ae_severity": severity,
        "ae_serious": serious.astype(np.int64).astype(str).astype(object),
        "ae_related": _pick(rng, AE_RELATED, m),
    }
    checked = {"1": none, **actions, "5": np.zeros(m, dtype=bool)}
    for code, mask in checked.items():
        cells[f"ae_action___{code}"] = np.where(mask, "1", "0").astype(object)
    for code in ("unk", "nask", "asku", "na"):
        cells[f"ae_action___{code}"] = np.full(m, "0", dtype=object)
    return [
        FormRows("adverse_event", PROGRAMME_EVENT, schedule.record[person], onset, cells, instance=_instances(person))
    ]


def _weekly_slots(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(person, week, day-of-week slot) masks of supervised and home sessions."""
    first = rng.integers(0, 7 - SUPERVISED_GAP, n)
    slots = np.arange(7)
    supervised = (slots == first[:, None, None]) | (slots == first[:, None, None] + SUPERVISED_GAP)
    supervised = np.broadcast_to(supervised, (n, WEEKS, 7))
    keys = np.where(supervised, 2.0, rng.random((n, WEEKS, 7)))
    rank = np.argsort(np.argsort(keys, axis=2), axis=2)
    per_week = rng.integers(HOME_PER_WEEK[0], HOME_PER_WEEK[1] + 1, (n, WEEKS, 1))
    home = (rank < per_week) & ~supervised
    return supervised, home


def _notes(rng: np.random.Generator, kind: np.ndarray, done: np.ndarray) -> np.ndarray:
    m = len(kind)
    rate = np.where(done, np.where(kind == 1, NOTE_RATE[1], NOTE_RATE[2]), np.where(kind == 1, MISSED_NOTE_RATE, 0.0))
    has = rng.random(m) < rate
    text = np.where(
        done,
        np.asarray(NOTES, dtype=object)[rng.integers(0, len(NOTES), m)],
        np.asarray(MISSED_NOTES, dtype=object)[rng.integers(0, len(MISSED_NOTES), m)],
    )
    return np.where(has, text, "").astype(object)


def _guarantee_notes(schedule: Schedule, person, kind, done, notes) -> None:
    """Put GUARANTEED_NOTES on the first supervised sessions done by the first randomised person."""
    for who in np.lexsort((schedule.record, schedule.rand_day)):
        mine = np.flatnonzero((person == who) & (kind == 1) & done)
        if len(mine) >= len(GUARANTEED_NOTES):
            notes[mine[: len(GUARANTEED_NOTES)]] = GUARANTEED_NOTES
            return


def _instances(person: np.ndarray) -> np.ndarray:
    """1, 2, ... within each person (rows grouped by person, in order)."""
    if not len(person):
        return np.zeros(0, dtype=np.int64)
    start = np.r_[0, np.flatnonzero(np.diff(person)) + 1]
    first = np.repeat(start, np.diff(np.r_[start, len(person)]))
    return np.arange(len(person)) - first + 1


def _pick(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    return np.asarray(list(weights), dtype=object)[rng.choice(len(weights), size=n, p=list(weights.values()))]
