"""The report as people read it: on a phone and a desk screen (no sideways page scroll, wide
tables scroll in their own box), and on paper (a running header, a confidentiality line and
"Page N of M" on every page of the PDF)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from runback.flows.followup_report import allocation_arms, draw, file_name, gather, print_pdf, render
from tests.helpers import simulated_warehouse

OUT = Path(__file__).resolve().parents[3] / "out"


@pytest.fixture(scope="module")
def page(tmp_path_factory, study) -> Path:
    folder = tmp_path_factory.mktemp("layout")
    db, cut = simulated_warehouse(folder, study, participants=60, seed=5, defects=True, nights=4)
    context = gather.fn(str(db), cut, "month_6", allocation_arms.fn(True, None, str(db)))
    path = folder / file_name("month_6", cut, True)
    path.write_text(render.fn(context, draw.fn(context)), encoding="utf-8")
    return path


@pytest.mark.browser
@pytest.mark.parametrize("width", [390, 1280])
def test_no_sideways_scroll_at_phone_and_desk_widths(page, width):
    from selenium import webdriver

    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                 f"--window-size={width},900"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(shutil.which("chromedriver")))
    try:
        # a headless window is at least 500 px wide: the screen's width is emulated, as a phone's is
        metrics = {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600}
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        driver.get(page.as_uri())
        viewport = driver.execute_script("return window.innerWidth")
        assert viewport == width
        scroll = driver.execute_script("return document.documentElement.scrollWidth")
        assert scroll <= viewport, f"the page scrolls sideways at {width} px: {scroll} > {viewport}"
        images = driver.execute_script("return [...document.images].map(i => i.getBoundingClientRect().right)")
        assert max(images) <= viewport + 1
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics | {"height": min(height, 16000)})
        OUT.mkdir(exist_ok=True)
        assert driver.save_screenshot(str(OUT / f"report_month_6_{width}px.png"))
    finally:
        driver.quit()


@pytest.mark.browser
def test_every_printed_page_has_the_running_header_and_its_number(page):
    if not shutil.which("chromium") or not shutil.which("pdftotext"):
        pytest.skip("Debian's chromium and poppler-utils are not installed")
    pdf = Path(print_pdf.fn(str(page)))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")
    assert len(pages) >= 3
    for number, content in enumerate(pages, start=1):
        assert re.search(r"runback · 6 months follow-up · data cut \d+", content), number
        assert "BLINDED" in content and "Confidential" in content, number
        assert f"Page {number} of {len(pages)}" in content, number


def test_the_folder_index_lists_every_report_rendered(tmp_path, study):
    from runback.flows.followup_report import followup_report
    from tests.helpers import build_warehouse, randomised

    db = build_warehouse(tmp_path, study, [[randomised(str(i), group=str(i % 3 + 1)) for i in range(1, 10)]])
    out = tmp_path / "out"
    for timepoint in ("week_8", "month_6"):
        followup_report.fn(timepoint=timepoint, out_dir=str(out), db=str(db))
    index = (out / "index.html").read_text()
    assert index.count("<tr><td>") == 2 and 'href="runback_week_8_cut1.html"' in index
    assert 'href="runback_month_6_cut1.html"' in index and "blinded" in index
