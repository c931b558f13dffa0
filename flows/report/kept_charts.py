"""The report's charts, drawn once: a blinded report's charts are kept in the warehouse
(`meta.report_charts`) by a hash of what draws them, and a report whose chart would come out the
same shows the kept one.

A chart is a pure function of its inputs (charts.py's output is byte-stable), so a report rerun on
a cut, or on a cut whose outcomes did not change, is the same page, made without importing
matplotlib or drawing (about 0.5 s and 0.35 s of a 1.5 s report). The key covers charts.py's
source, matplotlib's version, the chart and its inputs: a change to any of them draws it again.
The fonts are not in the key: a chart kept before the system's fonts changed keeps its layout.

Charts of an unblinded report name the arms, and the warehouse holds letters only: they are drawn
every time and never kept.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from importlib import metadata, resources

import duckdb

from runback.flows.warehouse import rows, sql

CODE_VERSION = hashlib.sha256(
    (resources.files("runback.flows.report") / "charts.py").read_bytes()
    + f"matplotlib {metadata.version('matplotlib')}".encode()
).hexdigest()
"""SHA-256 of the code that draws the charts and of matplotlib's version: part of every chart's key."""


@dataclass(frozen=True)
class Chart:
    """One chart of a report: where the page shows it, the charts.py function that draws it, and
    that function's arguments."""

    slot: str
    draw: str
    args: tuple

    @property
    def key(self) -> str:
        spec = json.dumps([CODE_VERSION, self.draw, self.args], sort_keys=True, default=str)
        return hashlib.sha256(spec.encode()).hexdigest()


def wanted(context: dict) -> list[Chart]:
    """The charts of a report: the change from baseline of each questionnaire outcome with more
    than two visits, the forest plot of the primary contrasts, recruitment."""
    change = [Chart("change", "change_over_visits", (t, context["arms"])) for t in context["outcomes"]
              if len(t["rows"]) > 2]  # fmt: skip
    return [*change, Chart("forest", "forest", (context["contrasts"],)),
            Chart("recruitment", "recruitment", (context["conduct"],))]  # fmt: skip


Drawing = dict | None
"""A chart as charts.py draws it: {"svg", "alt"}, or None when there is nothing to draw."""


def kept(con: duckdb.DuckDBPyConnection, charts: list[Chart]) -> dict[str, Drawing]:
    """The kept drawing of each chart that has one, by key."""
    found = rows(con, "report/kept_charts", {"keys": [c.key for c in charts]})
    return {key: None if svg is None else {"svg": svg, "alt": alt} for key, svg, alt in found}


def draw(charts: list[Chart], kept: dict[str, Drawing]) -> dict[str, Drawing]:
    """The drawings not kept, drawn now, by key (matplotlib is imported only when one is missing)."""
    missing = [c for c in charts if c.key not in kept]
    if not missing:
        return {}
    from runback.flows.report import charts as drawing  # matplotlib: about 0.5 s

    return {c.key: getattr(drawing, c.draw)(*c.args) for c in missing}


def page(charts: list[Chart], drawings: dict[str, Drawing]) -> dict:
    """The charts as the template shows them: `change` (a list), `forest` and `recruitment`, each
    {"src": a `data:` image, "svg", "alt"} or None."""
    shown = {"change": []}
    for chart in charts:
        drawing = drawings[chart.key]
        image = None if drawing is None else drawing | {"src": _data_uri(drawing["svg"])}
        if chart.slot == "change":
            shown["change"].append(image)
        else:
            shown[chart.slot] = image
    return shown


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def keep(con: duckdb.DuckDBPyConnection, drawings: dict[str, Drawing]) -> None:
    """Keep these drawings (inside the caller's transaction; a chart kept meanwhile stays as it is)."""
    for key, drawing in drawings.items():
        con.execute(sql("report/keep_chart"), {"chart_key": key, "svg": drawing and drawing["svg"],
                                               "alt": drawing and drawing["alt"]})  # fmt: skip
