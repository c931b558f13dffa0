"""REDCap's logic language: parsed with a grammar, evaluated on many rows at once by REDCap's rules,
and every expression of the real dictionaries either parses or is named as unsupported."""

import contextlib
import json

import pandas as pd
import pytest

from runback.flows.ingest.project import load_project, load_study
from runback.schemas import logic
from runback.schemas.dictionary_logic import dictionary_logic
from tests.helpers import SAMPLES

MISSING = ("UNK", "NA")


def _values(expression: str, **columns: list[str]) -> list[str]:
    """The text of an expression on rows given as columns (a checkbox option as `f___code`)."""
    frame = pd.DataFrame(columns, dtype="str")

    def lookup(ref: logic.Ref) -> pd.Series:
        name = ref.field if ref.code is None else f"{ref.field}___{ref.code.lower()}"
        return frame[f"{ref.event}.{name}" if ref.event else name]

    return list(logic.evaluate(logic.parse(expression), logic.Rows(frame.index, lookup, MISSING)).text)


def _shown(expression: str, **columns: list[str]) -> list[bool]:
    return [v == "1" for v in _values(expression, **columns)]


def test_blank_compares_as_the_empty_string_and_numbers_as_numbers():
    x = ["", "5", "5.0", "abc", "10"]
    assert _shown("[x] = ''", x=x) == [True, False, False, False, False]
    assert _shown("[x] <> ''", x=x) == [False, True, True, True, True]
    assert _shown("[x] = 5", x=x) == [False, True, True, False, False]  # 5.0 is the number 5
    assert _shown("[x] = '5'", x=x) == [False, True, True, False, False]  # quotes make no difference
    assert _shown("[x] > 9", x=x) == [False, False, False, True, True]  # as numbers 10 > 9; 'abc' > '9' as text
    assert _shown("[x] < 9", x=x) == [True, True, True, False, False]  # a blank is '' < '9' as text


def test_a_missing_data_code_is_an_answer_except_to_isblankormissingcode_and_to_arithmetic():
    x = ["UNK", "", "3"]
    assert _shown("[x] <> ''", x=x) == [True, False, True]
    assert _shown("[x] = 'UNK'", x=x) == [True, False, False]
    assert _shown("isblankormissingcode([x])", x=x) == [True, True, False]
    assert _shown("ismissingcode([x])", x=x) == [True, False, False]
    assert _values("[x] + 1", x=x) == ["", "", "4"]
    assert _values("sum([x], 1)", x=x) == ["1", "1", "4"]


def test_and_or_not_parentheses_and_case():
    a, b = ["1", "1", "0", "0"], ["1", "0", "1", "0"]
    assert _shown("[a] = '1' AND [b] = '1'", a=a, b=b) == [True, False, False, False]
    assert _shown("[a] = '1' or [b] = '1'", a=a, b=b) == [True, True, True, False]
    assert _shown("not([a] = '1' or [b] = '1')", a=a, b=b) == [False, False, False, True]
    assert _shown("[a] = '0' or [a] = '1' and [b] = '0'", a=a, b=b) == [False, True, True, True]  # and first


def test_checkbox_options_and_event_references():
    ticked = ["1", "0", ""]  # blank where the form has no row: not ticked
    assert _shown("[c(2)] = '1'", c___2=ticked) == [True, False, False]
    assert _shown("[c(2)] = '0'", c___2=ticked) == [False, True, True]
    assert _shown("[baseline_arm_1][x] > 3", **{"baseline_arm_1.x": ["4", "2", ""]}) == [True, False, False]


def test_arithmetic_on_a_blank_is_blank_and_the_aggregates_leave_blanks_out():
    a, b = ["2", "", "7"], ["3", "4", ""]
    assert _values("[a] * [b] + 1", a=a, b=b) == ["7", "", ""]
    assert _values("([a] + [b]) / 2", a=a, b=b) == ["2.5", "", ""]
    assert _values("[a] ^ 2", a=a) == ["4", "", "49"]
    assert _values("-[a]", a=a) == ["-2", "", "-7"]
    assert _values("sum([a], [b])", a=a, b=b) == ["5", "4", "7"]
    assert _values("mean([a], [b])", a=a, b=b) == ["2.5", "4", "7"]
    assert _values("min([a], [b])", a=a, b=b) == ["2", "4", "7"]
    assert _values("max([a], [b])", a=a, b=b) == ["3", "4", "7"]
    assert _values("[a] / 0", a=a) == ["", "", ""]


def test_rounding_half_up_and_if():
    x = ["2.45", "-2.5", "2.449", ""]
    assert _values("round([x], 1)", x=x) == ["2.5", "-2.5", "2.4", ""]
    assert _values("round([x])", x=x) == ["2", "-2", "2", ""]
    assert _values("roundup([x], 1)", x=x) == ["2.5", "-2.5", "2.5", ""]
    assert _values("rounddown([x], 0)", x=x) == ["2", "-3", "2", ""]
    assert _values("abs([x])", x=x) == ["2.45", "2.5", "2.449", ""]
    assert _values("if([x] = '', 'none', if([x] > 0, 'up', 'down'))", x=x) == ["up", "down", "up", "none"]
    assert _values("if([x] < 0, true, false)", x=["-1", "1"]) == ["1", "0"]


