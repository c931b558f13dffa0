"""The report as people read it: on a phone and a desk screen (no sideways page scroll, wide
tables scroll in their own box), and on paper (a running header, a confidentiality line and
"Page N of M" on every page of the PDF); open and closed, on a trial recruiting at two sites."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from runback.flows.report.blinding import find_revealing
from runback.flows.report.make import print_pdf
from runback.flows.report.render import file_name
from tests.helpers import ARM_LETTER, chromium, report_html, simulated_warehouse

OUT = Path(__file__).resolve().parents[4] / "out"
AUDIENCES = ("open", "closed")


@pytest.fixture(scope="module")
def pages(tmp_path_factory, study) -> dict[tuple[str, str], Path]:
    """The blinded reports of a two-site simulated trial: (timepoint, audience) -> the page."""
    folder = tmp_path_factory.mktemp("layout")
    db, cut = simulated_warehouse(folder, study, participants=60, seed=5, defects=True, nights=4, sites=2)
    found = {}
    for timepoint in ("week_8", "month_6"):
        for audience in AUDIENCES:
            path = folder / file_name(timepoint, cut, True, audience)
            path.write_text(report_html(db, cut, timepoint, audience=audience), encoding="utf-8")
            found[timepoint, audience] = path
    return found


@pytest.mark.parametrize("timepoint", ["week_8", "month_6"])
@pytest.mark.parametrize("audience", AUDIENCES)
def test_both_audiences_have_the_sites_deviations_and_serious_events(pages, timepoint, audience):
    html = pages[timepoint, audience].read_text()
    ids = set(re.findall(r'<section id="([^"]+)"', html))
    assert {
        "consort",
        "conduct",
        "sites",
        "table1",
        "protocol-deviations",
        "adverse-events",
        "serious-adverse-events",
        "missing-data",
        "data-quality",
        "methods",
    } <= ids
    assert "nie_sports_science" in html and "sgh_physiotherapy" in html
    by_arm = {"outcomes", "change-charts", "contrasts", "slopes", "responders"}
    listings = ("deviation-listing" in html, "sae-listing" in html)
    if audience == "open":
        assert not ids & by_arm and listings == (False, False) and not ARM_LETTER.search(html)
    else:
        assert by_arm <= ids and listings == (True, True) and "Arm A" in html


@pytest.mark.browser
@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("audience", AUDIENCES)
def test_no_sideways_scroll_at_phone_and_desk_widths(pages, width, audience):
    with chromium(width) as driver:
        # a headless window is at least 500 px wide: the screen's width is emulated, as a phone's is
        metrics = {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600}
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        driver.get(pages["month_6", audience].as_uri())
        viewport = driver.execute_script("return window.innerWidth")
        assert viewport == width
        scroll = driver.execute_script("return document.documentElement.scrollWidth")
        assert scroll <= viewport, f"the page scrolls sideways at {width} px: {scroll} > {viewport}"
        images = driver.execute_script("return [...document.images].map(i => i.getBoundingClientRect().right)")
        assert max(images) <= viewport + 1
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics | {"height": min(height, 16000)})
        OUT.mkdir(exist_ok=True)
        assert driver.save_screenshot(str(OUT / f"report_month_6_{audience}_{width}px.png"))


@pytest.mark.browser
@pytest.mark.parametrize("audience", AUDIENCES)
def test_every_printed_page_has_the_running_header_and_its_number(pages, audience):
    if not shutil.which("chromium") or not shutil.which("pdftotext"):
        pytest.skip("Debian's chromium and poppler-utils are not installed")
    page = pages["month_6", audience]
    pdf = Path(print_pdf(str(page), "", 1, False, logging.getLogger("runback")))  # printed only, not recorded
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages_ = text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")
    assert len(pages_) >= 3
    said = "OPEN report" if audience == "open" else "CLOSED report · BLINDED"
    for number, content in enumerate(pages_, start=1):
        assert re.search(r"runback · 6 months follow-up · data cut \d+", content), number
        assert said in content and "Confidential" in content, number
        assert f"Page {number} of {len(pages_)}" in content, number
    assert find_revealing(text) == []  # no arm code or name on paper, whatever the audience (blinded)
    if audience == "open":
        assert not ARM_LETTER.search(text), ARM_LETTER.search(text)


def test_the_folder_index_lists_every_report_rendered_with_its_audience(tmp_path, study):
    import duckdb

    from runback.flows.report import make
    from tests.helpers import build_warehouse, randomised

    db = build_warehouse(tmp_path, study, [[randomised(str(i), group=str(i % 3 + 1)) for i in range(1, 10)]])
    out = tmp_path / "out"
    for timepoint, audience in (("week_8", "closed"), ("month_6", "closed"), ("month_6", "open")):
        make.make(make.Request(timepoint=timepoint, audience=audience, out_dir=str(out), db=str(db)))
    index = (out / "index.html").read_text()
    assert index.count('<a href="runback_') == 3 and 'href="runback_week_8_cut1_closed.html"' in index
    assert 'href="runback_month_6_cut1_open.html"' in index and "<td>open</td>" in index
    with duckdb.connect(str(db), read_only=True) as con:
        runs = con.execute("select audience, file_name from meta.report_runs order by run_id").fetchall()
    assert runs[-1] == ("open", "runback_month_6_cut1_open.html")
    page = (out / "runback_month_6_cut1_open.html").read_text()
    assert "<title>Open follow-up report" in page and "OPEN report: pooled over the arms" in page
