"""Analysis tables shared between data cuts: a cut's table shows the previous cut's rows when
everything the table reads is unchanged.

Each analysis table is a view, `analysis.<table>`, over its stored rows (`analysis.<table>_rows`,
under the cut whose refresh computed them) and `analysis.cut_tables`, which says for each analysed
cut and table whose rows it shows (migration 0016). A table's key (`TableKeys.key`) is a SHA-256 of
what its rows are a function of, read off its SQL:

- its code: the statement's text, the warehouse's migrations (the macros it calls) and DuckDB's version;
- the reference tables (`ref.*`, written from the study definition on every refresh);
- each clean form it reads, as of the cut (`meta.cut_forms`, kept by the ingest), and its columns'
  types (a newer dictionary may retype a column without changing any row's content hash);
- the key of each analysis table it reads;
- the cut's date, for the tables that read it (`meta.data_cuts`): only through which visit windows
  had closed by then (`window_closed`), so the closed windows are the key, not the date.

A table that reads anything else (the quarantine, for the data queries) has no key and is computed
for every cut. When the key equals the previous analysed cut's, the cut's rows are the previous
cut's by construction, and nothing is computed or written but one row of `analysis.cut_tables`.

A table that reads the cut's date also has a content key: its key without the closed windows
(`analysis.cut_tables.content_hash`, migration 0017). When only the closed windows changed (the
content keys are equal), its statement updates the previous cut's rows: it counts again only the
participants whose windows closed in between (`window_closed_between`), taking them off as of the
previous cut's date and adding them as of this cut's (`$since_cut`, `$rows_cut`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cache

import duckdb

from runback.flows.hashing import clean_form_hash as form_hash
from runback.flows.warehouse import form_tables, rows, sql

_READS = re.compile(r"\b(analysis|clean|latest|meta|quarantine|raw|ref)\.([a-z_][a-z0-9_]*)\b")
_COMMENT = re.compile(r"--[^\n]*")
DATE_INPUT = ("meta", "data_cuts")
"""Where a table reads the cut's date; it may use it only through `window_closed` (tests check)."""


@cache
def reads(statement: str) -> frozenset[tuple[str, str]]:
    """The (schema, table) pairs a statement reads, besides the table it writes."""
    text = _COMMENT.sub("", sql(statement))
    return frozenset((schema, name) for schema, name in _READS.findall(text) if not name.endswith("_rows"))


@dataclass
class TableKeys:
    """The keys of one cut's analysis tables, computed in dependency order (`key`)."""

    con: duckdb.DuckDBPyConnection
    cut: int
    reference: str
    """SHA-256 of the reference tables written for this refresh."""
    keys: dict[str, str | None] = field(default_factory=dict)
    contents: dict[str, str | None] = field(default_factory=dict)
    """The content key of each table that reads the cut's date (None for the others)."""
    _code: str | None = None
    _forms: dict[str, str] | None = None
    _columns: dict[str, str] | None = None
    _closed: str | None = None

    def key(self, table: str, statements: tuple[str, ...], code: str = "") -> str | None:
        """The key of `table`, computed by `statements` (SQL file names) and `code` (a version of
        any Python that computes it); None when the table reads what has no key."""
        parts, dated = [table, code, self.code_version(), self.reference], False
        self.keys[table] = self.contents[table] = None
        for statement in statements:
            parts.append(sql(statement))
            for schema, name in sorted(reads(statement)):
                dated |= (schema, name) == DATE_INPUT
                part = "cut date" if (schema, name) == DATE_INPUT else self._input(table, schema, name)
                if part is None:
                    return None
                parts.append(part)
        if dated:
            self.contents[table] = _sha256(parts)
            parts.append(f"closed windows:{self.closed_windows()}")
        self.keys[table] = _sha256(parts)
        return self.keys[table]

    def _input(self, table: str, schema: str, name: str) -> str | None:
        if schema == "ref":
            return "ref"  # in self.reference
        if schema == "analysis" and name == table:
            return ""
        if schema == "analysis":
            return f"analysis.{name}:{self.keys[name]}" if self.keys.get(name) else None
        if schema == "clean":
            if self._columns is None:
                self._columns = dict(rows(self.con, "analyse/clean_columns"))
            found = self.forms().get(name)
            return f"clean.{name}:{found}:{self._columns.get(name)}" if found else None
        return None

    def code_version(self) -> str:
        """DuckDB's version and the warehouse's migrations (the macros the statements call)."""
        if self._code is None:
            migrations = " ".join(row[0] for row in rows(self.con, "warehouse/applied_migrations"))
            self._code = f"duckdb {duckdb.__version__}; migrations {migrations}"
        return self._code

    def forms(self) -> dict[str, str]:
        """Each clean form's content hash as of the cut (computed and kept when the ingest did not)."""
        if self._forms is None:
            self._forms = dict(rows(self.con, "analyse/cut_forms", {"cut": self.cut}))
            for form in set(form_tables(self.con, "clean")) - set(self._forms):
                self._forms[form] = form_hash(self.con, form, self.cut)
                self.con.execute(
                    sql("ingest/insert_cut_form"), {"cut": self.cut, "form": form, "content_hash": self._forms[form]}
                )
        return self._forms

    def closed_windows(self) -> str:
        """Which participants' visit windows had closed by the cut's date (needs the cut's
        analysis.participants): count and order-free checksum."""
        if self._closed is None:
            self._closed = ":".join(map(str, rows(self.con, "analyse/closed_windows", {"cut": self.cut})[0]))
        return self._closed


def _sha256(parts: list[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


# -- the rows a cut's table shows ------------------------------------------------------------------
@dataclass(frozen=True)
class Shown:
    """What an analysed cut's table shows: the stored rows of `rows_cut`, with their keys."""

    data_cut: int
    rows_cut: int
    key: str | None
    content: str | None


def previous(con, cut: int) -> dict[str, Shown]:
    """Per table, what the newest analysed cut before `cut` shows."""
    return {row[1]: Shown(row[0], *row[2:]) for row in rows(con, "analyse/previous_cut_tables", {"cut": cut})}


def show(con, table: str, cut: int, rows_cut: int, key: str | None, content: str | None) -> None:
    """Let the cut's analysis.<table> show the stored rows of `rows_cut` (its own: `rows_cut == cut`)."""
    con.execute(
        sql("analyse/map_rows"),
        {"cut": cut, "table": table, "rows_cut": rows_cut, "input_hash": key, "content_hash": content},
    )


def release(con, cut: int) -> None:
    """Stop the cut's analysis tables showing any rows. Its own stored rows are deleted, or, when
    later cuts share them, handed over to the first of those (they stay what those cuts show)."""
    for (table,) in rows(con, "analyse/tables_shown", {"cut": cut}):
        _release(con, table, cut)


def _release(con, table: str, cut: int) -> None:
    (heir,) = rows(con, "analyse/rows_heir", {"cut": cut, "table": table})[0]
    con.execute(sql("analyse/unmap_rows"), {"cut": cut, "table": table})
    if heir is None:
        con.execute(sql("analyse/clear_cut", table=table), {"cut": cut})
    else:
        con.execute(sql("analyse/hand_over_rows", table=table), {"cut": cut, "heir": heir})
        con.execute(sql("analyse/hand_over_map"), {"cut": cut, "table": table, "heir": heir})
