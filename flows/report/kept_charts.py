"""The report's charts, drawn once: a blinded report's charts are kept in the warehouse
(`meta.report_charts`) by a hash of what draws them, and a report whose chart would come out the
same shows the kept one.

A chart is a pure function of its inputs (charts.py's output is byte-stable), so a report rerun on
a cut is the same page, made without importing matplotlib or drawing (about 0.5 s and 0.35 s of a
1.5 s report); a later cut shares a chart whose inputs are the same (its function's arguments
whole: the recruitment chart's are the whole conduct section). The key covers charts.py's source,
matplotlib's version, the chart and its inputs: a change to any of them draws it again. Not in
the key: the fonts and a matplotlibrc (a chart kept before they changed keeps its look). Kept
charts are not removed: 50-70 KB of SVG for each report of a new cut.

Charts of an unblinded report name the arms, and the warehouse holds letters only: they are drawn
every time and never kept.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import xml.etree.ElementTree as ET
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

    @functools.cached_property
    def key(self) -> str:
        spec = json.dumps([CODE_VERSION, self.draw, self.args], sort_keys=True, default=_typed)
        return hashlib.sha256(spec.encode()).hexdigest()


def _typed(value) -> list[str]:
    """A value JSON has no type for (a date, a Decimal), with its type: `5` and `"5"` are two inputs."""
    return [type(value).__name__, str(value)]


def wanted(context: dict) -> list[Chart]:
    """The charts of a report: the change from baseline of each questionnaire outcome with more
    than two visits, the forest plot of the primary contrasts, recruitment."""
    change = [
        Chart("change", "change_over_visits", (t, context["arms"])) for t in context["outcomes"] if len(t["rows"]) > 2
    ]
    return [
        *change,
        Chart("forest", "forest", (context["contrasts"],)),
        Chart("recruitment", "recruitment", (context["conduct"],)),
    ]


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


def images(shown: dict) -> list[dict]:
    """The charts a page made by `page` shows, in page order (the slots with nothing drawn left out)."""
    return [chart for chart in [*shown["change"], shown["forest"], shown["recruitment"]] if chart]


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


SHOWS_MORE = {"image", "foreignObject", "script", "font", "glyph", "feImage"}
"""SVG elements that can show more than text and lines (a picture, HTML, a font, a script): the
charts runback draws have none (their fonts are text: `svg.fonttype` none)."""


def shown_text(svg: str) -> str | None:
    """What a chart shows as text, for the blinding checks: each text element's characters (its
    parts joined, character references decoded), one element per line; None for a chart that is
    not SVG or holds an element that can show more than text (the checks could not read it)."""
    try:
        root = ET.fromstring(svg)  # noqa: S314 - our own warehouse's SVG; the parser loads no external entity
    except ET.ParseError:
        return None
    if any(el.tag.rsplit("}", 1)[-1] in SHOWS_MORE for el in root.iter()):
        return None
    return "\n".join("".join(el.itertext()) for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "text")


def keep(con: duckdb.DuckDBPyConnection, drawings: dict[str, Drawing]) -> None:
    """Keep these drawings (inside the caller's transaction; a chart kept meanwhile stays as it is)."""
    for key, drawing in drawings.items():
        con.execute(
            sql("report/keep_chart"),
            {"chart_key": key, "svg": drawing and drawing["svg"], "alt": drawing and drawing["alt"]},
        )
