"""Estimands in SQL: the intercurrent events recorded (sql/analyse/intercurrent_events.sql), the values
their strategies set aside (sql/analyse/set_aside.sql) and leave out of analysis.outcomes, and why a
participant does not contribute to the primary analysis (sql/analyse/consort_flow.sql)."""

import datetime as dt

from runback.flows.warehouse import sql
from runback.schemas import plan
from runback.schemas.trial import PRIMARY
from tests.unit.sql.analyse.memory import participant, put

RANDOMISED = dt.date(2014, 1, 10)
CLEAN = {
    "running_status": "run_date date, run_still boolean, run_stop_date date, run_stop_reason varchar",
    "co_intervention": "cointv_type varchar, cointv_start date, cointv_stop date",
    "nprs": "nprs_date date, nprs_run integer, nprs_avg integer",
    "psfs": "psfs_date date, " + ", ".join(f"psfs_act{i} varchar, psfs_score{i} integer" for i in (1, 2, 3)),
    "odi": "odi_date date, " + ", ".join(f"odi_q{i} varchar" for i in range(1, 11)),
    "physical_tests": "pt_date date, ke_torque_l double, ke_torque_r double, step_length_cm double, sorensen_s integer",
    "screening": "eligible boolean, consent boolean, excl_reason___1 boolean",
}
"""The clean tables the statements read, with the columns they read (the ingest makes them from the dictionary)."""


def _clean(con, form: str, rows: list[dict]) -> None:
    con.execute(
        f"create table if not exists clean.{form} (record_id varchar, event varchar, instance integer, "
        f"{CLEAN[form]}, valid_from_cut integer, valid_to_cut integer)"
    )
    if rows:
        put(con, f"clean.{form}", [{"valid_from_cut": 1, "instance": 1} | r for r in rows])


def _nprs(con, assessed: list[tuple[str, str, str]]) -> None:
    """NPRS forms (pain during running 5, average pain 4) of (record, visit, date) assessments."""
    rows = [{"record_id": r, "event": f"{v}_arm_1", "nprs_date": dt.date.fromisoformat(d)} for r, v, d in assessed]
    _clean(con, "nprs", [row | {"nprs_run": 5, "nprs_avg": 4} for row in rows])


def _participant(record: str, arm: str, **values) -> dict:
    return participant(record, arm, RANDOMISED, sex="Female") | values


def _at(event: str, day: str, **values) -> dict:
    return {"event": f"{event}_arm_1", "date": dt.date.fromisoformat(day)} | values


def _run(con, *statements: str) -> None:
    for statement in statements:
        con.execute(sql(f"analyse/{statement}"), {"cut": 1})


def _rows(con, query: str) -> list[tuple]:
    return con.execute(query).fetchall()


def test_values_after_running_stopped_are_set_aside_for_the_running_outcomes_only(warehouse):
    put(warehouse, "analysis.participants", [_participant("1", "A"), _participant("2", "B")])
    stopped = {"run_still": False, "run_stop_date": dt.date(2014, 3, 1), "run_stop_reason": "2"}
    _clean(
        warehouse,
        "running_status",
        [
            {"record_id": "1", "event": "week_4_arm_1", "run_date": dt.date(2014, 2, 7), "run_still": True},
            {"record_id": "1", "event": "week_8_arm_1", "run_date": dt.date(2014, 3, 7)} | stopped,
            {"record_id": "1", "event": "month_3_arm_1", "run_date": dt.date(2014, 6, 5)} | stopped,
            {"record_id": "2", "event": "week_8_arm_1", "run_date": dt.date(2014, 3, 7), "run_still": True},
        ],
    )
    _clean(
        warehouse,
        "co_intervention",
        [{"record_id": "2", "event": "week_8_arm_1", "cointv_type": "1", "cointv_start": dt.date(2014, 2, 20)}],
    )
    visits = [("baseline", "2014-01-09"), ("week_4", "2014-02-07"), ("week_8", "2014-03-07"), ("month_3", "2014-06-05")]
    _nprs(warehouse, [("1", *v) for v in visits] + [("2", "week_8", "2014-03-07")])
    _clean(
        warehouse,
        "psfs",
        [
            {"record_id": "1", "event": "week_8_arm_1", "psfs_date": dt.date(2014, 3, 7)}
            | {"psfs_act1": "Running", "psfs_score1": 6}
        ],
    )
    odi = {f"odi_q{i}": "2" for i in range(1, 11)}
    _clean(warehouse, "odi", [{"record_id": "1", "event": "week_8_arm_1", "odi_date": dt.date(2014, 3, 7)} | odi])
    _clean(warehouse, "physical_tests", [])

    _run(warehouse, "intercurrent_events", "set_aside", "outcomes")

    assert _rows(
        warehouse,
        "select record_id, arm, intercurrent_event, kind, first_date, instances from analysis.intercurrent_events "
        "order by record_id",
    ) == [
        ("1", "A", "stopped_running", "Low back pain", dt.date(2014, 3, 1), 2),
        ("2", "B", "co_intervention", "Analgesics (pain medication)", dt.date(2014, 2, 20), 1),
    ]
    # hypothetical for the running outcomes: after the stop date they are set aside; average pain and
    # ODI (treatment policy) and the co-intervention (treatment policy) set nothing aside
    assert _rows(
        warehouse, "select record_id, visit, param, event_date, strategy from analysis.set_aside order by all"
    ) == [
        ("1", "month_3", "NPRS_RUN", dt.date(2014, 3, 1), plan.HYPOTHETICAL),
        ("1", "week_8", "NPRS_RUN", dt.date(2014, 3, 1), plan.HYPOTHETICAL),
        ("1", "week_8", "PSFS", dt.date(2014, 3, 1), plan.HYPOTHETICAL),
    ]
    kept = _rows(warehouse, "select record_id, param, visit from analysis.outcomes order by all")
    assert [(p, v) for r, p, v in kept if r == "1" and p in ("NPRS_RUN", "PSFS")] == [
        ("NPRS_RUN", "baseline"),
        ("NPRS_RUN", "week_4"),
    ]
    assert [v for r, p, v in kept if r == "1" and p == "NPRS_AVG"] == ["baseline", "month_3", "week_4", "week_8"]
    assert ("1", "ODI", "week_8") in kept and ("2", "NPRS_RUN", "week_8") in kept


