"""A chart is shown only as shapes and text from an allowlist, written again from its parsed tree,
with every text it shows or carries read by the blinding checks (flows/report/kept_charts.py)."""

import pytest

from runback.flows.report import kept_charts
from runback.flows.report.blinding import find_revealing
from runback.flows.report.render import ReportError

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10pt" '
    'height="10pt" viewBox="0 0 10 10" version="1.1"><defs><clipPath id="p1"><rect x="0" y="0" width="10" '
    'height="10"/></clipPath></defs><g id="figure_1"><path d="M 0 0 L 5 5" style="fill: none; stroke: '
    '#1f77b4" clip-path="url(#p1)"/><use xlink:href="#p1" x="1" y="2"/>{inside}<text x="1" y="1" '
    "style=\"font: 10px 'DejaVu Sans'\">Arm A</text></g></svg>"
)


def test_a_chart_of_shapes_and_text_is_shown_with_its_text():
    svg, text = kept_charts.checked(SVG.format(inside=""))
    assert "Arm A" in text and "<text" in svg


@pytest.mark.parametrize(
    "inside",
    [
        "<desc>Lumbar stabilisation</desc>",
        "<title>LS</title>",
        "<style>text::after { content: 'LS' }</style>",
        '<image href="data:image/png;base64,AAAA" width="1" height="1"/>',
        "<foreignObject><p>LS</p></foreignObject>",
        "<script>alert(1)</script>",
        '<a href="https://example.org"><text>x</text></a>',
        '<path d="M 0 0" onload="alert(1)"/>',
        '<path d="M 0 0" style="fill: url(https://example.org/x)"/>',
        '<use href="https://example.org/x.svg#a"/>',
        "<g>LS</g>",
    ],
)
def test_anything_beyond_shapes_and_text_refuses_the_chart(inside):
    assert kept_charts.checked(SVG.format(inside=inside)) is None


def test_a_comment_is_not_carried_and_an_attribute_is_read():
    svg, _ = kept_charts.checked(SVG.format(inside="<!-- Lumbar stabilisation is arm A -->"))
    assert "stabilisation" not in svg  # what is shown is what was checked: written again, without it
    _, text = kept_charts.checked(SVG.format(inside='<path id="LS-arm" d="M 0 0"/>'))
    assert find_revealing(text) == ["LS"]


def test_an_entity_or_broken_svg_refuses_the_chart():
    assert kept_charts.checked('<!DOCTYPE svg [<!ENTITY a "LS">]><svg>&a;</svg>') is None
    assert kept_charts.checked(SVG.format(inside="")[:-20]) is None


def test_a_page_with_a_chart_outside_the_allowlist_is_refused():
    chart = kept_charts.Chart("forest", "forest", ())
    with pytest.raises(ReportError, match="cannot be checked"):
        kept_charts.page([chart], {chart.key: {"svg": SVG.format(inside="<desc>x</desc>"), "alt": "a"}})
