"""Visits, dropout, study end, the programme's sessions and adverse events."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

FOLLOW_UP = ("week_4_arm_1", "week_8_arm_1", "month_3_arm_1", "month_6_arm_1")


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _rand_dates(export) -> dict[str, dt.date]:
    return {r["record_id"]: _day(r["rand_date"]) for r in export.rows if r["rand_date"]}


def test_visit_dates_mostly_within_their_windows(large_last, study):
    rand = _rand_dates(large_last)
    inside = outside = 0
    for r in large_last.rows:
        event = r["redcap_event_name"]
        if event in FOLLOW_UP and r["nprs_date"]:
            low, high = study.event_map[event].window
            day = (_day(r["nprs_date"]) - rand[r["record_id"]]).days
            inside += low <= day <= high
            outside += not low <= day <= high
    assert 0.02 <= outside / (inside + outside) <= 0.09


def test_baseline_assessments_in_the_14_days_before_randomisation(large_last):
    rand = _rand_dates(large_last)
    for r in large_last.rows:
        if r["redcap_event_name"] == "baseline_arm_1" and r["rand_group"]:
            for column in ("nprs_date", "psfs_date", "odi_date", "pt_date"):
                if r[column]:
                    assert -14 <= (_day(r[column]) - rand[r["record_id"]]).days <= 0


def test_last_night_holds_every_randomised_participant(clean, last):
    randomised = {r["record_id"] for r in last.rows if r["rand_group"]}
    ended = {r["record_id"] for r in last.rows if r["redcap_event_name"] == "study_end_arm_1"}
    assert len(randomised) == clean.participants == 84
    assert ended == randomised
    assert all(r["randomisation_complete"] in ("1", "2") for r in last.rows if r["rand_group"])
    assert all(r["study_end_complete"] in ("1", "2") for r in last.rows if r["end_status"])


def test_about_ten_percent_leave_and_have_no_later_data(large_last):
    end = {r["record_id"]: r for r in large_last.rows if r["redcap_event_name"] == "study_end_arm_1"}
    status = Counter(r["end_status"] for r in end.values())
    leavers = 1 - status["1"] / len(end)
    assert 0.06 <= leavers <= 0.15 and status["2"] and status["3"] and status["4"]
    events = defaultdict(set)
    for r in large_last.rows:
        events[r["record_id"]].add(r["redcap_event_name"])
    for record, r in end.items():
        if r["end_status"] == "1":
            assert "month_6_arm_1" in events[record] and all(r[c] == "0" for c in r if c.startswith("end_reason___"))
        else:
            assert "month_6_arm_1" not in events[record]
            assert any(r[c] == "1" for c in r if c.startswith("end_reason___"))
    last_session = defaultdict(str)
    for r in large_last.rows:
        if r["sess_date"]:
            last_session[r["record_id"]] = max(last_session[r["record_id"]], r["sess_date"])
    for record, r in end.items():
        if r["end_status"] in ("2", "4"):
            assert last_session[record] <= r["end_date"]


def test_sessions_follow_the_programme(large_last):
    rand = _rand_dates(large_last)
    supervised = Counter()
    done = Counter()
    home = Counter()
    for r in large_last.rows:
        if r["redcap_repeat_instrument"] != "session_log":
            continue
        day = (_day(r["sess_date"]) - rand[r["record_id"]]).days
        assert 0 <= day <= 63 and 1 <= int(r["sess_week"]) <= 8 and (day - 1) // 7 + 1 == int(r["sess_week"])
        if r["sess_type"] == "1":
            supervised[r["record_id"]] += 1
            done[r["record_id"]] += r["sess_done"] == "1"
        else:
            home[r["record_id"]] += 1
        if r["sess_done"] == "0":
            assert r["sess_rpe"] == ""
        elif r["sess_rpe"]:
            assert 0 <= int(r["sess_rpe"]) <= 10
    assert max(supervised.values()) == 16
    full = [k for k, v in supervised.items() if v == 16]
    assert 2.0 * 8 <= sum(home[k] for k in full) / len(full) <= 3.0 * 8
    adherent = sum(done[k] >= 12 for k in full) / len(full)
    assert 0.6 <= adherent <= 0.9


def test_some_adverse_events_with_free_text(large_last, large):
    events = [r for r in large_last.rows if r["redcap_repeat_instrument"] == "adverse_event"]
    people = {r["record_id"] for r in events}
    assert 0.07 <= len(people) / large.participants <= 0.13
    assert len(events) > len(people)
    assert any("\n" in r["ae_desc"] for r in events)
    assert sum(r["ae_serious"] == "1" for r in events) < 0.1 * len(events)
    assert all(any(r[f"ae_action___{c}"] == "1" for c in "12345") for r in events)


def test_some_stop_running_and_some_take_other_treatment_for_back_pain(large_last, large):
    status = [r for r in large_last.rows if r["run_date"]]
    stopped: dict[str, set[tuple[str, str]]] = {}
    for r in status:
        if r["run_still"] == "0":
            assert r["run_stop_date"] <= r["run_date"] and r["run_stop_reason"] in ("1", "2", "99")
            stopped.setdefault(r["record_id"], set()).add((r["run_stop_date"], r["run_stop_reason"]))
        else:
            assert r["run_still"] == "1" and not r["run_stop_date"]
    assert 0.04 <= len(stopped) / large.participants <= 0.12
    assert all(len(dates) == 1 for dates in stopped.values())  # the same date and reason at every later visit
    treatments = [r for r in large_last.rows if r["redcap_repeat_instrument"] == "co_intervention"]
    people = {r["record_id"] for r in treatments}
    assert 0.2 <= len(people) / large.participants <= 0.4
    assert {r["cointv_type"] for r in treatments} == {"1", "2", "3", "4", "99"}
    assert all(not r["cointv_stop"] or r["cointv_start"] <= r["cointv_stop"] for r in treatments)
