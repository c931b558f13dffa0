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
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib import metadata, resources

import duckdb

from runback.flows.report.render import ReportError
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

    drawn = {c.key: getattr(drawing, c.draw)(*c.args) for c in missing}
    return {key: d and d | {"svg": clean(d["svg"])} for key, d in drawn.items()}


def page(charts: list[Chart], drawings: dict[str, Drawing]) -> dict:
    """The charts as the template shows them: `change` (a list), `forest` and `recruitment`, each
    {"src": a `data:` image, "svg", "alt", "text"} or None; each chart as `checked` writes it
    again, with the text the blinding checks read. A chart outside the allowlist refuses the report."""
    shown = {"change": []}
    for chart in charts:
        drawing = drawings[chart.key]
        found = None if drawing is None else checked(drawing["svg"])
        if drawing is not None and found is None:
            raise ReportError(
                "a chart of the report cannot be checked (it is not whole SVG, or holds more than shapes "
                "and text); not written.",
                "Its copy in meta.report_charts may have been edited: please report it.",
            )
        image = None if found is None else drawing | {"svg": found[0], "text": found[1], "src": _data_uri(found[0])}
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


SVG_ELEMENTS = {"svg", "g", "defs", "clipPath", "use", "path", "rect", "line", "polyline", "polygon", "circle", "text"}
"""The SVG elements a chart may hold: shapes and text, as runback's charts are drawn. Anything
else (a picture, HTML, a font, a script, a style sheet, a title or description, metadata) refuses
the report: it could show or carry what the checks cannot read."""
SVG_ATTRIBUTES = {
    "id",
    "width",
    "height",
    "viewBox",
    "version",
    "x",
    "y",
    "d",
    "transform",
    "style",
    "clip-path",
    "href",
    "x1",
    "y1",
    "x2",
    "y2",
    "points",
    "cx",
    "cy",
    "r",
    "fill",
    "stroke",
    "stroke-width",
}
"""The attributes a chart's elements may carry (geometry, a reference, an inline style)."""
_SAFE_VALUE = re.compile(r"[A-Za-z0-9_ .,:;#%'()\-]*")
_ID_REFERENCE = re.compile(r"#[A-Za-z0-9_\-]+")
_URL = re.compile(r"url\(([^)]*)\)")
_MATPLOTLIB_EXTRAS = {"metadata", "style"}
"""What matplotlib writes besides shapes and text (its RDF metadata, a style sheet of two line
joins): dropped from a chart as it is drawn, so a kept chart never needs them."""
ET.register_namespace("", "http://www.w3.org/2000/svg")
ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def clean(svg: str) -> str:
    """A chart just drawn, without matplotlib's metadata and style sheet, written again from its
    parsed tree (no comment, no doctype): what is kept and shown."""
    root = ET.fromstring(svg)  # noqa: S314 - matplotlib's output, just drawn
    for parent in list(root.iter()):
        for child in [c for c in parent if _local(c.tag) in _MATPLOTLIB_EXTRAS]:
            parent.remove(child)
    return ET.tostring(root, encoding="unicode")


def checked(svg: str) -> tuple[str, str] | None:
    """A chart as the page may show it: the SVG written again from its parsed tree (so that what is
    shown is what was checked: no comment, no doctype, no entity), and every text it shows or
    carries (its text elements' characters, parts joined, references decoded, and every attribute
    value) for the blinding checks. None for a chart that is not SVG, or holds an element or an
    attribute outside the allowlist (shapes and text), or a value that could load or show more."""
    if "<!ENTITY" in svg:
        return None
    try:
        root = ET.fromstring(svg)  # noqa: S314 - no external entity is loaded; internal ones refused above
    except ET.ParseError:
        return None
    texts = []
    for el in root.iter():
        if _local(el.tag) not in SVG_ELEMENTS:
            return None
        for name, value in el.attrib.items():
            if _local(name) not in SVG_ATTRIBUTES or not _SAFE_VALUE.fullmatch(value):
                return None
            references = _URL.findall(value) + ([value] if _local(name) == "href" else [])
            if not all(_ID_REFERENCE.fullmatch(ref.strip()) for ref in references):
                return None  # it would load something: only a reference within the chart is drawn
            texts.append(value)
        if _local(el.tag) == "text":
            texts.append("".join(el.itertext()))
        elif (el.text or "").strip() or any((c.tail or "").strip() for c in el):
            return None  # characters outside a text element
    return ET.tostring(root, encoding="unicode"), "\n".join(texts)


def keep(con: duckdb.DuckDBPyConnection, drawings: dict[str, Drawing]) -> None:
    """Keep these drawings (inside the caller's transaction; a chart kept meanwhile stays as it is)."""
    for key, drawing in drawings.items():
        con.execute(
            sql("report/keep_chart"),
            {"chart_key": key, "svg": drawing and drawing["svg"], "alt": drawing and drawing["alt"]},
        )
