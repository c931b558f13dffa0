"""The one list of analysis tables is the warehouse's: every table has its `latest.*` view, and the
warehouse holds no analysis table the list does not name."""

from runback.flows.analyse.tables import SQL_TABLES, TABLES
from runback.flows.warehouse import connect


def test_the_list_names_every_analysis_table_and_view(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        found = dict(
            con.execute(
                "select table_schema || '.' || table_name, table_type "
                "from information_schema.tables where table_schema in ('analysis', 'latest')"
            ).fetchall()
        )
    assert {n for n, kind in found.items() if n.startswith("analysis.")} == {f"analysis.{t}" for t in TABLES}
    assert {kind for n, kind in found.items() if n.startswith("analysis.")} == {"BASE TABLE"}
    assert {n for n in found if n.startswith("latest.")} == {f"latest.{t}" for t in TABLES}
    assert TABLES[-1] == "model_results" and "model_results" not in SQL_TABLES
