"""Registered checks: the REDCap value checks every model uses (`Field(redcap_type={...})`), the
row-level checks a form model declares with `@row_check`, and the sentence a data manager reads
when one fails.

Checks read text: a value is blank, a missing-data code ("missing for a reason", always accepted),
or must parse as its field's kind and sit in its range and choices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
from pandera import extensions

from runback.schemas.failures import QUARANTINE
from runback.schemas.values import KIND_WORDS, bound, parse


# -- value checks: usable as Field(<name>={...}) in every model --------------------------------
def redcap_type(values: pd.Series, *, kind: str, missing: tuple[str, ...]) -> pd.Series:
    """The value is blank, a missing-data code, or parses as the field's kind."""
    return (values == "") | values.isin(missing) | parse(values, kind).notna()


def redcap_range(values: pd.Series, *, kind: str, min: str, max: str) -> pd.Series:
    """A value that parses lies within [min, max] (blank, codes and unparsable values pass here)."""
    parsed = parse(values, kind)
    ok = pd.Series(True, index=values.index)
    low, high = bound(min, kind), bound(max, kind)
    if low is not None:
        ok &= ~(parsed < low).fillna(False)
    if high is not None:
        ok &= ~(parsed > high).fillna(False)
    return ok


def redcap_choice(values: pd.Series, *, codes: tuple[str, ...], missing: tuple[str, ...]) -> pd.Series:
    """The value is blank, a missing-data code or one of the field's codes."""
    return (values == "") | values.isin(codes) | values.isin(missing)


def redcap_required(values: pd.Series, *, missing: tuple[str, ...]) -> pd.Series:
    """A required field is not blank (a missing-data code counts as answered)."""
    return values != ""


def redcap_checkbox_codes(values: pd.Series, *, codes: tuple[str, ...]) -> pd.Series:
    """Documents a checkbox field's choice codes (the column names carry them; always true)."""
    return pd.Series(True, index=values.index)


# Registered by a call, not as decorators: the checks stay plain functions, which mutation testing can
# change (`make mutation`, docs/mutation.md).
extensions.register_check_method(statistics=["kind", "missing"], supported_types=pd.Series)(redcap_type)
extensions.register_check_method(statistics=["kind", "min", "max"], supported_types=pd.Series)(redcap_range)
extensions.register_check_method(statistics=["codes", "missing"], supported_types=pd.Series)(redcap_choice)
extensions.register_check_method(statistics=["missing"], supported_types=pd.Series)(redcap_required)
extensions.register_check_method(statistics=["codes"], supported_types=pd.Series)(redcap_checkbox_codes)


def sentence(check: str, stats: dict, values: pd.Series) -> pd.Series | str:
    """The reason a data manager reads for a failed value check (one per value)."""
    quoted = "'" + values + "'"
    if check == "redcap_type":
        return quoted + f" is not {KIND_WORDS.get(stats.get('kind'), 'valid')}"
    if check == "redcap_range":
        low, high = stats.get("min") or "-", stats.get("max") or "-"
        return quoted + f" is outside the allowed range {low} to {high}"
    if check == "redcap_choice":
        return quoted + " is not one of the codes " + ", ".join(stats.get("codes", ()))
    if check == "redcap_required":
        return "a required field is blank"
    return quoted + f" fails the check {check}"


# -- row-level checks (several columns of one form row) --------------------------------------------
@dataclass(frozen=True)
class RowCheck:
    """What a failed row-level check means: the column to point at, the action and the reason."""

    column: str
    action: str
    reason: str


ROW_CHECKS: dict[str, RowCheck] = {}
"""Every row-level check declared by a form model, by name."""


def row_check(*, column: str, reason: str, action: str = QUARANTINE) -> Callable:
    """Declare a dataframe check of a form model (returns True for good rows)."""

    def register(fn: Callable) -> Callable:
        ROW_CHECKS[fn.__name__] = RowCheck(column, action, reason)
        return pa.dataframe_check(name=fn.__name__)(fn)

    return register
