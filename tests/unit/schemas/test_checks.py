"""The value checks every form uses and the row-level checks a form declares (`schemas/checks.py`)."""

import pandas as pd
import pandera.pandas as pa
import pytest
from pandera.typing import Series

from runback.schemas import checks
from runback.schemas.failures import FLAG, QUARANTINE

MISSING = ("UNK", "NASK")


def _passes(check, values: list[str], **stats) -> list[bool]:
    return check(pd.Series(values, index=[10 + i for i in range(len(values))]), **stats).tolist()


def test_a_value_is_blank_a_missing_code_or_of_its_kind():
    values = ["12", "-3", "1.5", "", "UNK", "NASK", "unk", "abc"]
    assert _passes(checks.redcap_type, values, kind="integer", missing=MISSING) == [1, 1, 0, 1, 1, 1, 0, 0]
    dates = ["2015-02-28", "2015-02-30", "", "NASK"]
    assert _passes(checks.redcap_type, dates, kind="date", missing=MISSING) == [1, 0, 1, 1]


def test_a_range_includes_its_bounds():
    values = ["-1", "0", "10", "11", "", "UNK", "x", "5"]
    assert _passes(checks.redcap_range, values, kind="integer", min="0", max="10") == [0, 1, 1, 0, 1, 1, 1, 1]


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [("0", "", [0, 1, 1, 1]), ("", "10", [1, 1, 1, 0]), ("", "", [1, 1, 1, 1]), ("today", "10", [1, 1, 1, 0])],
)
def test_a_range_with_one_bound_checks_only_that_one(low, high, expected):
    assert _passes(checks.redcap_range, ["-1", "0", "10", "11"], kind="integer", min=low, max=high) == expected


def test_a_date_range_compares_dates():
    values = ["2013-12-31", "2014-01-01", "2014-12-31", "2015-01-01"]
    assert _passes(checks.redcap_range, values, kind="date", min="2014-01-01", max="2014-12-31") == [0, 1, 1, 0]


def test_a_choice_is_one_of_the_codes_blank_or_a_missing_code():
    values = ["1", "2", "3", "", "UNK", " 1", "ASKU"]
    assert _passes(checks.redcap_choice, values, codes=("1", "2"), missing=MISSING) == [1, 1, 0, 1, 1, 0, 0]


def test_a_required_field_is_answered_by_a_value_or_a_missing_code():
    assert _passes(checks.redcap_required, ["", "x", "UNK", " "], missing=MISSING) == [0, 1, 1, 1]


def test_a_checkbox_field_documents_its_codes_and_never_fails():
    assert _passes(checks.redcap_checkbox_codes, ["", "x", "0"], codes=("1",)) == [1, 1, 1]


@pytest.mark.parametrize(
    ("check", "stats", "reason"),
    [
        ("redcap_type", {"kind": "integer"}, "'x' is not a whole number"),
        ("redcap_type", {"kind": "date"}, "'x' is not a real date (YYYY-MM-DD)"),
        ("redcap_type", {"kind": "text"}, "'x' is not valid"),
        ("redcap_range", {"min": "0", "max": "10"}, "'x' is outside the allowed range 0 to 10"),
        ("redcap_range", {"min": "", "max": "10"}, "'x' is outside the allowed range - to 10"),
        ("redcap_range", {"min": "0"}, "'x' is outside the allowed range 0 to -"),
        ("redcap_choice", {"codes": ("1", "2")}, "'x' is not one of the codes 1, 2"),
        ("redcap_choice", {}, "'x' is not one of the codes "),
        ("redcap_required", {}, "a required field is blank"),
        ("some_rule", {}, "'x' fails the check some_rule"),
    ],
)
def test_a_failed_check_reads_as_a_sentence(check, stats, reason):
    said = checks.sentence(check, stats, pd.Series(["x"]))
    assert (said if isinstance(said, str) else said.tolist()[0]) == reason


def test_a_sentence_is_said_of_each_value():
    said = checks.sentence("redcap_type", {"kind": "integer"}, pd.Series(["a", "b"], index=[3, 4]))
    assert said.tolist() == ["'a' is not a whole number", "'b' is not a whole number"] and said.index.tolist() == [3, 4]


def test_a_row_check_is_registered_with_its_meaning_and_runs_on_the_frame():
    class Pair(pa.DataFrameModel):
        a: Series[str]
        b: Series[str]

        @checks.row_check(column="b", reason="b is given without a")
        def b_needs_a(cls, df: pd.DataFrame) -> Series[bool]:
            return (df["b"] == "") | (df["a"] != "")

        @checks.row_check(column="a", reason="a is odd", action=FLAG)
        def a_is_even(cls, df: pd.DataFrame) -> Series[bool]:
            return df["a"] != "1"

    assert checks.ROW_CHECKS["b_needs_a"] == checks.RowCheck("b", QUARANTINE, "b is given without a")
    assert checks.ROW_CHECKS["a_is_even"] == checks.RowCheck("a", FLAG, "a is odd")
    with pytest.raises(pa.errors.SchemaErrors) as failed:
        Pair.validate(pd.DataFrame({"a": ["", "2", "1"], "b": ["x", "x", ""]}), lazy=True)
    cases = failed.value.failure_cases
    assert set(zip(cases["check"], cases["index"])) == {("b_needs_a", 0), ("a_is_even", 2)}
