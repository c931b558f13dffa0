"""The rules across forms and exports (`schemas/rules.py`): dates, consent, randomisation, visit windows."""

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

from runback.schemas import rules
from runback.schemas.failures import FLAG, QUARANTINE
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


# -- the rules -------------------------------------------------------------------------------------
def _frame(*rows: dict, first_row: int = 2) -> pd.DataFrame:
    """A form's rows as the rules get them: text values, the key, indexed by the row of the file."""
    frame = pd.DataFrame([{"event": "baseline_arm_1", "instance": 1, **row} for row in rows])
    frame.index = pd.RangeIndex(first_row, first_row + len(rows), name="source_row")
    return frame


def _screening(*rows: tuple[str, str, str, str]) -> pd.DataFrame:
    """(record, screening date, consent, consent date) per row."""
    return _frame(*({"record_id": r, "scr_date": s, "consent": c, "consent_date": d} for r, s, c, d in rows))


def _randomisation(*rows: tuple[str, str, str]) -> pd.DataFrame:
    """(record, group, date) per row."""
    return _frame(*({"record_id": r, "rand_group": g, "rand_date": d} for r, g, d in rows))


def _found(failures: pd.DataFrame) -> list[tuple]:
    return sorted(failures[["form", "source_row", "record_id", "column", "check", "action"]].itertuples(index=False))


def _reasons(failures: pd.DataFrame) -> list[str]:
    return failures.sort_values(["form", "source_row"])["reason"].tolist()


def _previous(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["record_id", "rand_group", "rand_date"])


def test_a_date_after_the_day_of_the_export_is_held_back(study):
    frames = {
        "nprs": _frame(
            {"record_id": "1", "nprs_date": "2014-02-01"},
            {"record_id": "2", "nprs_date": "2014-02-02"},
            {"record_id": "3", "nprs_date": ""},
        ),
        "session_log": _frame({"record_id": "1", "sess_date": "2014-03-01"}, first_row=7),
    }
    found = rules.check_all(frames, study, rules.Context(dt.date(2014, 2, 1)))
    assert _found(found) == [
        ("nprs", 3, "2", "nprs_date", "date_after_export", QUARANTINE),
        ("session_log", 7, "1", "sess_date", "date_after_export", QUARANTINE),
    ]
    assert _reasons(found) == ["the date is after the export was made (2014-02-01)"] * 2
    assert found["value"].tolist() == ["2014-02-02", "2014-03-01"]
    assert rules.check_all(frames, study, rules.Context(None)).empty


def test_a_date_after_the_export_is_held_back_beside_the_trials_rules(study):
    """Only date fields are dates: a score of 6 is no date, whatever it would parse to."""
    frames = _trial({"event": "week_8_arm_1", "nprs_date": "2014-03-01", "nprs_run": "6"})
    found = rules.check_all(frames, study, rules.Context(dt.date(2014, 2, 28)))
    assert _found(found) == [("nprs", 2, "1", "nprs_date", "date_after_export", QUARANTINE)]


def test_without_screening_and_randomisation_only_the_export_date_is_checked(study):
    frames = {"randomisation": _randomisation(("1", "1", "2014-01-10"))}  # no screening form: no consent to check
    assert rules.check_all(frames, study, rules.Context(dt.date(2014, 2, 1))).empty


def test_randomisation_needs_consent_given_on_or_before_its_day(study):
    frames = {
        "screening": _screening(
            ("1", "2014-01-06", "1", "2014-01-10"),
            ("2", "2014-01-06", "1", "2014-01-11"),
            ("3", "2014-01-06", "0", ""),
            ("3", "2014-01-07", "1", "2014-01-07"),  # a second screening row: the first stands
            ("5", "2014-01-06", "1", ""),
        ),
        "randomisation": _randomisation(
            ("1", "1", "2014-01-10"),
            ("2", "2", "2014-01-10"),
            ("3", "3", "2014-01-10"),
            ("4", "1", "2014-01-10"),
            ("5", "1", "2014-01-10"),
        ),
    }
    found = rules.check_all(frames, study, rules.Context(dt.date(2014, 2, 1)))
    check = ("randomisation", "rand_date", "consent_before_randomisation", QUARANTINE)
    assert [(f[0], f[1], f[2], *f[3:]) for f in _found(found)] == [
        ("randomisation", 3, "2", *check[1:]),
        ("randomisation", 4, "3", *check[1:]),
        ("randomisation", 5, "4", *check[1:]),
    ]
    assert _reasons(found) == [
        "randomised on 2014-01-10, before consent on 2014-01-11",
        "randomised but consent is not recorded as given on the screening form",
        "randomised but consent is not recorded as given on the screening form",
    ]


def test_no_randomisation_needs_no_consent():
    screening = _screening(("1", "2014-01-06", "0", ""))
    assert rules.consent_before_randomisation(screening, _randomisation()).empty


