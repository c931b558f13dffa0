"""Parsing REDCap's text values."""

import pandas as pd
import pyarrow as pa

from runback.schemas.study import KIND_DATE, KIND_NUMBER
from runback.schemas.values import parse


def _column(values: list[str], index: list[int]) -> pd.Series:
    return pa.table({"v": values}).to_pandas()["v"].set_axis(index)


def test_values_parse_by_kind_and_what_does_not_parse_is_missing():
    parsed = parse(_column(["3", "3.5", "", "x", "2015-02-30"], [1, 2, 3, 4, 5]), KIND_NUMBER)
    assert parsed.tolist()[:2] == [3.0, 3.5] and parsed.iloc[2:].isna().all()
    dates = parse(_column(["2015-02-28", "2015-02-30", "28/02/2015"], [1, 2, 3]), KIND_DATE)
    assert dates.iloc[0] == pd.Timestamp("2015-02-28") and dates.iloc[1:].isna().all()
