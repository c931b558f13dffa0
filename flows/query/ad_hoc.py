"""Ad-hoc SQL on the warehouse (`runback query`): read-only, no file or network access, and
bounded, so that a question can neither exhaust the machine nor hold the warehouse for long.

A result is cut at a row limit (the rows past it are never fetched: the limit is pushed into the
query) and a query is stopped at a time limit. Both are stated to the user when they are hit.
A running query holds the file; a writer (the nightly ingest) waits for it up to its lock timeout,
so the time limit is kept below that.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from runback.flows.errors import Refused
from runback.flows.warehouse import connect_read_only, sql

if TYPE_CHECKING:  # a blinded query needs neither the key's module nor the trial's definitions
    from runback.flows.allocation import Key

DEFAULT_ROWS = 10_000
DEFAULT_SECONDS = 30.0


@dataclass(frozen=True)
class QueryResult:
    table: pa.Table
    truncated: bool  # more rows than the limit: only the first `limit` are in `table`


def run_query(
    db: Path, text: str, limit: int = DEFAULT_ROWS, timeout_s: float = DEFAULT_SECONDS, key: Key | None = None
) -> QueryResult:
    """The result of `text` on the warehouse, at most `limit` rows (0: no limit) within
    `timeout_s` seconds (0: no limit). With the warehouse's `key`, the query is logged first and
    may join the temporary table `unblinded_arms` (letter, arm, name), made for it alone."""
    if key is not None:
        from runback.flows.allocation import log_unblinding
        from runback.schemas.trial import ARM_NAMES, ARM_ORDER

        log_unblinding(db, "query", key, text[:2000])
    con = connect_read_only(db)
    if key is not None:
        arms = pa.table(
            {
                "letter": [key.letters[a] for a in ARM_ORDER],
                "arm": list(ARM_ORDER),
                "name": [ARM_NAMES[a] for a in ARM_ORDER],
            }
        )
        con.register("key_rows", arms)
        con.execute(sql("query/unblinded_arms"))
        con.unregister("key_rows")
    timer = threading.Timer(timeout_s, con.interrupt) if timeout_s else None
    try:
        if timer:
            timer.start()
        relation = con.sql(text)
        if relation is None:  # a statement without a result
            return QueryResult(pa.table({}), False)
        table = (relation.limit(limit + 1) if limit else relation).to_arrow_table()
    except duckdb.InterruptException:
        raise Refused(
            f"the query ran longer than {timeout_s:g} s and was stopped.",
            "Narrow it down, or give it more time with --timeout SECONDS (0: none).",
        ) from None
    except duckdb.Error as err:
        raise Refused(f"the query failed: {err}", "Check the SQL; the warehouse is open read-only.") from None
    finally:
        if timer:
            timer.cancel()
        con.close()
    truncated = bool(limit) and table.num_rows > limit
    return QueryResult(table.slice(0, limit) if truncated else table, truncated)