def test_consort_names_why_each_participant_is_not_analysed(warehouse):
    put(
        warehouse,
        "meta.data_cuts",
        [{"cut_id": 1, "file_id": 1, "export_time": dt.datetime(2014, 6, 1, 2), "clean_hash": "", "queries_hash": ""}],
    )
    late = dt.date(2014, 5, 20)  # week 4's window (to day 35) is still open at the cut
    participants = [
        _participant("1", "A"),  # analysed
        _participant("2", "A"),  # no baseline value
        _participant("3", "B", sex=None),  # no stratum
        _participant("4", "B"),  # stopped running: its follow-up values are set aside
        _participant("5", "C", status="Lost to follow-up", end_date=dt.date(2014, 3, 1)),
        _participant("6", "C"),  # in contact, but no follow-up value
        _participant("7", "C", rand_date=late),  # nothing due yet
    ]
    put(warehouse, "analysis.participants", participants)
    _clean(
        warehouse, "screening", [{"record_id": p["record_id"], "eligible": True, "consent": True} for p in participants]
    )
    outcomes = [
        {"data_cut": 1, "record_id": p["record_id"], "arm": p["arm"], "visit": visit, "step": step, "param": param}
        | {"aval": 5.0}
        for p in participants
        for visit, step in (("baseline", 0), ("week_4", 1))
        if p["record_id"] != "2" and (step == 0 or p["record_id"] == "1")
        for param in PRIMARY
    ]
    put(warehouse, "analysis.outcomes", outcomes)
    put(
        warehouse,
        "analysis.set_aside",
        [
            {"data_cut": 1, "record_id": "4", "arm": "B", "visit": visit, "step": step, "param": param}
            | {"adt": dt.date(2014, 2, 7), "intercurrent_event": "stopped_running", "event_date": dt.date(2014, 2, 1)}
            | {"strategy": plan.HYPOTHETICAL}
            for visit, step in (("week_4", 1), ("week_8", 2))
            for param in PRIMARY
        ],
    )

    _run(warehouse, "consort_flow")

    boxes = dict(
        _rows(
            warehouse,
            "select box, sum(n) from analysis.consort_flow "
            "where stage = 'Analysis (primary MMRM, ITT): week_8 NPRS_RUN' group by box",
        )
    )
    assert boxes == {"Analysed": 1} | {f"Not analysed: {reason}": 1 for reason in plan.NOT_ANALYSED}


def test_a_stop_of_unknown_date_sets_aside_the_running_values_from_the_visit_that_reports_it(warehouse):
    """A stop date given as a missing-data code (NULL in the clean layer): the participant had stopped
    by the visit that says so, so its running values and later ones are no values of the variable."""
    put(warehouse, "analysis.participants", [_participant("1", "A")])
    _clean(
        warehouse,
        "running_status",
        [
            {"record_id": "1", "event": "week_4_arm_1", "run_date": dt.date(2014, 2, 7), "run_still": True},
            {"record_id": "1", "event": "week_8_arm_1", "run_date": dt.date(2014, 3, 7), "run_still": False}
            | {"run_stop_reason": "1"},
        ],
    )
    _clean(warehouse, "co_intervention", [])
    visits = [("baseline", "2014-01-09"), ("week_4", "2014-02-07"), ("week_8", "2014-03-07")]
    _nprs(warehouse, [("1", *v) for v in visits])
    for form in ("psfs", "odi", "physical_tests"):
        _clean(warehouse, form, [])

    _run(warehouse, "intercurrent_events", "set_aside", "outcomes")

    assert _rows(warehouse, "select record_id, visit, param from analysis.set_aside") == [("1", "week_8", "NPRS_RUN")]
    kept = _rows(warehouse, "select visit from analysis.outcomes where param = 'NPRS_RUN' order by step")
    assert kept == [("baseline",), ("week_4",)]
