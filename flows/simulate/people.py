"""Recruitment: who was screened, when, who was eligible and consented, and which arm they got.

- People are screened on weekdays over about two years from June 2013, as arrivals of a steady
  process (sorted uniform dates); record ids `1`, `2`, ... follow the screening order.
- About 30% fail screening: most are ineligible (one or two exclusion reasons, with screening
  answers that match the reason), the rest are eligible but decline consent (reason 5).
- Everyone else consents 0-7 days after screening and is randomised 0-10 days after consent,
  1:1:1 stratified by sex with permuted blocks of 3 and 6 within each stratum. `rand_id` is the
  sequence number on the stratum's allocation list (`M001`, `F001`, ...).
- Age at screening about 27 +/- 5.5 (18-45), half men and half women.
- In a multi-site trial each person is screened at one site (`SITES`, REDCap's unique data access
  group names), the first site recruiting most.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from runback.flows.simulate import days, identity
from runback.schemas.trial import RECRUITMENT

RECRUITMENT_START = RECRUITMENT.start.isoformat()
RECRUITMENT_DAYS = (RECRUITMENT.end - RECRUITMENT.start).days + 1
SCREEN_FAIL_RATE = 0.30
DECLINED_SHARE = 0.30
"""Share of screen failures who were eligible but declined (the rest are ineligible)."""
EXCLUSION_REASONS = {"1": 0.35, "2": 0.25, "3": 0.10, "4": 0.18, "99": 0.12}
"""Reasons for ineligibility (codes of `excl_reason`) and how often each is the main one."""
SECOND_REASON_RATE = 0.25
DECLINED_REASON = "5"
MALE_SHARE = 0.5
AGE_MEAN, AGE_SD, AGE_MIN, AGE_MAX = 27.5, 5.5, 18, 45
CONSENT_DELAY_MAX = 7
RANDOMISATION_DELAY_MAX = 10
BLOCK_SIZES = (3, 6)
ARMS = (1, 2, 3)
"""`rand_group` codes: 1 = LL, 2 = LE, 3 = LS."""
STRATUM_PREFIX = {1: "M", 2: "F"}
SITES = ("nie_sports_science", "sgh_physiotherapy", "changi_sports_med")
"""The trial's sites as REDCap's unique data access group names (a multi-site simulation uses the first few)."""
SITE_WEIGHTS = (0.5, 0.3, 0.2)

RUNS_ELIGIBLE = {2: 0.2, 3: 0.35, 4: 0.3, 5: 0.15}
RUNS_INELIGIBLE = {0: 0.1, 1: 0.4, 6: 0.35, 7: 0.15}
LBP_MONTHS_MEDIAN, LBP_MONTHS_LOG_SD = 14, 0.8
NOT_ON_WAITLIST_RATE = 0.05
"""Among ineligible people: share not on the physiotherapy waiting list."""


def recruit(rng: np.random.Generator, participants: int) -> pd.DataFrame:
    """Everyone screened until `participants` were randomised: one row each, in screening order."""
    failed = _screen_outcomes(rng, participants)
    n = len(failed)
    scr_day = days.next_weekday(np.sort(days.day(RECRUITMENT_START) + rng.integers(0, RECRUITMENT_DAYS, n)))
    sex = np.where(rng.random(n) < MALE_SHARE, 1, 2)
    dob_day, age = _birth_dates(rng, scr_day)
    people = pd.DataFrame(
        {"record": np.arange(1, n + 1), "scr_day": scr_day, "sex": sex, "dob_day": dob_day, "age": age}
    )
    birth_year = days.ymd(dob_day)[0]
    first, last, _ = identity.names(rng, sex)
    people["first_name"], people["last_name"] = first, last
    people["nric"] = identity.nrics(rng, birth_year)
    people["phone"] = identity.phones(rng, n)
    people["email"] = identity.emails(rng, first, last, birth_year)
    _eligibility(rng, people, failed)
    _consent_and_randomisation_dates(rng, people)
    return people


def allocate(rng: np.random.Generator, people: pd.DataFrame) -> pd.DataFrame:
    """Add `group` (1/2/3) and `rand_id`: permuted blocks within each sex, in randomisation order."""
    people = people.copy()
    people["group"] = 0
    people["rand_id"] = ""
    randomised = people[people["randomised"]].sort_values(["rand_day", "record"])
    for sex, prefix in STRATUM_PREFIX.items():
        index = randomised.index[randomised["sex"] == sex]
        people.loc[index, "group"] = permuted_blocks(rng, len(index))
        people.loc[index, "rand_id"] = [f"{prefix}{i:03d}" for i in range(1, len(index) + 1)]
    return people


def permuted_blocks(rng: np.random.Generator, n: int) -> np.ndarray:
    """An allocation list of length n: blocks of 3 or 6, each holding every arm equally often."""
    out: list[int] = []
    while len(out) < n:
        size = int(rng.choice(BLOCK_SIZES))
        out += list(rng.permutation(np.repeat(ARMS, size // len(ARMS))))
    return np.array(out[:n], dtype=np.int64)


def _screen_outcomes(rng: np.random.Generator, participants: int) -> np.ndarray:
    """Fail flags of everyone screened, stopping at the `participants`-th pass."""
    flags = np.array([], dtype=bool)
    while (~flags).sum() < participants:
        more = int(participants / (1 - SCREEN_FAIL_RATE) * 1.2) + 20
        flags = np.concatenate([flags, rng.random(more) < SCREEN_FAIL_RATE])
    last = np.flatnonzero(~flags)[participants - 1]
    return flags[: last + 1]


def _birth_dates(rng: np.random.Generator, scr_day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    years = np.clip(rng.normal(AGE_MEAN, AGE_SD, len(scr_day)), AGE_MIN + 0.05, AGE_MAX + 0.95)
    dob_day = scr_day - np.floor(years * 365.2425).astype(np.int64)
    age = days.whole_years(dob_day, scr_day)
    dob_day = dob_day + np.where(age < AGE_MIN, -3, np.where(age > AGE_MAX, 3, 0))
    return dob_day, days.whole_years(dob_day, scr_day)


def _eligibility(rng: np.random.Generator, people: pd.DataFrame, failed: np.ndarray) -> None:
    n = len(people)
    declined = failed & (rng.random(n) < DECLINED_SHARE)
    ineligible = failed & ~declined
    codes = list(EXCLUSION_REASONS)
    first = rng.choice(len(codes), size=n, p=list(EXCLUSION_REASONS.values()))
    second = rng.choice(len(codes), size=n, p=list(EXCLUSION_REASONS.values()))
    two = rng.random(n) < SECOND_REASON_RATE
    reasons = []
    for i in range(n):
        if declined[i]:
            reasons.append((DECLINED_REASON,))
        elif ineligible[i]:
            picked = {codes[first[i]]} | ({codes[second[i]]} if two[i] else set())
            reasons.append(tuple(c for c in codes if c in picked))
        else:
            reasons.append(())
    people["excl_reasons"] = reasons
    people["eligible"] = np.where(ineligible, 0, 1)
    people["consent"] = np.where(ineligible, -1, np.where(declined, 0, 1))
    people["randomised"] = ~failed
    too_few_or_many = np.array(["1" in r for r in reasons])
    short_pain = np.array(["2" in r for r in reasons])
    people["runs_per_week"] = np.where(too_few_or_many, _pick(rng, RUNS_INELIGIBLE, n), _pick(rng, RUNS_ELIGIBLE, n))
    months = np.exp(rng.normal(np.log(LBP_MONTHS_MEDIAN), LBP_MONTHS_LOG_SD, n))
    people["lbp_months"] = np.where(short_pain, rng.integers(1, 3, n), np.clip(np.round(months), 3, 240)).astype(
        np.int64
    )
    people["waitlist"] = np.where(ineligible & (rng.random(n) < NOT_ON_WAITLIST_RATE), 0, 1)


def _consent_and_randomisation_dates(rng: np.random.Generator, people: pd.DataFrame) -> None:
    n = len(people)
    consent_day = days.next_weekday(people["scr_day"].to_numpy() + rng.integers(0, CONSENT_DELAY_MAX + 1, n))
    rand_day = days.next_weekday(consent_day + rng.integers(0, RANDOMISATION_DELAY_MAX - 1, n))
    randomised = people["randomised"].to_numpy()
    people["consent_day"] = np.where(randomised, consent_day, -1)
    people["rand_day"] = np.where(randomised, rand_day, -1)


def _pick(rng: np.random.Generator, weights: dict[int, float], n: int) -> np.ndarray:
    return np.asarray(list(weights))[rng.choice(len(weights), size=n, p=list(weights.values()))]


def sites(rng: np.random.Generator, records: pd.Series, n: int) -> dict[int, str]:
    """Record -> the data access group of its site, for a trial recruiting at the first `n` sites."""
    weights = np.asarray(SITE_WEIGHTS[:n]) / sum(SITE_WEIGHTS[:n])
    chosen = rng.choice(n, size=len(records), p=weights)
    return {int(r): SITES[int(s)] for r, s in zip(records, chosen, strict=True)}
