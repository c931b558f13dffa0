"""The nightly run's summary for Prefect artifacts: markdown and a JSON-safe table.

Counts and places only: no identifier can reach an artifact (none is stored), and data query
values stay in the warehouse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

QUERY_LIST_MAX = 30


def _table(header: list[str], rows: list[list]) -> list[str]:
    """A markdown table; columns after the first are right-aligned when they hold numbers."""
    align = ["---"] + ["---:" if rows and isinstance(rows[0][i], int) else "---" for i in range(1, len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    return lines + ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]


def _cell(value) -> str:
    """A table cell: a `|` in a file name must not open a new column, nor a newline a new row."""
    return str(value).replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def run_markdown(results: list[dict], cut: int | None, queries: pd.DataFrame) -> str:
    """Files seen, form rows loaded and quarantined per form, the new cut, new and resolved queries."""
    lines = ["# Nightly ingest", ""]
    lines.append(f"**New data cut:** {cut}" if cut is not None else "**No new data cut** (nothing changed).")
    files = [
        [r["file"], r["status"], r.get("rows") or 0, sum(f["quarantined"] for f in r.get("forms", {}).values()),
         sum(f["flagged"] for f in r.get("forms", {}).values()), r.get("data_cut") or ""]
        for r in results
    ]  # fmt: skip
    lines += ["", "## Files seen", ""]
    lines += _table(["file", "status", "rows", "quarantined", "flagged", "cut"], files) if files else ["No new export."]
    totals = form_totals(results)
    if totals:
        rows = [[f, c["rows_in"], c["loaded"], c["quarantined"], c["flagged"]] for f, c in totals.items()]
        lines += ["", "## Form rows", ""] + _table(["form", "in", "loaded", "quarantined", "flagged"], rows)
    if not queries.empty:
        counts = queries.groupby("status").size().to_dict()
        lines += ["", "## Data queries", "", ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))]
        for status in ("new", "resolved"):
            shown = queries[queries["status"] == status].head(QUERY_LIST_MAX)
            if len(shown):
                rows = [[q.form, q.record_id, q.event, q.check] for q in shown.itertuples()]
                lines += ["", f"### {status.capitalize()}", ""] + _table(["form", "record", "event", "check"], rows)
    return "\n".join(lines) + "\n"


def form_totals(results: list[dict]) -> dict[str, dict[str, int]]:
    """Form rows in, loaded, quarantined and flagged, summed over the run's files."""
    totals: dict[str, dict[str, int]] = {}
    for r in results:
        for form, counts in r.get("forms", {}).items():
            acc = totals.setdefault(form, dict.fromkeys(counts, 0))
            for k, v in counts.items():
                acc[k] += v
    return totals


def quarantine_table(results: list[dict]) -> list[dict]:
    """Rows of file x form with something held back or flagged (plain JSON types only)."""
    return [
        {"file": r["file"], "form": form, "quarantined": int(c["quarantined"]), "flagged": int(c["flagged"])}
        for r in results
        for form, c in r.get("forms", {}).items()
        if c["quarantined"] or c["flagged"]
    ]