def test_a_changed_randomisation_is_held_and_the_first_value_stands(study):
    frames = {
        "screening": _screening(*((r, "2014-01-06", "1", "2014-01-08") for r in "1234")),
        "randomisation": _randomisation(
            ("1", "A", "2014-01-10"), ("2", "C", "2014-01-10"), ("3", "B", "2014-01-11"), ("4", "A", "2014-01-10")
        ),
    }
    before = _previous(("1", "A", "2014-01-10"), ("2", "B", "2014-01-10"), ("3", "B", "2014-01-10"))
    found = rules.check_all(frames, study, rules.Context(dt.date(2014, 2, 1), before))
    assert _found(found) == [
        ("randomisation", 3, "2", "rand_group", "randomisation_changed", QUARANTINE),
        ("randomisation", 4, "3", "rand_date", "randomisation_changed", QUARANTINE),
    ]
    assert _reasons(found) == [
        "rand_group was 'B' in an earlier export and is 'C' now; randomisation is final, so the first value "
        "stands until the query is resolved",
        "rand_date was '2014-01-10' in an earlier export and is '2014-01-11' now; randomisation is final, so the "
        "first value stands until the query is resolved",
    ]
    assert rules.randomisation_unchanged(_randomisation(), before).empty


def test_the_first_randomisation_date_is_the_one_visits_count_from():
    before = _previous(("1", "A", "2014-01-10"))
    now = _randomisation(("1", "A", "2014-01-20"), ("2", "B", "2014-01-12"), ("3", "C", ""))
    dates = rules.randomisation_dates(now, before)
    assert dates.to_dict() == {"1": pd.Timestamp("2014-01-10"), "2": pd.Timestamp("2014-01-12")}


def _trial(*rows: dict, form: str = "nprs", rand_date: str = "2014-01-10", first_row: int = 2) -> dict:
    return {
        "screening": _screening(("1", "2014-01-06", "1", "2014-01-08")),
        "randomisation": _randomisation(("1", "A", rand_date)),
        form: _frame(*({"record_id": "1", **row} for row in rows), first_row=first_row),
    }


def _flags(frames: dict, study, export: dt.date = dt.date(2015, 6, 1)) -> pd.DataFrame:
    found = rules.check_all(frames, study, rules.Context(export))
    return found[found["action"] == FLAG]


def test_an_assessment_on_the_edge_of_its_window_is_inside_it(study):
    """Week 8 is days 49 to 63 from randomisation (the 10th of January): the 28th of February to the 14th of March."""
    frames = _trial(
        {"event": "week_8_arm_1", "nprs_date": "2014-02-27"},
        {"event": "week_8_arm_1", "nprs_date": "2014-02-28"},
        {"event": "week_8_arm_1", "nprs_date": "2014-03-14"},
        {"event": "week_8_arm_1", "nprs_date": "2014-03-15"},
        {"event": "week_8_arm_1", "nprs_date": ""},
        {"event": "baseline_arm_1", "nprs_date": "2014-01-10"},
    )
    found = _flags(frames, study)
    assert _found(found) == [
        ("nprs", 2, "1", "nprs_date", "outside_visit_window", FLAG),
        ("nprs", 5, "1", "nprs_date", "outside_visit_window", FLAG),
    ]
    assert _reasons(found) == [
        "assessed on day 48 from randomisation; the week_8_arm_1 window is days 49 to 63",
        "assessed on day 64 from randomisation; the week_8_arm_1 window is days 49 to 63",
    ]


@pytest.mark.parametrize(
    ("form", "column"), [("psfs", "psfs_date"), ("odi", "odi_date"), ("physical_tests", "pt_date")]
)
def test_every_assessment_is_checked_against_its_window(study, form, column):
    frames = _trial({"event": "week_4_arm_1", column: "2014-01-30"}, form=form)  # day 20; the window is 21 to 35
    assert _found(_flags(frames, study)) == [(form, 2, "1", column, "outside_visit_window", FLAG)]


def test_an_assessment_without_a_randomisation_date_or_a_window_is_not_flagged(study):
    frames = _trial({"event": "week_8_arm_1", "nprs_date": "2014-01-11"}, rand_date="")
    assert _flags(frames, study).empty
    frames = _trial({"event": "no_such_event", "nprs_date": "2014-01-11"})
    assert _flags(frames, study).empty


def test_a_session_on_the_edge_of_the_programme_is_inside_it(study):
    """The programme is days 0 to 63 from randomisation: the 10th of January to the 14th of March."""
    days = ["2014-01-09", "2014-01-10", "2014-03-14", "2014-03-15", ""]
    frames = _trial(*({"event": "programme_arm_1", "sess_date": d} for d in days), form="session_log")
    found = _flags(frames, study)
    assert _found(found) == [
        ("session_log", 2, "1", "sess_date", "session_outside_programme", FLAG),
        ("session_log", 5, "1", "sess_date", "session_outside_programme", FLAG),
    ]
    assert _reasons(found) == [
        "session on day -1 from randomisation, outside the programme (days 0 to 63)",
        "session on day 64 from randomisation, outside the programme (days 0 to 63)",
    ]


def test_sessions_without_a_randomisation_date_are_not_flagged(study):
    frames = _trial({"event": "programme_arm_1", "sess_date": "2015-01-01"}, form="session_log", rand_date="")
    assert _flags(frames, study).empty


def test_nothing_is_dated_before_the_screening(study):
    frames = {
        "screening": _screening(("1", "2014-01-06", "1", "2014-01-05"), ("1", "2014-01-01", "1", "2014-01-05")),
        "randomisation": _randomisation(("1", "A", "2014-01-06"), ("2", "B", "2014-01-01")),
        "adverse_event": _frame(
            {"record_id": "1", "ae_onset": "2014-01-05"}, {"record_id": "1", "ae_onset": "2014-01-06"}, first_row=9
        ),
    }
    found = _flags(frames, study)
    assert _found(found) == [("adverse_event", 9, "1", "ae_onset", "date_before_screening", FLAG)]
    assert _reasons(found) == ["dated before the participant's screening on 2014-01-06"]
