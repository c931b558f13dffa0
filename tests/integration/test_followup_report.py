"""Follow-up reports of the simulated trial: every section with the warehouse's numbers, byte-for-
byte reproducible, blinded unless asked otherwise, free text escaped."""

import logging
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from runback.flows.analyse.refresh import refresh_analysis
from runback.flows.ingest.files import find_exports
from runback.flows.ingest.pipeline import ingest_file
from runback.flows.report.make import allocation_arms
from runback.flows.report.render import ReportError, file_name
from runback.flows.settings import PROJECT_DIR
from runback.flows.simulate import simulate
from runback.flows.warehouse import connect
from tests.helpers import build_warehouse, randomised, report_html, simulated_warehouse

LOG = logging.getLogger("runback")
SESSION_KEY = Path(os.environ["RUNBACK_KEY"])  # the key every test warehouse is masked with (conftest)
SECTIONS = [
    "title",
    "consort",
    "conduct",
    "table1",
    "outcomes",
    "change-charts",
    "contrasts",
    "slopes",
    "responders",
    "adherence",
    "adverse-events",
    "missing-data",
    "data-quality",
    "methods",
]


class Cells(HTMLParser):
    """Ids of elements, and the text of table cells with data-* attributes, keyed by them."""

    def __init__(self):
        super().__init__()
        self.ids, self.cells, self._open, self._param = set(), {}, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "table" and "data-param" in attrs:
            self._param = attrs["data-param"]
        if tag == "td" and "data-stat" in attrs:
            self._open = (self._param, attrs["data-arm"], attrs["data-visit"], attrs["data-stat"])
            self.cells[self._open] = ""

    def handle_endtag(self, tag):
        if tag == "td":
            self._open = None

    def handle_data(self, data):
        if self._open:
            self.cells[self._open] += data


def parse(html: str) -> Cells:
    cells = Cells()
    cells.feed(html)
    return cells


@pytest.fixture(scope="module")
def trial(tmp_path_factory, study):
    """A simulated trial ingested night by night (defects included), analysed at the last cut."""
    folder = tmp_path_factory.mktemp("trial")
    db, cut = simulated_warehouse(folder, study, participants=84, seed=5, defects=True, nights=5)
    return db, cut, SESSION_KEY


def _html(db, cut, timepoint, key, blinded=True):
    return report_html(db, cut, timepoint, None if blinded else key)


@pytest.mark.parametrize("timepoint", ["week_8", "month_6"])
def test_every_section_is_there_with_the_warehouses_numbers(trial, timepoint):
    db, cut, key = trial
    html = _html(db, cut, timepoint, key)
    cells = parse(html)
    assert set(SECTIONS) <= cells.ids
    letters = {letter: f"Arm {letter}" for letter in "ABC"}  # the warehouse holds the blinded letters
    visits = ["baseline", "week_4", "week_8"] + (["month_3", "month_6"] if timepoint == "month_6" else [])
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select param, arm, visit, n, mean, sd, chg_n, chg_mean, chg_ci_low, chg_ci_high "
            "from analysis.outcome_summary where data_cut = $cut and param in ('PSFS', 'NPRS_RUN')",
            {"cut": cut},
        ).fetchall()
    checked = 0
    for param, arm, visit, n, mean, sd, chg_n, chg_mean, low, high in rows:
        if visit not in visits:
            assert (param, letters[arm], visit, "value") not in cells.cells
            continue
        assert cells.cells[(param, letters[arm], visit, "value")] == f"{n}, {mean:.2f} ({sd:.2f})"
        if visit != "baseline":
            expected = f"{chg_n}, {chg_mean:+.2f} [{low:+.2f}, {high:+.2f}]".replace("-", "−")
            assert cells.cells[(param, letters[arm], visit, "change")] == expected
        checked += 1
    assert checked == 2 * 3 * len(visits)
    assert f"data cut <strong>{cut}</strong>" in html


