"""Data entry: when each form was typed into REDCap, its `_complete` status, and later corrections.

- A form is entered 0-10 days after the day it documents (mostly within two days); the
  randomisation form only once the screening form is complete.
- Its status ends as Complete (2), sometimes Unverified (1); some forms sit as Incomplete (0)
  for up to two weeks first, so recent forms in a snapshot are often 0.
- A few outcome values are first entered wrong and corrected weeks later, so consecutive
  snapshots differ in old rows too. Both values are valid: a correction is not a fault.
"""

from __future__ import annotations

import numpy as np

from runback.flows.simulate.table import FormRows, Overlay, TrialTable
from runback.schemas.study import KIND_CHOICE, KIND_INTEGER, KIND_NUMBER, Study

ENTRY_LAG_MAX = 10
ENTRY_LAG_DECAY = 0.6
"""P(lag = k days) is proportional to DECAY**k, k = 0..ENTRY_LAG_MAX."""
UNVERIFIED_RATE = 0.07
"""Share of forms left Unverified (1) rather than Complete (2)."""
INCOMPLETE_FIRST_RATE = 0.25
"""Share of forms saved as Incomplete (0) and marked complete later..."""
INCOMPLETE_DAYS_MAX = 14
"""...within this many days."""

CORRECTION_RATE = 0.015
"""Share of saved outcome forms in which one value is corrected later."""
CORRECTION_DELAY = (7, 120)
"""Days from entry to the correction."""
CORRECTABLE = {
    "baseline_characteristics": ("running_years", "weekly_km"),
    "nprs": ("nprs_run", "nprs_avg"),
    "psfs": ("psfs_score1", "psfs_score2", "psfs_score3"),
    "odi": tuple(f"odi_q{i}" for i in range(1, 11)),
    "physical_tests": ("ke_torque_l", "ke_torque_r", "step_length_cm", "sorensen_s"),
}


def enter(rng: np.random.Generator, batches: list[FormRows]) -> None:
    """Give every batch its entry day, final status and the day the status was set."""
    lags = np.arange(ENTRY_LAG_MAX + 1)
    p = ENTRY_LAG_DECAY**lags
    p = p / p.sum()
    for batch in batches:
        n = len(batch)
        batch.entry = np.asarray(batch.when, dtype=np.int64) + rng.choice(lags, size=n, p=p)
        batch.final = np.where(rng.random(n) < UNVERIFIED_RATE, "1", "2").astype(object)
        late = rng.random(n) < INCOMPLETE_FIRST_RATE
        batch.settle = batch.entry + np.where(late, rng.integers(1, INCOMPLETE_DAYS_MAX + 1, size=n), 0)
    _randomise_after_screening(batches)


def _randomise_after_screening(batches: list[FormRows]) -> None:
    """REDCap's randomisation needs the saved screening form (sex is the stratum): never before it."""
    by_form = {b.form: b for b in batches}
    screening, randomisation = by_form.get("screening"), by_form.get("randomisation")
    if screening is None or randomisation is None:
        return
    screened_on = dict(zip(screening.record, screening.settle))
    first = np.array([screened_on.get(r, 0) for r in randomisation.record], dtype=np.int64)
    shift = np.maximum(first - randomisation.entry, 0)
    randomisation.entry = randomisation.entry + shift
    randomisation.settle = randomisation.settle + shift


def corrections(rng: np.random.Generator, study: Study, table: TrialTable, last_night: int) -> list[Overlay]:
    """Values first entered wrong, shown until their correction (always before the last night)."""
    overlays = []
    fields = study.field_map
    for name, columns in CORRECTABLE.items():
        ft = table.form(name)
        picked = np.flatnonzero(rng.random(len(ft.row)) < CORRECTION_RATE)
        choice = rng.integers(0, len(columns), size=len(picked))
        delay = rng.integers(CORRECTION_DELAY[0], CORRECTION_DELAY[1] + 1, size=len(picked))
        for local, c, d in zip(picked, choice, delay, strict=True):
            column = columns[c]
            wrong = _wrong_value(rng, fields[column], ft.cells[column][local])
            fixed = min(int(ft.entry[local]) + int(d), last_night - 1)
            if wrong is None or fixed <= ft.entry[local]:
                continue
            overlays.append(Overlay(int(ft.row[local]), column, wrong, int(ft.entry[local]) + 1, fixed + 1))
    return overlays


def _wrong_value(rng: np.random.Generator, field, value: str) -> str | None:
    """A plausible typo of a numeric value, inside the field's range; None if not numeric."""
    try:
        number = float(value)
    except ValueError:
        return None
    decimals = len(value.split(".")[1]) if "." in value else 0
    step = 10.0**-decimals if field.kind == KIND_NUMBER else 1.0
    low, high = (float(x) if x else None for x in _range(field))
    for shift in rng.permutation([-2, -1, 1, 2]) * (10 if field.kind == KIND_NUMBER else 1):
        new = round(number + shift * step, decimals)
        if (low is None or new >= low) and (high is None or new <= high):
            return f"{new:.{decimals}f}" if decimals else str(int(new))
    return None


def _range(field) -> tuple[str, str]:
    if field.kind == KIND_CHOICE:
        codes = [int(c) for c in field.codes]
        return str(min(codes)), str(max(codes))
    if field.kind in (KIND_INTEGER, KIND_NUMBER):
        return field.range
    return ("", "")
