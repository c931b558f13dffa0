"""Every kind of report as a committee member reads it, on a phone (390 px) and a desk screen: closed
and open, at week 8 and month 6, an unplanned cut, the planned interim look (week 8) and the locked
(FINAL) one, and the unblinded closed pages. Nothing is wider than the screen (long hashes and
file names wrap, a wide table scrolls inside its own box), no word is broken across lines, and
each page opens with its summary and contents; the folder's index fits a phone too. Screenshots of
every page are saved in the test's folder, and in $RUNBACK_SCREENSHOTS when it is set."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import pytest

from runback.flows import settings
from runback.flows.analyse.lock import lock, record_look
from runback.flows.ingest.pipeline import Options
from runback.flows.night import run
from runback.flows.report import make
from runback.flows.simulate import simulate
from runback.flows.warehouse import connect
from tests.helpers import chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEPOINTS = ("week_8", "month_6")
AUDIENCES = ("closed", "open")
LOOKS = ("unplanned", "planned", "locked")
WIDTHS = (390, 1280)

# Elements wider than the screen, unless inside a box that scrolls (or clips) on its own, which must
# itself fit; and words broken across two lines (outside hashes and file names, which may wrap anywhere).
MEASURE = """
const vw = arguments[0];
const scrolls = e => ['auto', 'scroll', 'hidden'].includes(getComputedStyle(e).overflowX);
const inBox = e => { for (let p = e.parentElement; p; p = p.parentElement) if (scrolls(p)) return true; return false; };
const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : '');
const wide = [...document.body.querySelectorAll('*')]
  .filter(e => { const r = e.getBoundingClientRect(); return r.width && (r.right > vw + 1 || r.left < -1); })
  .filter(e => !inBox(e))
  .map(e => name(e) + ' ' + Math.round(e.getBoundingClientRect().right));
const broken = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  if (node.parentElement.closest('.wrap-anywhere, script, style')) continue;
  for (const m of node.textContent.matchAll(/[^\\s\\-\\u2010-\\u2014\\/]+/g)) {
    const range = document.createRange();
    range.setStart(node, m.index);
    range.setEnd(node, m.index + m[0].length);
    const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
    if (lines.size > 1) broken.push(m[0]);
  }
}
const overflowing = [...document.body.querySelectorAll('*')]
  .filter(e => !scrolls(e) && !inBox(e) && e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0)
  .map(e => name(e) + ' ' + e.scrollWidth);
return {scroll: document.documentElement.scrollWidth, viewport: window.innerWidth,
        wide: wide.concat(overflowing).slice(0, 10),
        broken: broken.slice(0, 10), height: document.documentElement.scrollHeight,
        body: parseFloat(getComputedStyle(document.body).fontSize),
        charts: [...document.images].filter(i => i.src.startsWith('data:image/svg'))
                  .map(i => ({src: i.src, width: i.getBoundingClientRect().width}))};
