"""analysis.responders (sql/analyse/responders.sql): a change of exactly the MCID is a response."""

from runback.flows.warehouse import sql
from tests.unit.sql.analyse.memory import put


def _participant(record: str, arm: str = "A", adherent: bool = True) -> dict:
    return {
        "data_cut": 1,
        "record_id": record,
        "arm": arm,
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


def _responders(con) -> dict[str, tuple[int, int]]:
    con.execute(sql("analyse/responders"), {"cut": 1})
    found = con.execute(
        "select population, n, responders from analysis.responders where param = 'PSFS' and timepoint = 'week_8'"
    ).fetchall()
    return {population: (n, responders) for population, n, responders in found}


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
    assert _responders(warehouse) == {"ITT": (3, 3), "Per protocol": (1, 1)}


def test_a_participant_without_a_change_is_neither_counted_nor_a_responder(warehouse):
    """Responders are counted among those with a change (a missing change is neither)."""
    put(warehouse, "analysis.participants", [_participant("1"), _participant("2"), _participant("3")])
    no_change = {"data_cut": 1, "record_id": "2", "arm": "A", "param": "PSFS", "visit": "week_8", "step": 2}
    no_change |= {"aval": 9.0, "base": None, "chg": None, "in_window": True}
    put(warehouse, "analysis.outcomes", [*_psfs("1", 2.0, 4.0), no_change, *_psfs("3", 2.0, 2.0)])
    assert _responders(warehouse)["ITT"] == (2, 1)