def test_rendering_twice_gives_the_same_bytes(trial):
    db, cut, key = trial
    assert _html(db, cut, "month_6", key) == _html(db, cut, "month_6", key)


@pytest.mark.slow
def test_an_earlier_cut_reproduces_after_later_nights(tmp_path, study):
    folder = tmp_path / "exports"
    simulate(folder, participants=40, seed=9, nights=4)
    nights = [e.path for e in find_exports([folder])]
    key = SESSION_KEY
    early = tmp_path / "early.duckdb"
    for path in nights[:2]:
        ingest_file(path, early, PROJECT_DIR)
    with connect(early) as con:
        refresh_analysis(con, study, 2)
    before = _html(early, 2, "week_8", key)
    late = tmp_path / "late.duckdb"
    for path in nights:
        ingest_file(path, late, PROJECT_DIR)
    with connect(late) as con:
        refresh_analysis(con, study, 4)
        refresh_analysis(con, study, 2)  # cut 2 analysed only now, after nights 3 and 4
    assert _html(late, 2, "week_8", key) == before


def test_a_blinded_report_names_no_arm(trial):
    db, cut, key = trial
    for timepoint in ("week_8", "month_6"):
        html = _html(db, cut, timepoint, key)
        text = re.sub(r"data:image/svg\+xml;base64,[A-Za-z0-9+/=]+", "", html)
        for word in ("LL", "LE", "LS"):
            assert not re.search(rf"\b{word}\b", text), word
        for name in (
            "Lower limb",
            "lower limb",
            "Lumbar extensor",
            "lumbar extensor",
            "stabilisation",
            "Stabilisation",
            "leg strengthening",
            "rand_group",
        ):
            assert name not in text, name
        assert "Arm A" in text and "Arm B" in text and "Arm C" in text
        assert "BLINDED" in text and "UNBLINDED" not in text


def test_charts_of_a_blinded_report_name_no_arm(trial):
    import base64

    db, cut, key = trial
    html = _html(db, cut, "month_6", key)
    for chart in re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", html):
        svg = base64.b64decode(chart).decode()
        assert not re.search(r"\b(LL|LE|LS)\b", svg)
        assert "Arm A" in svg or "Difference between arms" in svg or "Recruitment" in svg


def test_an_unblinded_report_needs_the_key_and_says_so(trial):
    db, cut, key = trial
    with pytest.raises(ReportError, match="allocation key"):
        allocation_arms(False, None, str(db), "closed", LOG)
    html = _html(db, cut, "week_8", key, blinded=False)
    assert html.count("UNBLINDED") >= 1 and "LL: Lower limb strengthening" in html
    assert file_name("week_8", cut, False) == f"runback_week_8_cut{cut}_closed_unblinded.html"
    assert file_name("week_8", cut, True, "open") == f"runback_week_8_cut{cut}_open.html"


def test_an_open_report_is_never_unblinded(trial):
    db, _, key = trial
    with pytest.raises(ReportError, match="never unblinded"):
        allocation_arms(False, str(key), str(db), "open", LOG)


def test_free_text_is_escaped(tmp_path, study):
    script = "<script>alert('x')</script> & a fall"
    ae = {
        "record_id": "1",
        "redcap_event_name": "programme_arm_1",
        "redcap_repeat_instrument": "adverse_event",
        "redcap_repeat_instance": "1",
        "ae_onset": "2014-01-20",
        "ae_desc": script,
        "ae_severity": "1",
        "ae_serious": "0",
        "ae_related": "2",
        "adverse_event_complete": "2",
        **{f"ae_action___{c}": "0" for c in ("1", "2", "3", "4", "5", "unk", "nask", "asku", "na")},
    }
    rows = [randomised(str(i), group=str(i % 3 + 1)) for i in range(1, 10)] + [ae]
    db = build_warehouse(tmp_path, study, [rows])
    key = SESSION_KEY
    for blinded in (True, False):
        html = _html(db, 1, "week_8", key, blinded=blinded)
        assert "<script>" not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; a fall" in html


