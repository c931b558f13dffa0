"""The cross-form checks' lookups (`schemas/rules.py`)."""

import pandas as pd
import pyarrow as pa
import pytest

from runback.schemas.rules import _lookup


@pytest.mark.parametrize("arrow", [True, False], ids=["arrow-strings", "object-strings"])
def test_a_lookup_by_record_id_is_pandas_reindex(arrow):
    """Each key's value, missing for an unknown or blank key, in the keys' order and index."""
    kind = pd.ArrowDtype(pa.string()) if arrow else object
    dates = pd.Series(pd.to_datetime(["2015-01-02", "2015-03-04", None]), index=pd.Index(["7", "3", "9"], dtype=kind))
    keys = pd.Series(["3", "x", None, "7", "3", "9"], index=[10, 11, 12, 13, 14, 15], dtype=kind)
    found = _lookup(dates, keys)
    expected = pd.Series(dates.reindex(keys.to_numpy()).to_numpy(), index=keys.index)
    pd.testing.assert_series_equal(found, expected)
    assert found.index.tolist() == [10, 11, 12, 13, 14, 15] and found.isna().tolist() == [0, 1, 1, 0, 0, 1]


def test_a_lookup_in_nothing_keeps_the_values_type():
    found = _lookup(pd.Series([], dtype="datetime64[ns]", index=pd.Index([], dtype=object)), pd.Series(["1", "2"]))
    assert str(found.dtype) == "datetime64[ns]" and found.isna().all()
