"""Calendar arithmetic for the simulator: dates are whole days counted from 1970-01-01.

The simulator keeps every date as an integer day number in numpy arrays, so that a schedule of
twenty thousand participants is a few vectorised additions; only at the end are the numbers
written as REDCap's `YYYY-MM-DD`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

EPOCH = dt.date(1970, 1, 1)


def day(iso: str) -> int:
    """`"2013-06-03"` -> day number."""
    return (dt.date.fromisoformat(iso) - EPOCH).days


def date(days: int) -> dt.date:
    """Day number -> `datetime.date`."""
    return EPOCH + dt.timedelta(days=int(days))


def iso(days: np.ndarray) -> np.ndarray:
    """Day numbers -> object array of `YYYY-MM-DD` strings."""
    return np.asarray(days, dtype="int64").astype("datetime64[D]").astype(str).astype(object)


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Day numbers -> (year, month, day of month) integer arrays."""
    d = np.asarray(days, dtype="int64").astype("datetime64[D]")
    years = d.astype("datetime64[Y]")
    months = d.astype("datetime64[M]")
    year = years.astype("int64") + 1970
    month = (months - years.astype("datetime64[M]")).astype("int64") + 1
    mday = (d - months.astype("datetime64[D]")).astype("int64") + 1
    return year, month, mday


def whole_years(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Completed years from `start` to `end` (REDCap's rounddown(datediff(..., "y"))), like an age."""
    y0, m0, d0 = ymd(start)
    y1, m1, d1 = ymd(end)
    before_birthday = (m1 < m0) | ((m1 == m0) & (d1 < d0))
    return y1 - y0 - before_birthday.astype("int64")


def weekday(days: np.ndarray) -> np.ndarray:
    """0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday)."""
    return (np.asarray(days, dtype="int64") + 3) % 7


def next_weekday(days: np.ndarray) -> np.ndarray:
    """Move Saturdays and Sundays to the following Monday."""
    wd = weekday(days)
    return np.asarray(days, dtype="int64") + np.where(wd == 5, 2, np.where(wd == 6, 1, 0))


def days_in_month(year: int, month: int) -> int:
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return (nxt - dt.date(year, month, 1)).days
