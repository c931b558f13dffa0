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
    return _key(con, table, cut) + _nulls(con, table, cut) + _values(con, table, cut)


def _key(con, table: Table, cut: int) -> list[Failed]:
    duplicated = _dicts(con.execute(sql("analyse/check_key", table=table.name), {"cut": cut, "key": list(table.key)}))
    return [Failed(table.name, f"key ({', '.join(table.key)}) not unique", duplicated)] if duplicated else []


def _nulls(con, table: Table, cut: int) -> list[Failed]:
    """The not-null columns counted in one statement; the rows fetched only for a column that fails."""
    if not table.not_null:
        return []
    (counts,) = _dicts(
        con.execute(sql("analyse/check_nulls", table=table.name), {"cut": cut, "columns": list(table.not_null)})
    )
    return [
        Failed(
            table.name,
            f"{column} is null in {counts[column]} rows",
            _dicts(con.execute(sql("analyse/check_not_null", table=table.name, column=column), {"cut": cut})),
        )
        for column in table.not_null
        if counts[column]
    ]


def _values(con, table: Table, cut: int) -> list[Failed]:
    """The values present in one statement; the rows fetched only for a column that fails."""
    if not table.accepted:
        return []
    parameters = {"cut": cut, "columns": list(table.accepted)}
    (present,) = _dicts(con.execute(sql("analyse/check_values", table=table.name), parameters))
    return [
        Failed(
            table.name,
            f"{column} not one of {', '.join(accepted)}",
            _dicts(
                con.execute(
                    sql("analyse/check_accepted", table=table.name, column=column),
                    {"cut": cut, "accepted": list(accepted)},
                )
            ),
        )
        for column, accepted in table.accepted.items()
        if set(present[column] or ()) - {None} - set(accepted)
    ]


def _dicts(result) -> list[dict]:
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
