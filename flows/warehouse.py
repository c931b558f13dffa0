"""The DuckDB warehouse: connections, the one reader of `sql/` files, migrations, transactions.

SQL lives in `sql/<stage>/<what it builds>.sql`. Values are always bound as DuckDB parameters
(`$name`). Statements that work on one form's table name it `{{ form }}`; `sql()` puts the form's
name there after checking it is a plain identifier (REDCap form names always are).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import duckdb

from runback.flows.errors import Busy, Refused
from runback.flows.settings import SQL_DIR, lock_timeout

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
SQL_TYPES = frozenset(
    {
        "VARCHAR",
        "BIGINT",
        "INTEGER",
        "TINYINT",
        "UBIGINT",
        "DOUBLE",
        "BOOLEAN",
        "DATE",
        "TIME",
        "TIMESTAMP",
        "TIMESTAMP_S",
    }
)
"""Type names `sql()` accepts in a placeholder (when a new dictionary adds or retypes a column)."""
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


STORAGE_FORMAT = "v1.4.0"
"""The DuckDB storage format a new warehouse is written in: the one DuckDB 1.4 (LTS) and 1.5 read,
so that the DuckDB CLI, R and Python clients most users have open the file (a file in DuckDB 2.0's
own format, version 69, they refuse). DuckDB keeps the format for the file's lifetime."""


class NoWarehouse(Refused, FileNotFoundError):
    """The warehouse file named does not exist (a read-only command cannot make one)."""


class WarehouseBusy(Busy):
    """Another process holds the warehouse file for writing for longer than we wait."""


@cache
def _text(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def sql(name: str, literals: dict[str, str] | None = None, **identifiers: str) -> str:
    """The statement in `sql/<name>.sql`, with `{{ key }}` identifiers (or type names) filled in.

    `literals` fill `{{ key }}` placeholders with quoted SQL strings: only for what DuckDB cannot
    bind as a parameter (the text of a COMMENT), and quoted here, in the one place that does it."""
    quoted = {k: _literal(v) for k, v in (literals or {}).items()}
    for value in identifiers.values():
        if not _IDENTIFIER.match(value) and value not in SQL_TYPES:
            raise ValueError(f"not a plain SQL identifier: {value!r}")

    def fill(match: re.Match) -> str:
        return quoted[match.group(1)] if match.group(1) in quoted else identifiers[match.group(1)]

    return _PLACEHOLDER.sub(fill, _text(name))


def _literal(text: str) -> str:
    """A SQL string literal of `text`: quotes doubled, control characters refused, at most 1,000 characters."""
    if any(ord(c) < 32 for c in text):
        raise ValueError("a SQL literal may not hold control characters")
    return "'" + text[:1000].replace("'", "''") + "'"


def describe(con: duckdb.DuckDBPyConnection, schema: str, table: str, what: str, columns: dict[str, str]) -> None:
    """Comment a table (`what` it holds) and those of its columns that have no comment yet."""
    if rows(con, "warehouse/uncommented_table", {"schema": schema, "table": table}):
        con.execute(sql("warehouse/comment_on_table", {"text": what}, schema=schema, table=table))
    for (column,) in rows(con, "warehouse/uncommented_columns", {"schema": schema, "table": table}):
        if columns.get(column):
            text = " ".join(columns[column].split())
            con.execute(sql("warehouse/comment_on_column", {"text": text}, schema=schema, table=table, column=column))


def connect(db: Path, wait_s: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse for writing (migrating it first); waits while another process holds it."""
    db = Path(db)
    db.parent.mkdir(parents=True, exist_ok=True)
    new = not db.exists()
    con = _open(db, wait_s, read_only=False, config={"storage_compatibility_version": STORAGE_FORMAT} if new else {})
    try:
        _check_ours(con, db)
        migrate(con)
    except BaseException:
        con.close()
        raise
    return con


def _check_ours(con: duckdb.DuckDBPyConnection, db: Path) -> None:
    """Refuse a DuckDB file of another application: runback's tables are never added to it."""
    (tables, ours) = rows(con, "warehouse/catalogue")[0]
    if tables and not ours:
        raise Refused(
            f"{db} is a DuckDB file of another application ({tables} table(s), none of runback's).",
            "Name runback's own warehouse with --db or RUNBACK_DB; runback does not add its tables "
            "to another database.",
        )


def connect_read_only(db: Path, wait_s: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse for queries: read-only, no file or network access, settings locked."""
    db = Path(db)
    if not db.exists():
        raise NoWarehouse(f"there is no warehouse at {db}.", "Run `runback ingest` first, or name it with --db.")
    config = {"enable_external_access": False, "lock_configuration": True}
    return _open(db, wait_s, read_only=True, config=config)


def _open(db: Path, wait_s: float | None, read_only: bool, config: dict) -> duckdb.DuckDBPyConnection:
    """duckdb.connect, retried with backoff while another process holds the file's lock."""
    wait_s = lock_timeout() if wait_s is None else wait_s
    deadline = time.monotonic() + wait_s
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(db), read_only=read_only, config=config)
        except (duckdb.IOException, duckdb.InvalidInputException, duckdb.SerializationException) as err:
            if "lock" not in str(err).lower():
                raise Refused(
                    f"{db} cannot be opened as a DuckDB warehouse: {str(err).splitlines()[0][:200]}",
                    "Name runback's warehouse file with --db or RUNBACK_DB.",
                ) from None
            if time.monotonic() >= deadline:
                holder = re.search(r"PID (\d+)", str(err))
                who = f"process {holder[1]}" if holder else "another process"
                raise WarehouseBusy(
                    f"the warehouse {db} is in use by {who} (a running ingest or query?); waited {wait_s:g} s.",
                    "Try again later, or raise RUNBACK_LOCK_TIMEOUT; a file not loaded now is picked up by the "
                    "next run.",
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def pending_migrations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The migrations this warehouse has not had yet (asked on any connection, read-only too): a
    warehouse last written by an older runback lacks the newest tables, columns and macros."""
    try:
        done = {row[0] for row in rows(con, "warehouse/applied_migrations")}
    except duckdb.CatalogException:
        done = set()
    return [
        p.stem
        for p in sorted((SQL_DIR / "warehouse" / "migrations").glob("*.sql"))
        if p.stem not in done and p.stem != "0000_migrations_table"
    ]


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations in `sql/warehouse/migrations/` that this warehouse has not had yet."""
    con.execute(sql("warehouse/migrations/0000_migrations_table"))
    applied = pending_migrations(con)
    for name in applied:
        with transaction(con):
            con.execute(sql(f"warehouse/migrations/{name}"))
            con.execute(sql("warehouse/record_migration"), {"name": name})
    return applied


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, or ROLLBACK on any exception (a DuckDB `with connect()` is no transaction)."""
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def rows(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None, **identifiers: str) -> list[tuple]:
    """Run `sql/<name>.sql` and fetch all its rows at once (inside the caller's transaction)."""
    return con.execute(sql(name, **identifiers), params or {}).fetchall()


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of a table (empty when it does not exist)."""
    return dict(rows(con, "warehouse/table_columns", {"schema": schema, "table": table}))


def form_tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """The per-form tables of a layer (`raw` or `clean`)."""
    return [r[0] for r in rows(con, "warehouse/form_tables", {"schema": schema})]
