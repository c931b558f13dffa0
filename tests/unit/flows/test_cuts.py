"""Which data cut: the newest, the analysed ones, and the refusals of a cut that is not there."""

import pytest

from runback.flows.cuts import cuts
from runback.flows.errors import Refused
from runback.flows.warehouse import connect


@pytest.fixture
def con(tmp_path):
    """An empty warehouse whose analysis.participants holds only what the cuts are told by."""
    with connect(tmp_path / "warehouse.duckdb") as con:
        if con.execute(
            "select 1 from duckdb_views() where schema_name = 'analysis' and view_name = 'participants'"
        ).fetchall():
            con.execute("drop view analysis.participants")
        else:
            con.execute("drop table analysis.participants")
        con.execute("create table analysis.participants (data_cut integer, record_id varchar)")
        yield con


def _cut(con, cut: int, analysed: bool) -> None:
    con.execute(
        "insert into meta.data_cuts (cut_id, file_id, clean_hash, queries_hash) values (?, ?, '', '')", [cut, cut]
    )
    if analysed:
        con.execute("insert into analysis.participants (data_cut, record_id) values (?, '1')", [cut])


def test_a_warehouse_without_a_cut_refuses_every_choice(con):
    known = cuts(con)
    assert (known.latest, known.unanalysed, known.analysed) == (None, (), ())
    with pytest.raises(Refused, match="no data cut yet"):
        known.chosen(None)
    with pytest.raises(Refused, match="no data cut yet"):
        known.chosen_analysed(1)


def test_the_newest_cut_is_chosen_and_known_unanalysed(con):
    _cut(con, 1, analysed=True)
    _cut(con, 2, analysed=False)
    known = cuts(con)
    assert (known.chosen(None), known.chosen(1), known.latest, known.unanalysed) == (2, 1, 2, (2,))
    assert known.analysed == (1,) and known.is_analysed(1) and not known.is_analysed(2)
    assert known.chosen_analysed(1) == 1
    with pytest.raises(Refused, match=r"data cut 2 has not been analysed \(analysed: 1\)"):
        known.chosen_analysed(None)


def test_a_cut_that_does_not_exist_is_refused_with_the_cuts_there_are(con):
    for cut in (1, 2, 3):
        _cut(con, cut, analysed=True)
    known = cuts(con)
    assert known.unanalysed == ()
    for missing in (0, 4):
        with pytest.raises(Refused, match=rf"there is no data cut {missing} \(the cuts are 1 to 3\)"):
            known.chosen(missing)
