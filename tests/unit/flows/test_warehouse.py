"""The warehouse door: a new warehouse is written in a storage format that the DuckDB clients
most users have (1.4 LTS, 1.5) read, and every table and view says what it holds."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from runback.flows.warehouse import connect

OLD_DUCKDB = os.environ.get("RUNBACK_OLD_DUCKDB_PYTHON")
"""A Python with an older DuckDB (`pip install "duckdb<2"`), set by .ci/run; the test skips without it."""


@pytest.mark.skipif(not OLD_DUCKDB or not Path(OLD_DUCKDB).exists(), reason="no older DuckDB client installed")
def test_an_older_duckdb_client_opens_the_warehouse(tmp_path):
    db = tmp_path / "w.duckdb"
    connect(db).close()
    with connect(db) as con:  # reopened and written again by this DuckDB: the format stays
        con.execute("create table meta.probe as select 42 as answer")
    read = subprocess.run(
        [
            OLD_DUCKDB,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
            "print(duckdb.__version__, con.execute('select answer from meta.probe').fetchone()[0], "
            "con.execute('select count(*) from latest.outcomes').fetchone()[0])",
            str(db),
        ],
        capture_output=True,
        text=True,
    )
    assert read.returncode == 0, read.stderr
    version, answer, outcomes = read.stdout.split()  # the analysis views bind in the older client too
    assert version.startswith("1.") and answer == "42" and outcomes == "0"


def test_every_table_view_and_column_says_what_it_holds(tmp_path, study):
    """Tables, views and the tables' columns of an ingested and analysed warehouse all carry a
    comment (a view's columns are its table's); the clean layer's columns carry the dictionary's
    labels."""
    import duckdb

    from tests.helpers import build_warehouse, randomised

    db = build_warehouse(tmp_path, study, [[randomised(str(i), group=str(i % 3 + 1)) for i in range(1, 10)]])
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute("select schema_name, table_name from duckdb_tables() where coalesce(comment, '') = ''")
        assert tables.fetchall() == []
        views = con.execute("select view_name from duckdb_views() where not internal and coalesce(comment, '') = ''")
        assert views.fetchall() == []
        columns = con.execute(
            "select c.schema_name || '.' || c.table_name || '.' || c.column_name "
            "from duckdb_columns() c join duckdb_tables() t using (schema_name, table_name) "
            "where coalesce(c.comment, '') = ''"
        ).fetchall()
        assert columns == []
        label = con.execute(
            "select comment from duckdb_columns() where schema_name = 'clean' "
            "and table_name = 'nprs' and column_name = 'nprs_run'"
        ).fetchone()[0]
    assert label == study.field_map["nprs_run"].label
