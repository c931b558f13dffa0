"""Parsing REDCap's text values, and parsing a column once for all of its checks."""

import numpy as np
import pandas as pd
import pyarrow as pa

from runback.schemas.study import KIND_DATE, KIND_INTEGER, KIND_NUMBER
from runback.schemas.values import parse, parsing_once


def _column(values: list[str], index: list[int]) -> pd.Series:
    return pa.table({"v": values}).to_pandas()["v"].set_axis(index)


def test_values_parse_by_kind_and_what_does_not_parse_is_missing():
    parsed = parse(_column(["3", "3.5", "", "x", "2015-02-30"], [1, 2, 3, 4, 5]), KIND_NUMBER)
    assert parsed.tolist()[:2] == [3.0, 3.5] and parsed.iloc[2:].isna().all()
    dates = parse(_column(["2015-02-28", "2015-02-30", "28/02/2015"], [1, 2, 3]), KIND_DATE)
    assert dates.iloc[0] == pd.Timestamp("2015-02-28") and dates.iloc[1:].isna().all()


def test_a_column_is_parsed_once_within_the_scope_and_never_stale():
    frame = pa.table({"a": ["1", "x", "3"], "b": ["1", "x", "3"]}).to_pandas().set_axis([7, 8, 9])
    with parsing_once():
        first = parse(frame["a"], KIND_INTEGER)
        again = parse(pd.Series(frame["a"].array, index=[1, 2, 3], copy=False), KIND_INTEGER)  # the same values
        other = parse(frame["b"], KIND_INTEGER)  # equal text, other values: parsed for itself
        changed = frame.assign(a=["4", "5", "6"])
        assert parse(changed["a"], KIND_INTEGER).tolist() == [4.0, 5.0, 6.0]
        assert parse(frame["a"], KIND_NUMBER).tolist()[::2] == [1.0, 3.0]  # another kind
    assert again.index.tolist() == [1, 2, 3] and np.shares_memory(again.to_numpy(), first.to_numpy())
    assert not np.shares_memory(other.to_numpy(), first.to_numpy()) and other.equals(first)
    outside = parse(frame["a"], KIND_INTEGER)
    assert not np.shares_memory(outside.to_numpy(), first.to_numpy()) and outside.equals(first)
