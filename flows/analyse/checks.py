"""The declared checks of the analysis tables (`tables.DECLARED`: key, not-null and accepted values,
as dbt's schema tests), run on a cut's rows at the end of each refresh, inside its transaction.

A failing check is a fault of runback's code, not of the export: the rows reaching the analysis
have passed validation, so a duplicate key or an unknown code means a derivation (or a
declaration) is wrong. The refresh fails with an internal error (exit 5) that names the table, the
check and up to `SHOWN` offending rows; nothing of the refresh is kept (its transaction is rolled back).
"""

from __future__ import annotations

from dataclasses import dataclass

from runback.flows.analyse.tables import DECLARED, Table
from runback.flows.errors import Exit, RunbackError
from runback.flows.warehouse import sql

SHOWN = 3
"""Offending rows named per failed check."""


@dataclass(frozen=True)
class Failed:
    """One check that rows of a cut fail: the table, the check in words, the first offending rows."""

    table: str
    check: str
    rows: list[dict]

    def __str__(self) -> str:
        shown = "; ".join(", ".join(f"{k}={v!r}" for k, v in row.items()) for row in self.rows[:SHOWN])
        return f"analysis.{self.table}: {self.check} (e.g. {shown})"


def failures(con, cut: int, declared: tuple[Table, ...] = DECLARED) -> list[Failed]:
    """Every declared check the cut's rows fail, in the tables' order."""
    return [failed for table in declared for failed in _table_failures(con, table, cut)]


def check(con, cut: int) -> None:
    """Raise if the cut's analysis rows fail any declared check."""
    found = failures(con, cut)
    if found:
        raise RunbackError(
            f"the analysis of data cut {cut} fails {len(found)} of its declared checks: " + " | ".join(map(str, found)),
            "Nothing of this analysis was kept. This is a fault of runback's derivations, not of the export: "
            "report it with this message.",
            Exit.INTERNAL,
        )


def _table_failures(con, table: Table, cut: int) -> list[Failed]:
    found = []
    duplicated = _dicts(con.execute(sql("analyse/check_key", table=table.name), {"cut": cut, "key": list(table.key)}))
    if duplicated:
        found.append(Failed(table.name, f"key ({', '.join(table.key)}) not unique", duplicated))
    parameters = {"cut": cut, "columns": list(table.not_null)}
    nulls = _dicts(con.execute(sql("analyse/check_nulls", table=table.name), parameters))[0] if table.not_null else {}
    for column in (c for c in table.not_null if nulls[c]):
        offending = _dicts(con.execute(sql("analyse/check_not_null", table=table.name, column=column), {"cut": cut}))
        found.append(Failed(table.name, f"{column} is null in {nulls[column]} rows", offending))
    for column, accepted in table.accepted.items():
        parameters = {"cut": cut, "accepted": list(accepted)}
        other = _dicts(con.execute(sql("analyse/check_accepted", table=table.name, column=column), parameters))
        if other:
            found.append(Failed(table.name, f"{column} not one of {', '.join(accepted)}", other))
    return found


def _dicts(result) -> list[dict]:
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