"""


def chart_text(seen: dict) -> list[str]:
    """Charts whose text is not near the body's size as shown (an SVG unit is scaled to the image's width)."""
    found = []
    for chart in seen["charts"]:
        svg = base64.b64decode(chart["src"].split(",", 1)[1]).decode()
        view = float(re.search(r'viewBox="0 0 ([\d.]+)', svg)[1])
        sizes = {float(s) for s in re.findall(r"font-size: ([\d.]+)px", svg)}
        if not sizes:
            found.append("a chart without text")
        for size in sizes:
            shown = size * chart["width"] / view
            if not 0.8 * seen["body"] <= shown <= 1.1 * seen["body"]:
                found.append(f"chart text at {shown:.1f} px, the body at {seen['body']:.0f} px")
    return sorted(set(found))


def measure(driver, path: Path, width: int) -> tuple[list[str], dict]:
    """What is wrong with the page at this screen width, and its measures."""
    # a headless window is at least 500 px wide: the screen's width is emulated, as a phone's is
    metrics = {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    driver.get(path.as_uri())
    seen = driver.execute_script(MEASURE, width)
    problems = [] if max(seen["scroll"], seen["viewport"]) <= width else [f"{seen['scroll']} px wide"]
    problems += [f"wider than the screen: {w}" for w in seen["wide"]]
    problems += [f"a word broken across lines: {w}" for w in seen["broken"]]
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics | {"height": min(seen["height"], 16000)})
    return problems + chart_text(seen), seen


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """Every report kind of one small simulated trial at two sites: its name -> its page. The unplanned
    reports are of the middle night's cut, made before any lock; then both timepoints are locked at
    the newest cut (forced where not everyone has reached them), whose reports are FINAL."""
    root = tmp_path_factory.mktemp("report_layout")
    exports, db, key = root / "exports", root / "w.duckdb", root / "keys" / "allocation.key"
    simulate(exports, participants=24, seed=5, nights=3, sites=2)
    found = {}
    with settings.use_trial(settings.Trial("", db, exports, root / "out", key)):
        run([exports], db, settings.PROJECT_DIR, Options(key=key))
        for look, cut in (("unplanned", 2), ("planned", 2), ("locked", 3)):
            with connect(db) as con:
                if look == "planned":  # the plan's interim look is at week 8 only
                    record_look(con, "week_8", cut)
                for timepoint in TIMEPOINTS if look == "locked" else ():
                    lock(con, timepoint, cut, force=True, reason="the committee's meeting")
            for timepoint in TIMEPOINTS if look != "planned" else ("week_8",):
                for audience in AUDIENCES:
                    request = make.Request(timepoint, audience, cut, out_dir=str(root / look), db=str(db))
                    found[f"{timepoint}_{audience}_{look}"] = make.make(request)[0]
            if look != "unplanned":  # with the allocation: the hypotheses' decisions
                folder = str(root / look)
                request = make.Request("week_8", blinded=False, key=str(key), data_cut=cut, out_dir=folder, db=str(db))
                found[f"week_8_closed_unblinded_{look}"] = make.make(request)[0]
    return found


def test_each_kind_says_its_look_and_opens_with_a_summary_and_contents(pages):
    for kind, path in pages.items():
        html = path.read_text()
        look = kind.rsplit("_", 1)[-1]
        assert re.findall(r'data-look="(\w+)"', html) == [{"locked": "final"}.get(look, look)], kind
        top = html[: html.index('<section id="consort"')]
        assert 'id="summary"' in top and 'id="contents"' in top, kind
        sections = re.findall(r'<section id="([^"]+)"', html)
        contents = re.findall(r'<a href="#([^"]+)"', top)
        assert contents == [s for s in sections if s != "summary"], kind
        assert "[suppressed" not in html, kind  # the closed report withholds nothing the open one shows
        listing = re.search(
            r'class="compact sae-listing">\s*<thead><tr><th scope="col">Participant</th><th scope="col">Arm', html
        )
        assert bool(listing) == ("closed" in kind), kind


def test_no_raw_codes_and_no_primary_results_promised_where_there_are_none(pages):
    for kind, path in pages.items():
        html = re.sub(r"<style>.*?</style>", "", path.read_text(), flags=re.S)
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
        assert not re.search(r"\b(week_4|week_8|month_3|month_6|NPRS_RUN)\b", text), kind
        primary = ("Holm", "primary results", "primary MMRM", "primary hypotheses", "group-sequential")
        if kind.startswith("month_6"):  # week 8 is the one primary timepoint
            assert not [p for p in primary if p in text] and '<span class="tag">primary' not in html, kind
        elif "closed" in kind and "unplanned" in kind:  # descriptive: no test, so nothing of the primary test
            assert "primary MMRM" in text and "Descriptive:" in text and "Holm: p" not in text, kind
        elif "closed" in kind:
            assert all(p in text for p in primary), kind


def test_no_page_is_wider_than_a_phone_and_no_word_breaks(pages, tmp_path):
    shots = [tmp_path] + ([Path(os.environ["RUNBACK_SCREENSHOTS"])] if os.environ.get("RUNBACK_SCREENSHOTS") else [])
    problems = []
    index = pages["week_8_closed_locked"].with_name("index.html")  # the folder's list of reports
    with chromium(1280) as driver:
        for kind, path in [*pages.items(), ("index", index)]:
            for width in WIDTHS:
                found, _ = measure(driver, path, width)
                problems += [f"{kind} at {width} px: {p}" for p in found]
                for folder in shots:
                    folder.mkdir(parents=True, exist_ok=True)
                    assert driver.save_screenshot(str(folder / f"{kind}_{width}px.png"))
    assert not problems, "\n".join(problems)
    assert len(list(tmp_path.glob("*.png"))) == (len(pages) + 1) * len(WIDTHS)