@pytest.mark.browser
@pytest.mark.slow
def test_the_report_loads_in_chromium_without_errors(trial, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.common.by import By

    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    db, cut, key = trial
    page = tmp_path / "report.html"
    page.write_text(_html(db, cut, "month_6", key), encoding="utf-8")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-sync",
        "--disable-background-networking",
        "--disable-component-update",
        "--window-size=1280,1000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.get(page.as_uri())
        for section in SECTIONS:
            element = driver.find_element(By.ID, section)
            assert element.is_displayed(), section
        images = driver.find_elements(By.CSS_SELECTOR, "figure.chart img")
        assert images and all(driver.execute_script("return arguments[0].naturalWidth", i) > 0 for i in images)
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, height)
        out = Path(__file__).resolve().parents[2] / "out"
        out.mkdir(exist_ok=True)
        assert driver.save_screenshot(str(out / "report_month_6_screenshot.png"))
    finally:
        driver.quit()


@pytest.mark.browser
def test_pdf_is_printed_by_chromium(trial, tmp_path):
    from runback.flows.report.make import print_pdf

    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed")
    db, cut, key = trial
    page = tmp_path / file_name("week_8", cut, True)
    page.write_text(_html(db, cut, "week_8", key), encoding="utf-8")
    pdf = Path(print_pdf(str(page), str(db), cut, False, LOG))  # printed only, not recorded
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 50_000


def test_a_warehouse_an_older_runback_wrote_last_is_brought_up_to_date_by_a_report(tmp_path, study, caplog):
    """A report reads the warehouse before it writes its run: a warehouse from before the newest
    migration (here: before report audiences) is migrated first, not failed on."""
    from runback.flows.report import make

    db = build_warehouse(tmp_path, study, [[randomised(str(i), group=str(i % 3 + 1)) for i in range(1, 10)]])
    with duckdb.connect(str(db)) as con:  # as runback wrote it before migration 0013
        con.execute("alter table meta.report_runs drop column audience")
        con.execute("delete from meta.schema_migrations where name = '0013_report_audience'")
    with caplog.at_level("INFO", logger="runback"):
        path, *_ = make.make(make.Request(timepoint="week_8", out_dir=str(tmp_path / "out"), db=str(db)))
    assert "the warehouse was brought up to date: 0013_report_audience" in caplog.text  # before it was read
    assert Path(path).exists()
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select audience from meta.report_runs").fetchall() == [("closed",)]


def test_the_flow_renders_the_report_as_a_prefect_run_and_links_it(tmp_path, study, prefect_harness):
    """The `followup-report` flow as Prefect runs it: the report written, logged and linked from the run."""
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from runback.flows.followup_report import followup_report

    db = build_warehouse(tmp_path, study, [[randomised(str(i), group=str(i % 3 + 1)) for i in range(1, 10)]])
    state = followup_report(
        timepoint="week_8", audience="open", out_dir=str(tmp_path / "out"), db=str(db), return_state=True
    )
    assert state.is_completed() and state.name == "Completed"
    path = state.result()
    assert path == tmp_path / "out" / file_name("week_8", 1, True, "open") and path.exists()
    run = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(run).name == "report week_8 open cut latest"
        links = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run])))
    assert [(a.key, a.data) for a in links] == [("followup-report", f"[{path.name}]({path.resolve().as_uri()})")]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select file_name, audience from meta.report_runs").fetchall() == [(path.name, "open")]


def test_the_flow_refuses_an_unknown_cut_with_a_failed_run(tmp_path, study, prefect_harness):
    from runback.flows.followup_report import followup_report

    db = build_warehouse(tmp_path, study, [[randomised("1")]], analyse=False)
    state = followup_report(
        timepoint="week_8", data_cut=7, out_dir=str(tmp_path / "out"), db=str(db), return_state=True
    )
    assert state.is_failed() and "there is no data cut 7 (the cuts are 1 to 1)" in state.message
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("runback_*"))
