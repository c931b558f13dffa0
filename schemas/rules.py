"""Rules across forms and across exports: what one form row cannot tell on its own.

- any project: no date after the export was made (quarantine);
- the trial (when its fields are present): randomisation after consent and unchanged since the
  previous export (quarantine: the first value stands); assessments inside their visit windows,
  sessions inside the programme, running stopped after randomisation, nothing dated before
  screening (flag: the row loads and a data query is raised).

Each rule takes the export's text frames (per form, index `source_row`) and returns failure
records in the shape of `schemas.form.FAILURE_COLUMNS`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from runback.schemas.failures import FLAG, QUARANTINE, concat_failures, failures, no_failures
from runback.schemas.study import KIND_DATE, KIND_DATETIME, Study
from runback.schemas.trial import ASSESSMENT_DATES, PROGRAMME_EVENT, STOPPED_RUNNING_DATE
from runback.schemas.values import parse


@dataclass
class Context:
    """What the rules need beyond the export: its date and the warehouse's randomisation."""

    export_date: dt.date | None = None
    randomisation: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["record_id", "rand_group", "rand_date"])
    )
    """The randomisation already in the warehouse (text values): the first values stand."""


def check_all(frames: dict[str, pd.DataFrame], study: Study, context: Context) -> pd.DataFrame:
    """Every rule that applies to the project, on the export's form rows."""
    dates = parsed_dates(frames, study)
    found = [future_dates(frames, dates, context.export_date)]
    if {"randomisation", "screening"} <= set(frames) and "rand_date" in study.field_map:
        rand_dates = randomisation_dates(frames["randomisation"], context.randomisation)
        found += [
            consent_before_randomisation(frames["screening"], frames["randomisation"]),
            randomisation_unchanged(frames["randomisation"], context.randomisation),
            visit_windows(frames, dates, study, rand_dates),
            sessions_in_programme(frames.get("session_log"), dates, study, rand_dates),
            stopped_after_randomisation(frames, dates, rand_dates),
            not_before_screening(frames, dates),
        ]
    return concat_failures(found)


def _records(rows: pd.DataFrame, form: str, column: str, check: str, reason, action: str) -> pd.DataFrame:
    return failures(rows, form, column, rows[column], check, reason, action)


def _date_fields(study: Study, form: str) -> list[str]:
    return [f.name for f in study.forms[form].fields if f.kind in (KIND_DATE, KIND_DATETIME) and not f.identifier]


def parsed_dates(frames: dict[str, pd.DataFrame], study: Study) -> dict[tuple[str, str], pd.Series]:
    """Every date field of every form, parsed once: (form, column) -> timestamps (NaT if none)."""
    return {
        (form, col): parse(rows[col], study.field_map[col].kind)
        for form, rows in frames.items()
        for col in _date_fields(study, form)
        if col in rows.columns
    }


def future_dates(frames: dict[str, pd.DataFrame], dates: dict, export_date: dt.date | None) -> pd.DataFrame:
    """A date after the export was made cannot be right."""
    if export_date is None:
        return no_failures()
    limit = pd.Timestamp(export_date) + pd.Timedelta(days=1)
    found = []
    for (form, col), parsed in dates.items():
        late = (parsed >= limit).fillna(False)
        if late.any():
            reason = f"the date is after the export was made ({export_date:%Y-%m-%d})"
            found.append(_records(frames[form][late], form, col, "date_after_export", reason, QUARANTINE))
    return concat_failures(found)


def consent_before_randomisation(screening: pd.DataFrame, randomisation: pd.DataFrame) -> pd.DataFrame:
    """Randomisation needs consent given on or before the date of randomisation."""
    if randomisation.empty:
        return no_failures()
    consent = screening.drop_duplicates("record_id").set_index("record_id")[["consent", "consent_date"]]
    joined = randomisation.join(consent, on="record_id")
    rand = parse(joined["rand_date"], KIND_DATE)
    given = parse(joined["consent_date"], KIND_DATE)
    no_consent = joined["consent"].fillna("") != "1"
    before = (rand < given).fillna(False) & ~no_consent
    found = []
    if no_consent.any():
        found.append(
            _records(
                randomisation[no_consent],
                "randomisation",
                "rand_date",
                "consent_before_randomisation",
                "randomised but consent is not recorded as given on the screening form",
                QUARANTINE,
            )
        )
    if before.any():
        reason = (
            "randomised on "
            + joined.loc[before, "rand_date"]
            + ", before consent on "
            + joined.loc[before, "consent_date"]
        )
        found.append(
            _records(
                randomisation[before], "randomisation", "rand_date", "consent_before_randomisation", reason, QUARANTINE
            )
        )
    return concat_failures(found)


