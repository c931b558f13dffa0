"""analysis.responders (sql/analyse/responders.sql): a change of exactly the MCID is a response; in
the ITT population every randomised participant due at the timepoint is counted and one without a
change is a non-responder; a participant not yet due is not counted."""

from runback.flows.warehouse import sql
from tests.unit.sql.analyse.memory import put


def _participant(record: str, arm: str = "A", adherent: bool = True, rand_date: str | None = None) -> dict:
    return {
        "data_cut": 1,
        "record_id": record,
        "arm": arm,
        "rand_date": rand_date,
        "supervised_done": 16,
        "home_done": 0,
        "adherence": 1.0,
        "adherent": adherent,
        "received_programme": True,
        "status": "Ongoing",
    }


def _psfs(record: str, base: float, week_8: float, in_window: bool = True) -> list[dict]:
    common = {"data_cut": 1, "record_id": record, "arm": "A", "param": "PSFS", "base": base}
    return [
        common | {"visit": "baseline", "step": 0, "aval": base, "in_window": True},
        common | {"visit": "week_8", "step": 2, "aval": week_8, "chg": week_8 - base, "in_window": in_window},
    ]


def _responders(con, observed: bool = False) -> dict[str, tuple[int, ...]]:
    """Per population: (n, responders), or with `observed` (n, observed, responders)."""
    con.execute(sql("analyse/responders"), {"cut": 1})
    found = con.execute(
        "select population, n, observed, responders from analysis.responders "
        "where param = 'PSFS' and timepoint = 'week_8'"
    ).fetchall()
    return {population: (n, seen, r) if observed else (n, r) for population, n, seen, r in found}


def test_an_exact_mcid_change_of_thirds_counts(warehouse):
    # PSFS means of thirds: 10/3 -> 16/3 is +2 exactly, but 16/3 - 10/3 is 1.9999999999999996
    put(warehouse, "analysis.participants", [_participant("1"), _participant("2"), _participant("3")])
    put(
        warehouse,
        "analysis.outcomes",
        [*_psfs("1", 10 / 3, 16 / 3), *_psfs("2", 10 / 3, 15 / 3), *_psfs("3", 2.0, 4.0)],  # +5/3: below the MCID
    )
    assert 16 / 3 - 10 / 3 < 2  # the floating-point tie the tolerance is for
    assert _responders(warehouse)["ITT"] == (3, 2)


def test_per_protocol_counts_adherent_participants_assessed_in_the_window(warehouse):
    put(warehouse, "analysis.participants", [_participant("1"), _participant("2", adherent=False), _participant("3")])
    put(warehouse, "analysis.outcomes", [*_psfs("1", 2.0, 5.0), *_psfs("2", 2.0, 5.0), *_psfs("3", 2.0, 5.0, False)])
    assert _responders(warehouse) == {"ITT": (3, 3), "Observed cases": (3, 3), "Per protocol": (1, 1)}


def test_a_participant_due_without_a_change_is_a_non_responder(warehouse):
    """ITT counts every participant due (here: assessed at week 8); one without a change (no
    baseline) is a non-responder. Observed cases count only those with a change."""
    put(warehouse, "analysis.participants", [_participant("1"), _participant("2"), _participant("3")])
    no_change = {"data_cut": 1, "record_id": "2", "arm": "A", "param": "PSFS", "visit": "week_8", "step": 2}
    no_change |= {"aval": 9.0, "base": None, "chg": None, "in_window": True}
    put(warehouse, "analysis.outcomes", [*_psfs("1", 2.0, 4.0), no_change, *_psfs("3", 2.0, 2.0)])
    assert _responders(warehouse, observed=True) == {
        "ITT": (3, 2, 1),
        "Observed cases": (2, 2, 1),
        "Per protocol": (2, 2, 1),
    }


def test_a_participant_past_the_window_is_due_and_one_inside_it_is_not(warehouse):
    """At a cut of 2014-06-01: randomised 2014-01-10 and never assessed, week 8's window has closed
    (due, a non-responder); randomised 2014-05-20, it has not (not counted); one assessed counts."""
    cut = {"cut_id": 1, "file_id": 1, "export_time": "2014-06-01 02:00:00", "clean_hash": "", "queries_hash": ""}
    put(warehouse, "meta.data_cuts", [cut])
    participants = [
        _participant("1", rand_date="2014-05-20"),
        _participant("2", rand_date="2014-01-10"),
        _participant("3", rand_date="2014-05-25"),
    ]
    put(warehouse, "analysis.participants", participants)
    put(warehouse, "analysis.outcomes", _psfs("3", 2.0, 6.0))  # assessed early: due
    assert _responders(warehouse, observed=True)["ITT"] == (2, 1, 1)
    # a parameter without a value at the visit in the cut is not measured there: no non-responders
    assert warehouse.execute("select count(*) from analysis.responders where param != 'PSFS'").fetchone() == (0,)
