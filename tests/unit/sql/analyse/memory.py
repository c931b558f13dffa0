"""An in-memory warehouse for the SQL derivations and the analysis checks: migrated, its reference
tables written from the trial's study; rows of the tables a statement reads are put in directly."""

from __future__ import annotations

import duckdb
import pandas as pd

from runback.flows.analyse.refresh import write_reference
from runback.flows.warehouse import migrate
from runback.schemas.study import Study
from runback.schemas.trial import blinded_study


def memory_warehouse(study: Study) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    migrate(con)
    write_reference(con, blinded_study(study))
    return con


def put(con, table: str, rows: list[dict]) -> None:
    """Insert rows (by column name; the others null) into a table, e.g. "analysis.outcomes"."""
    con.register("given_rows", pd.DataFrame(rows))
    try:
        con.execute(f"insert into {table} by name select * from given_rows")
    finally:
        con.unregister("given_rows")


def participant(record: str, arm: str, rand_date, **values) -> dict:
    """A row of analysis.participants at cut 1: randomised on `rand_date`, no session done, ongoing."""
    return {
        "data_cut": 1,
        "record_id": record,
        "arm": arm,
        "rand_date": rand_date,
        "supervised_done": 0,
        "home_done": 0,
        "adherence": 0.0,
        "adherent": False,
        "received_programme": False,
        "status": "Ongoing",
    } | values
