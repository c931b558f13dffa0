"""The declared checks of the analysis tables (flows/analyse/tables.py, checks.py): a cut's rows
that break a key, a not-null column or a column's accepted values fail the refresh, naming the
table, the check and the rows; the declarations name the warehouse's own columns."""

import pytest

from runback.flows.analyse import checks
from runback.flows.analyse.tables import DECLARED
from runback.flows.errors import Exit, RunbackError
from tests.unit.sql.analyse.memory import memory_warehouse, put


@pytest.fixture(scope="module")
def warehouse(study):
    con = memory_warehouse(study)
    yield con
    con.close()


def _participant(cut: int, record: str, **values) -> dict:
    row = {
        "data_cut": cut,
        "record_id": record,
        "arm": "A",
        "supervised_done": 16,
        "home_done": 0,
        "adherence": 1.0,
        "adherent": True,
        "received_programme": True,
        "status": "Ongoing",
    }
    return row | values


def test_every_declared_column_is_a_column_of_its_table(warehouse):
    for table in DECLARED:
        columns = {
            c for (c,) in warehouse.execute(f"select column_name from (describe analysis.{table.name})").fetchall()
        }
        assert {*table.key, *table.not_null, *table.accepted} <= columns, table.name


def test_sound_rows_pass_and_a_cut_is_checked_alone(warehouse):
    put(warehouse, "analysis.participants", [_participant(1, "1"), _participant(1, "2", arm="B")])
    adherence = {"arm": "A", "participants": 1, "received_programme": 1, "adherent": 1, "supervised_mean": 16}
    adherence |= {"adherence_mean": 1.0}
    put(warehouse, "analysis.adherence", [adherence | {"data_cut": 1}, adherence | {"data_cut": 2, "arm": "B"}])
    put(warehouse, "analysis.adherence", [adherence | {"data_cut": 2}, adherence | {"data_cut": 2, "adherent": 0}])
    assert checks.failures(warehouse, 1) == []
    checks.check(warehouse, 1)
    found = checks.failures(warehouse, 2)
    assert [(f.table, f.check) for f in found] == [("adherence", "key (arm) not unique")]
    assert found[0].rows == [{"arm": "A", "n": 2}]


def test_a_broken_table_fails_the_check_naming_table_check_and_rows(warehouse):
    outcome = {"data_cut": 3, "record_id": "7", "arm": "A", "visit": "week_8", "step": 2, "param": "PSFS"}
    put(
        warehouse,
        "analysis.outcomes",
        [
            outcome | {"aval": 5.0},
            outcome | {"visit": "week_9", "aval": 4.0},  # no such visit
            outcome | {"arm": "LL", "record_id": "8", "aval": 3.0},  # an unmasked arm
        ],
    )
    with pytest.raises(RunbackError) as raised:
        checks.check(warehouse, 3)
    assert raised.value.exit_code == Exit.INTERNAL
    message = str(raised.value)
    assert "analysis.outcomes: arm not one of A, B, C" in message and "record_id='8'" in message
    assert "analysis.outcomes: visit not one of baseline, week_4, week_8, month_3, month_6" in message
    assert "visit='week_9'" in message and "fails 2 of its declared checks" in message


def test_a_null_where_none_may_be_is_named_with_its_count(warehouse):
    result = {"data_cut": 4, "model": "MMRM", "population": "ITT", "timepoint": "week_8", "param": "PSFS"}
    put(warehouse, "analysis.model_results", [result | {"term": "B - A", "status": "ok", "n_obs": 9}])
    found = checks.failures(warehouse, 4)
    assert [f.check for f in found] == ["n_participants is null in 1 rows", "role is null in 1 rows"]
    assert all(f.table == "model_results" and f.rows[0]["term"] == "B - A" for f in found)


def test_declared_not_null_columns_are_those_the_table_itself_lets_be_null(warehouse):
    """Each fact once: a column the table's NOT NULL constraint guards is not declared again."""
    for table in DECLARED:
        nullable = warehouse.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'analysis' and table_name = $t and is_nullable = 'YES'",
            {"t": table.name},
        ).fetchall()
        assert set(table.not_null) <= {c for (c,) in nullable}, table.name