def randomisation_unchanged(randomisation: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Randomisation is final: a changed arm or date is held back and the first value stands."""
    if previous.empty or randomisation.empty:
        return no_failures()
    before = previous.set_index("record_id")
    found = []
    for col in ("rand_group", "rand_date"):
        was = randomisation["record_id"].map(before[col])
        changed = was.notna() & (was != randomisation[col])
        if changed.any():
            reason = (
                f"{col} was '"
                + was[changed]
                + "' in an earlier export and is '"
                + randomisation.loc[changed, col]
                + "' now; randomisation is final, so the first value stands until the query is resolved"
            )
            found.append(
                _records(randomisation[changed], "randomisation", col, "randomisation_changed", reason, QUARANTINE)
            )
    return concat_failures(found)


def randomisation_dates(current: pd.DataFrame, previous: pd.DataFrame) -> pd.Series:
    """record_id -> date of randomisation: the warehouse's (first) value, else this export's."""
    dates = pd.concat([previous[["record_id", "rand_date"]], current[["record_id", "rand_date"]]])
    dates = dates.drop_duplicates("record_id").set_index("record_id")["rand_date"]
    return parse(dates, KIND_DATE).dropna()


def _lookup(values: pd.Series, keys: pd.Series) -> pd.Series:
    """`values` (indexed by unique record ids) for each key, aligned with `keys` (missing where
    absent). Unlike `keys.map(values)`, keeps the values' dtype when `values` is empty. The keys
    are found with Arrow's hash lookup (ten times pandas' `reindex` on Arrow strings)."""
    if values.empty:
        return pd.Series(values.reindex(keys.to_numpy()).to_numpy(), index=keys.index)
    position = pc.index_in(pa.array(keys, pa.string()), value_set=pa.array(values.index, pa.string()))
    position = position.fill_null(-1).to_numpy()
    found = pd.Series(values.to_numpy()[np.maximum(position, 0)], index=keys.index)
    return found.where(position >= 0)


def _days_from_randomisation(when: pd.Series, record_ids: pd.Series, rand_dates: pd.Series) -> pd.Series:
    """Days from each record's randomisation to `when` (NaN where either is unknown)."""
    return (when - _lookup(rand_dates, record_ids).astype(when.dtype)).dt.days


def visit_windows(frames: dict[str, pd.DataFrame], dates: dict, study: Study, rand_dates: pd.Series) -> pd.DataFrame:
    """An assessment outside its event's window (days from randomisation) loads with a flag."""
    found = []
    events = study.event_map
    for form, col in ASSESSMENT_DATES.items():
        rows = frames.get(form)
        if rows is None or rows.empty:
            continue
        day = _days_from_randomisation(dates[(form, col)], rows["record_id"], rand_dates)
        windows = {e: events[e].window if e in events else None for e in rows["event"].unique()}
        low = rows["event"].map({e: w[0] if w else None for e, w in windows.items()}).astype(float)
        high = rows["event"].map({e: w[1] if w else None for e, w in windows.items()}).astype(float)
        outside = ((day < low) | (day > high)).fillna(False)
        if outside.any():
            bad = rows[outside]
            reason = (
                "assessed on day "
                + day[outside].astype(int).astype(str)
                + " from randomisation; the "
                + bad["event"]
                + " window is days "
                + low[outside].astype(int).astype(str)
                + " to "
                + high[outside].astype(int).astype(str)
            )
            found.append(_records(bad, form, col, "outside_visit_window", reason, FLAG))
    return concat_failures(found)


def sessions_in_programme(
    sessions: pd.DataFrame | None, dates: dict, study: Study, rand_dates: pd.Series
) -> pd.DataFrame:
    """A session dated outside the programme's window loads with a flag."""
    event = study.event_map.get(PROGRAMME_EVENT)
    if sessions is None or sessions.empty or event is None or event.window is None:
        return no_failures()
    low, high = event.window
    day = _days_from_randomisation(dates[("session_log", "sess_date")], sessions["record_id"], rand_dates)
    outside = ((day < low) | (day > high)).fillna(False)
    if not outside.any():
        return no_failures()
    reason = (
        "session on day "
        + day[outside].astype(int).astype(str)
        + f" from randomisation, outside the programme (days {low:g} to {high:g})"
    )
    return _records(sessions[outside], "session_log", "sess_date", "session_outside_programme", reason, FLAG)


def stopped_after_randomisation(frames: dict[str, pd.DataFrame], dates: dict, rand_dates: pd.Series) -> pd.DataFrame:
    """Running stops after randomisation (an eligible participant ran, and an intercurrent event
    follows randomisation): an earlier stop date loads with a flag, since the running outcomes' values
    after it are set aside (the hypothetical strategy) until it is corrected."""
    form, col = STOPPED_RUNNING_DATE
    rows = frames.get(form)
    if rows is None or rows.empty or (form, col) not in dates:
        return no_failures()
    early = (_days_from_randomisation(dates[(form, col)], rows["record_id"], rand_dates) < 0).fillna(False)
    if not early.any():
        return no_failures()
    reason = "running stopped before the participant was randomised; every running value after it is set aside"
    return _records(rows[early], form, col, "stopped_before_randomisation", reason, FLAG)


def not_before_screening(frames: dict[str, pd.DataFrame], dates: dict) -> pd.DataFrame:
    """Nothing of a participant can be dated before their screening."""
    screening = frames["screening"]
    screened = dates[("screening", "scr_date")].groupby(screening["record_id"].to_numpy()).first().dropna()
    found = []
    for (form, col), parsed in dates.items():
        rows = frames[form]
        if form == "screening" or rows.empty:
            continue
        first = _lookup(screened, rows["record_id"])
        early = (parsed < first).fillna(False)
        if early.any():
            reason = "dated before the participant's screening on " + first[early].dt.strftime("%Y-%m-%d")
            found.append(_records(rows[early], form, col, "date_before_screening", reason, FLAG))
    return concat_failures(found)
