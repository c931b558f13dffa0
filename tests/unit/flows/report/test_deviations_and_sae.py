"""Protocol deviations and serious adverse events in the report, from a few rows, against the
numbers worked out by hand."""

from __future__ import annotations

import duckdb
import pytest

from runback.flows.report.blinding import arms_for
from runback.flows.report.context import _rows, deviations, serious_adverse_events
from tests.helpers import build_warehouse, randomised, session, visit

ACTIONS = ("1", "2", "3", "4", "5", "unk", "nask", "asku", "na")


def _event(record: str, instance: int, serious: str, ticked: tuple[str, ...] = ()) -> dict:
    return {
        "record_id": record,
        "redcap_event_name": "programme_arm_1",
        "redcap_repeat_instrument": "adverse_event",
        "redcap_repeat_instance": str(instance),
        "ae_onset": "2014-01-20",
        "ae_desc": f"event {record}.{instance}",
        "ae_severity": "2",
        "ae_serious": serious,
        "ae_related": "3",
        "adverse_event_complete": "2",
        **{f"ae_action___{c}": "1" if c in ticked else "0" for c in ACTIONS},
    }


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, study):
    """Night 1: three randomised (record 1 adherent, 2 with 3 sessions, 3 with none), record 3's
    week 4 on day 49 (window 21 to 35), a serious event of record 1 and a non-serious one of
    record 2. Night 2: record 2's allocation changed (held back: the first value stands)."""
    night = [
        randomised("1"),
        randomised("2", group="2"),
        randomised("3", group="3"),
        *[session("1", i) for i in range(1, 13)],
        *[session("2", i) for i in range(1, 4)],
        visit("3", "week_4_arm_1", nprs_date="2014-02-28", nprs_run="5", nprs_avg="4", nprs_complete="2"),
        _event("1", 1, "1", ticked=("2", "4")),
        _event("2", 1, "0"),
    ]
    changed = [randomised("2", group="3") if r.get("rand_group") == "2" else r for r in night]
    return build_warehouse(tmp_path_factory.mktemp("deviations"), study, [night, changed])


def _letters(db) -> dict[str, str]:
    """Each participant's arm at the cut, as a blinded report shows it."""
    with duckdb.connect(str(db), read_only=True) as con:
        query = "select record_id, 'Arm ' || arm from analysis.participants where data_cut = 2"
        return dict(con.execute(query).fetchall())


def _read(db, name: str):
    with duckdb.connect(str(db), read_only=True) as con:
        return _rows(con, name, cut=2)


def test_deviations_by_kind_and_participant(warehouse):
    found = deviations(_read(warehouse, "protocol_deviations"), arms_for(True), ("baseline", "week_4", "week_8"))
    listed = [(d["kind"], d["record_id"]) for d in found["rows"]]
    assert listed == [
        ("Assessment outside its window", "3"),
        ("Non-adherence to the programme", "2"),
        ("Non-adherence to the programme", "3"),
        ("Allocation changed between exports", "2"),
    ]
    window, adherence, allocation = found["rows"][0], found["rows"][1], found["rows"][3]
    assert (window["visit"], window["visit_day"], window["window_high"]) == ("Week 4", 49, 35)
    assert (adherence["supervised_done"], adherence["supervised_planned"]) == (3, 16)
    assert (allocation["since_cut"], allocation["status"]) == (2, "new")
    assert [(c["kind"], c["deviations"], c["participants"]) for c in found["counts"]][1] == (
        "Non-adherence to the programme",
        2,
        2,
    )
    assert all(d["arm"] == _letters(warehouse)[d["record_id"]] for d in found["rows"])  # the arm, by its letter


def test_serious_adverse_events_are_listed_with_participant_and_actions(warehouse):
    frame, per_arm = _read(warehouse, "serious_adverse_events"), _read(warehouse, "adverse_events")
    found = serious_adverse_events(frame, arms_for(True), per_arm, randomised=3)
    listed = [(e["record_id"], e["onset_date"], e["onset_day"], e["relatedness"], e["actions"]) for e in found["rows"]]
    assert listed == [("1", "2014-01-20", 10, "Possible", "Exercise modified; Medical care sought")]
    # the only serious event, of one arm: shown whole, with its letter (the open report shows its grading too)
    shown = found["rows"][0]
    assert (shown["arm"], shown["description"], shown["severity"]) == (
        _letters(warehouse)["1"],
        "event 1.1",
        "Moderate",
    )
    assert sum(a["events"] for a in found["arms"] if a) == 1
