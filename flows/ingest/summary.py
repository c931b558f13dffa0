"""The nightly run's summary for Prefect artifacts (markdown and a JSON-safe table) and the data
query listing a data manager sends to the sites.

Tonight's files only (a file seen on an earlier night and still in the inbox is left out), with
the reason of any refusal; the data queries that are new tonight, each with its record, event,
instance, form, field, value, check and reason; and the counts of those still open and resolved.
No identifier can reach them (none is stored) and the allocation is masked.
"""

from __future__ import annotations

import pandas as pd

from runback.flows.ingest.load import LoadResult
from runback.flows.spreadsheet import neutralise

QUERY_LIST_MAX = 30


def _table(header: list[str], rows: list[list]) -> list[str]:
    """A markdown table; columns after the first are right-aligned when they hold numbers."""
    align = ["---"] + ["---:" if rows and isinstance(rows[0][i], int) else "---" for i in range(1, len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    return lines + ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]


def _cell(value) -> str:
    """A table cell: a `|` in a file name must not open a new column, nor a newline a new row."""
    return str(value).replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def tonight(results: list[LoadResult]) -> list[LoadResult]:
    """The files this run did something with (not those seen on an earlier night)."""
    return [r for r in results if not r.repeat]


def run_text(results: list[LoadResult]) -> str:
    """The run on one screen, as plain text: tonight's files (with the reason of any that was not
    applied), and how many were seen before."""
    rows = [
        (
            r.file,
            r.status,
            str(r.rows or 0),
            str(r.quarantined),
            str(r.flagged),
            str(r.data_cut or "-"),
        )
        for r in tonight(results)
    ]
    header = ("file", "status", "rows", "quarantined", "flagged", "cut")
    width = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = (
        [
            "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, width, strict=True)))
            for row in [header, *rows]
        ]
        if rows
        else ["No new export."]
    )
    lines += [f"  {r.file} {r.status}: {_why(r)}" for r in tonight(results) if not r.status.applied]
    seen = len(results) - len(tonight(results))
    if seen:
        lines.append(
            f"{seen} file(s) seen before (on an earlier night, or as another file of this run), not read again."
        )
    return "\n".join(lines)


def _why(result: LoadResult) -> str:
    """Why a file was not applied, on one line (without its own name again)."""
    return " ".join(result.message.removeprefix(result.file + ": ").split())[:300]


def run_markdown(results: list[LoadResult], cut: int | None, queries: pd.DataFrame, listing: str | None = None) -> str:
    """Tonight's files (with the reason of a refusal), form rows per form, the new cut, the new
    data queries and the counts of open and resolved ones."""
    lines = ["# Nightly ingest", ""]
    lines.append(f"**New data cut:** {cut}" if cut is not None else "**No new data cut** (nothing changed).")
    files = [
        [
            r.file,
            str(r.status),
            r.rows or 0,
            r.quarantined,
            r.flagged,
            r.data_cut or "",
            "" if r.status.applied else r.message[:300],
        ]
        for r in tonight(results)
    ]
    lines += ["", "## Tonight's files", ""]
    header = ["file", "status", "rows", "quarantined", "flagged", "cut", "why"]
    lines += _table(header, files) if files else ["No new export."]
    totals = form_totals(tonight(results))
    if totals:
        rows = [[f, c["rows_in"], c["loaded"], c["quarantined"], c["flagged"]] for f, c in totals.items()]
        lines += ["", "## Form rows", ""] + _table(["form", "in", "loaded", "quarantined", "flagged"], rows)
    if not queries.empty:
        counts = queries.groupby("status").size().to_dict()
        lines += ["", "## Data queries", "", ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))]
        if listing:
            lines += ["", f"Listing of the open queries, to send to the sites: `{listing}`"]
        shown = queries[queries["status"] == "new"].head(QUERY_LIST_MAX)
        if len(shown):
            rows = [
                [q.record_id, q.event, q.instance, q.form, q.column, str(q.value)[:80], q.check, q.reason[:200]]
                for q in shown.itertuples()
            ]
            header = ["record", "event", "instance", "form", "field", "value", "check", "reason"]
            lines += ["", "### New tonight", ""] + _table(header, rows)
    return "\n".join(lines) + "\n"


def form_totals(results: list[LoadResult]) -> dict[str, dict[str, int]]:
    """Form rows in, loaded, quarantined and flagged, summed over the run's files."""
    totals: dict[str, dict[str, int]] = {}
    for r in results:
        for form, counts in r.forms.items():
            acc = totals.setdefault(form, dict.fromkeys(counts, 0))
            for k, v in counts.items():
                acc[k] += v
    return totals


def query_table(queries: pd.DataFrame) -> list[LoadResult]:
    """The data queries new tonight, one row each (plain JSON types only): where, what and why."""
    new = queries[queries["status"] == "new"] if not queries.empty else queries
    columns = ["record_id", "event", "instance", "form", "column", "value", "check", "reason", "action"]
    return [
        {c: (None if pd.isna(getattr(q, c)) else str(getattr(q, c))[:500]) for c in columns} for q in new.itertuples()
    ]


def listing_csv(queries: pd.DataFrame) -> bytes:
    """The open data queries of a cut (new and still open) as a CSV to send to the sites, one row
    per query; spreadsheet formulas neutralised."""
    open_ = queries[queries["status"].isin(["new", "open"])]
    columns = ["status", "record_id", "event", "instance", "form", "column", "value", "check", "reason", "action"]
    return neutralise(open_[columns].rename(columns={"column": "field"})).to_csv(index=False).encode("utf-8")


def listing_path(cut: int) -> str:
    """Where the data query listing of a cut is written, in the blinded root."""
    return f"queries/data_queries_cut{cut}.csv"
