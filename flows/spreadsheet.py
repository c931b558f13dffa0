"""Tables written as CSV for people who open them in a spreadsheet (exports, query output, the sites'
data-query listings): a text cell that starts with `=`, `+`, `-`, `@` (or a tab or carriage return)
gets a leading apostrophe, so that it cannot run as a formula; numeric columns are untouched.
"""

from __future__ import annotations

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula, with a leading apostrophe."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_string_dtype(out[column]) or out[column].dtype == object:
            text = out[column]
            risky = text.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_START))
            out[column] = text.where(~risky, "'" + text.astype(str))
    return out