def test_datediff_units_sign_and_blanks():
    start = ["2014-01-01", "2014-03-01", "", "UNK", "2014-01-01 08:00"]
    end = ["2015-01-01", "2014-01-01", "2014-01-01", "2014-01-01", "2014-01-01 20:00"]
    assert _values("datediff([a], [b], 'd', 'ymd')", a=start, b=end) == ["365", "59", "", "", "0.5"]
    assert _values("datediff([a], [b], 'd', 'ymd', true)", a=start, b=end) == ["365", "-59", "", "", "0.5"]
    assert _values("datediff([a], [b], 'h')", a=start, b=end)[4] == "12"
    years = _values(
        "rounddown(datediff([a], [b], 'y', 'ymd'), 0)", a=["1987-03-02", "1987-03-02"], b=["2014-03-01", "2014-03-03"]
    )
    assert years == ["26", "27"]  # a year is 365.2425 days


def test_text_and_number_tests():
    x = ["12", "1.5", "abc", "", "Running uphill"]
    assert _shown("isnumber([x])", x=x) == [True, True, False, False, False]
    assert _shown("isinteger([x])", x=x) == [True, False, False, False, False]
    assert _shown("contains([x], 'UPHILL')", x=x) == [False, False, False, False, True]
    assert _values("length([x])", x=x) == ["2", "3", "3", "0", "14"]


def test_comments_and_double_quotes():
    assert _shown('# the activity is named\n[x] <> ""', x=["a", ""]) == [True, False]


@pytest.mark.parametrize(
    ("expression", "said"),
    [
        ("[event-name] = 'baseline_arm_1'", "smart variable"),
        ("[x][2] = '1'", "repeat instance"),
        ("[x][current-instance] = '1'", "repeat instance"),
        ("[arm_1][x][1] = '1'", "repeat instance"),
        ("stdev([a], [b])", "the function stdev() is not supported"),
        ("round([a], 1, 2)", "round() is given 3 argument(s)"),
        ("datediff([a], 'today', 'y')", "changes every day"),
        ("datediff([a], [b], 'weeks')", "needs a unit"),
        ("[a] = ", "does not parse"),
        ("[a] = '1' [b]", "does not parse"),
        ("1 < [a] < 3", "does not parse"),
        ("", "empty"),
    ],
)
def test_outside_the_language_is_named(expression, said):
    with pytest.raises(logic.Unsupported, match=said.replace("(", r"\(").replace(")", r"\)")):
        logic.parse(expression)


def test_references_are_listed():
    found = list(logic.references(logic.parse("if([a] = '1', [e_arm_1][b], sum([c(2)], 1))")))
    assert found == [logic.Ref("a"), logic.Ref("b", "e_arm_1"), logic.Ref("c", None, "2")]
    assert [str(r) for r in found] == ["[a]", "[e_arm_1][b]", "[c(2)]"]


# -- every expression of the real dictionaries --------------------------------------------------------
DICTIONARIES = [
    "REDCapR/longitudinal/dictionary.csv",
    "redcapAPI/TestRedcapAPI_DataDictionary.csv",
    "REDCapTidieR/api-8d708c-POST.json",
]


def _expressions(study) -> list[tuple[str, str]]:
    return [(f.name, text) for f in study.fields for text in (f.branching, f.calculation) if text]


@pytest.mark.skipif(not SAMPLES.exists(), reason="../shared/redcap-samples is absent")
@pytest.mark.parametrize("dictionary", DICTIONARIES)
def test_every_expression_of_the_sample_dictionaries_parses_or_is_named(dictionary):
    study = load_study(SAMPLES / dictionary)
    expressions = _expressions(study)
    assert expressions  # each sample has branching logic or a calculation
    for _, text in expressions:
        with contextlib.suppress(logic.Unsupported):  # named: never any other exception
            logic.parse(text)
    said = dictionary_logic(study)
    assert len(said.branching) + len(said.calculations) + len(said.not_checked) == len(expressions)
    assert not said.not_checked  # every expression of these samples is in the supported language


def test_every_expression_of_the_trials_dictionary_is_evaluated_but_age_from_the_date_of_birth():
    study = load_project()
    said = dictionary_logic(study)
    assert set(said.branching) == {f.name for f in study.fields if f.branching}
    assert set(said.calculations) == {"bmi"}
    assert [(n.field, n.what) for n in said.not_checked] == [("age", "calculation")]
    assert "it reads [dob], an identifier" in said.notes()[0]
    assert json.dumps(said.not_checked_by_field())  # as meta.dictionary_versions keeps it
