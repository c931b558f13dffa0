"""Migrations of a warehouse written by an older runback (sql/warehouse/migrations/)."""

import duckdb

from runback.flows.warehouse import migrate, pending_migrations, sql


def _migrated_before(con, first_not_applied: str) -> None:
    con.execute(sql("warehouse/migrations/0000_migrations_table"))
    for name in pending_migrations(con):
        if name >= first_not_applied:
            return
        con.execute(sql(f"warehouse/migrations/{name}"))
        con.execute(sql("warehouse/record_migration"), {"name": name})


def test_0021_gives_each_cut_the_rows_it_shared_and_drops_the_sharing():
    """Cut 2 showed cut 1's stored rows (migration 0016); after 0021 each cut has rows of its own."""
    con = duckdb.connect()
    _migrated_before(con, "0021")
    adherence = "insert into analysis.adherence_rows (data_cut, arm, participants, received_programme, adherent) "
    con.execute(adherence + "values (1, 'A', 3, 3, 2), (3, 'B', 4, 4, 1)")
    con.execute("insert into analysis.cut_tables values (1, 'adherence', 1, 'k', null), (2, 'adherence', 1, 'k', null)")
    con.execute("insert into analysis.cut_tables values (3, 'adherence', 3, 'j', null)")
    assert migrate(con)[0] == "0021_analysis_tables_per_cut"  # and any later ones
    found = con.execute("select data_cut, arm, participants from analysis.adherence order by data_cut").fetchall()
    assert found == [(1, "A", 3), (2, "A", 3), (3, "B", 4)]
    kinds = dict(
        con.execute("select table_schema || '.' || table_name, table_type from information_schema.tables").fetchall()
    )
    assert kinds["analysis.adherence"] == "BASE TABLE" and "analysis.adherence_rows" not in kinds
    assert not {"analysis.cut_tables", "meta.cut_forms", "meta.reference_written"} & set(kinds)
    assert "fit_hash" not in {
        c for (c,) in con.execute("select column_name from (describe analysis.model_results)").fetchall()
    }
