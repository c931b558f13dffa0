"""Pulling the nightly export from the REDCap API, against the REDCap stand-in
(`tests/redcap_stand_in.py`, a real HTTP server on 127.0.0.1): the usual files, retries, clear
refusals, and a careful pull (https only, the token never shown or saved, size cap, deadline,
content type and shape checked, nothing in place until the whole pull arrived)."""

from __future__ import annotations

import logging
import urllib.parse

import duckdb
import pytest

from runback.flows.ingest import redcap_api
from runback.flows.ingest.read import read_export
from runback.flows.nightly_ingest import nightly_ingest
from runback.flows.simulate import simulate
from tests.helpers import SAMPLES
from tests.redcap_stand_in import serve, tidier_project, trial_project

TOKEN = "0123456789ABCDEF0123456789ABCDEF"
TIDIER = "FEDCBA9876543210FEDCBA9876543210"
WHEN = redcap_api.dt.datetime(2016, 3, 2, 2, 0)
TRIAL_FILES = sorted(
    [
        "RUNBACK_DATA_2016-03-02_0200.csv",
        "RUNBACK_DataDictionary_2016-03-02.csv",
        "RUNBACK_Events_2016-03-02.csv",
        "RUNBACK_InstrumentDesignations_2016-03-02.csv",
        "RUNBACK_RepeatingInstruments_2016-03-02.csv",
    ]
)


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    sim = simulate(tmp_path_factory.mktemp("sim"), participants=30, seed=4, nights=1)
    return sim.files[-1].read_bytes()


@pytest.fixture
def redcap(records, monkeypatch):
    projects = {TOKEN: trial_project(records)}
    if SAMPLES.exists():
        projects[TIDIER] = tidier_project()
    stand_in = serve(projects)
    monkeypatch.setenv("RUNBACK_REDCAP_URL", stand_in.url)
    monkeypatch.setenv("RUNBACK_REDCAP_TOKEN", TOKEN)
    monkeypatch.setattr(redcap_api, "BACKOFF_S", 0.01)
    yield stand_in
    stand_in.close()


def _pull(tmp_path, token=TOKEN, url=None):
    connection = redcap_api.Connection(url or redcap_api.configured().url, token)
    return redcap_api.pull(connection, tmp_path / "inbox", WHEN)


def _inbox(tmp_path) -> list[str]:
    folder = tmp_path / "inbox"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# -- the usual pull ----------------------------------------------------------------------------------------
def test_pull_writes_the_usual_file_names(tmp_path, redcap):
    assert sorted(p.name for p in _pull(tmp_path)) == TRIAL_FILES
    assert _inbox(tmp_path) == TRIAL_FILES  # and no temporary file left behind
    record = redcap.calls("record")[0]
    assert (record["format"], record["type"], record["rawOrLabel"]) == ("csv", "flat", "raw")
    assert [r["content"] for r in redcap.requests][-1] == "record"


def test_the_api_shaped_export_has_no_missing_code_columns_and_reads(tmp_path, redcap, study):
    _pull(tmp_path)
    data = (tmp_path / "inbox" / TRIAL_FILES[0]).read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf") and b"___unk" not in data.split(b"\n")[0]
    assert read_export(tmp_path / "inbox" / TRIAL_FILES[0], study).missing_code_columns == "absent"


@pytest.mark.skipif(not SAMPLES.exists(), reason="../shared/redcap-samples is absent")
def test_a_classic_project_pulls_no_events_and_its_recorded_answers_ingest(tmp_path, redcap):
    pulled = sorted(p.name for p in _pull(tmp_path, token=TIDIER))
    assert pulled == sorted(
        [
            "RUNBACK_DATA_2016-03-02_0200.csv",
            "RUNBACK_DataDictionary_2016-03-02.csv",
            "RUNBACK_RepeatingInstruments_2016-03-02.csv",
        ]
    )
    assert not redcap.calls("event") and not redcap.calls("formEventMapping")
    assert (tmp_path / "inbox" / pulled[0]).read_bytes() == (SAMPLES / "REDCapTidieR/api-c18c2c-POST.csv").read_bytes()
    from runback.flows.ingest.pipeline import ingest_file

    inbox = tmp_path / "inbox"
    result = ingest_file(str(inbox / pulled[0]), str(tmp_path / "w.duckdb"), str(inbox))
    assert result.status == "loaded", result
    data_rows = (inbox / pulled[0]).read_bytes().count(b"\n") - 1
    assert result.rows == data_rows
    for form, counts in result.forms.items():
        assert counts["rows_in"] == counts["loaded"] + counts["quarantined"], form


def test_the_stand_in_answers_like_redcap(redcap):
    import httpx

    def post(**form):
        return httpx.post(redcap.url, data=form)

    assert post(token="bad", content="record", format="csv").status_code == 403
    bad = post(token=TOKEN, content="nonsense", format="csv", returnFormat="json")
    assert bad.status_code == 400 and bad.json() == {"error": 'The value of the parameter "content" is not valid'}
    assert post(token="bad", content="record", returnFormat="csv").text.startswith("ERROR: ")
    assert "<hash><error>" in post(token="bad", content="record").text  # returnFormat defaults to xml
    assert post(token=TOKEN, content="version", format="csv").text == "15.7.6"
    meta = post(token=TOKEN, content="metadata", format="json").json()
    assert list(meta[0])[:3] == ["field_name", "form_name", "section_header"]
    assert post(token=TOKEN, content="project", format="json").json()["is_longitudinal"] == "1"
    assert post(token=TOKEN, content="event", format="csv").text.startswith("event_name,arm_num,")
    if SAMPLES.exists():
        assert post(token=TIDIER, content="event", format="csv", returnFormat="json").status_code == 400


# -- retries and refusals ------------------------------------------------------------------------------------
def test_5xx_timeouts_and_cut_bodies_are_retried(tmp_path, redcap, monkeypatch):
    monkeypatch.setattr(redcap_api, "TIMEOUT_S", 0.3)
    redcap.script(
        ("status", 503, b"Service Unavailable"), ("hang", 1.0), ("status", 502, b""), ("cut", {"content": "record"})
    )
    assert len(_pull(tmp_path)) == 5
    assert len(redcap.calls("record")) == 2


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (("status", 403, b"ERROR: You do not have permissions to use the API"), r"refused the token \(HTTP 403\)"),
        (("status", 401, b""), r"refused the token \(HTTP 401\)"),
        (("status", 200, b'ERROR: The value of the parameter "content" is not valid'), "answered with an error"),
        (("status", 400, b"ERROR: bad request"), r"answered with an error \(HTTP 400\)"),
    ],
)
def test_refusals_stop_with_a_clear_error_and_no_token(tmp_path, redcap, failure, message):
    redcap.script(failure + ({"content": "metadata"},))
    with pytest.raises(redcap_api.RedcapApiError, match=message) as err:
        _pull(tmp_path)
    assert TOKEN not in str(err.value) and TOKEN not in repr(redcap_api.configured())
    assert _inbox(tmp_path) == []


def test_persistent_timeouts_give_up(tmp_path, redcap, monkeypatch):
    monkeypatch.setattr(redcap_api, "TIMEOUT_S", 0.2)
    redcap.script(*[("hang", 0.6)] * (redcap_api.RETRIES + 1))
    with pytest.raises(redcap_api.RedcapApiError, match="failed 5 times, last: ReadTimeout"):
        _pull(tmp_path)


# -- a careful pull ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "http://redcap.example.org/api/",
        "ftp://redcap.example.org/api/",
        "redcap.example.org/api/",
        "http://10.0.0.5/api/",
        "http://127.0.0.1.example.org/api/",
    ],
)
def test_only_https_or_loopback_is_accepted(tmp_path, url, monkeypatch):
    monkeypatch.setenv("RUNBACK_REDCAP_URL", url)
    monkeypatch.setenv("RUNBACK_REDCAP_TOKEN", TOKEN)
    with pytest.raises(redcap_api.RedcapApiError, match="not an https:// address"):
        redcap_api.configured()
    with pytest.raises(redcap_api.RedcapApiError, match="not an https:// address"):
        redcap_api.pull(redcap_api.Connection(url, TOKEN), tmp_path / "inbox", WHEN)
    for fine in ("https://redcap.example.org/api/", "http://127.0.0.1:8080/api/", "http://[::1]/api/"):
        redcap_api.check_url(fine)


@pytest.mark.parametrize(
    "variant", [str.lower, str.upper, lambda t: urllib.parse.quote_plus(t), lambda t: t[:8].lower() + t[8:]]
)
def test_the_token_is_redacted_in_any_case_and_encoding(variant):
    text = f"server said: bad token {variant(TOKEN)} in request"
    assert redcap_api.redact(text, TOKEN) == "server said: bad token <token> in request"
    token = "ab/c+d=e&f"  # a token with characters URL encoding changes
    for form in (token, urllib.parse.quote(token, safe=""), urllib.parse.quote_plus(token).upper()):
        assert "<token>" in redcap_api.redact(f"x {form} y", token) and form not in redcap_api.redact(form, token)


def test_an_error_body_that_echoes_the_token_lower_cased_is_redacted(tmp_path, redcap, caplog):
    body = f"ERROR: invalid token {TOKEN.lower()}".encode()
    redcap.script(("status", 400, body, {"content": "metadata"}))
    with caplog.at_level(logging.DEBUG), pytest.raises(redcap_api.RedcapApiError) as err:
        _pull(tmp_path)
    assert TOKEN.lower() not in str(err.value).lower() and "<token>" in str(err.value)
    assert TOKEN.lower() not in caplog.text.lower()


def test_a_200_answer_that_echoes_the_token_is_not_saved(tmp_path, redcap):
    redcap.script(("echo", {"content": "record"}))
    with pytest.raises(redcap_api.RedcapApiError, match="contains the API token; it was not saved") as err:
        _pull(tmp_path)
    assert TOKEN.lower() not in str(err.value).lower()
    assert _inbox(tmp_path) == []  # no export, no project file, no temporary file


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (("redirect", "https://login.example.org/sso?next=/api/"), r"redirect \(HTTP 302 to https://login"),
        (("html",), "an HTML page"),
        (("json",), "JSON where CSV was asked"),
    ],
)
def test_redirects_html_and_json_are_refused_before_saving(tmp_path, redcap, failure, message):
    redcap.script(failure + ({"content": "record"},))
    with pytest.raises(redcap_api.RedcapApiError, match=message):
        _pull(tmp_path)
    assert _inbox(tmp_path) == []
    assert len(redcap.calls("record")) == 1  # not retried, not followed


def test_an_answer_that_is_not_the_content_asked_for_is_refused(tmp_path, redcap):
    redcap.script(("status", 200, b"arm_num,name\n1,Arm 1\n", {"content": "metadata"}))
    with pytest.raises(redcap_api.RedcapApiError, match="header lacks 'field_name'"):
        _pull(tmp_path)
    redcap.script(("status", 200, b"study_id,x\n1,2\n", {"content": "record"}))
    with pytest.raises(redcap_api.RedcapApiError, match="header lacks 'record_id'"):
        _pull(tmp_path)
    assert _inbox(tmp_path) == []


def test_an_answer_over_the_size_cap_is_refused_while_streaming(tmp_path, redcap, monkeypatch):
    monkeypatch.setenv("RUNBACK_REDCAP_MAX_MB", "1")
    redcap.script(("huge", 8 << 20, {"content": "record"}))
    with pytest.raises(redcap_api.RedcapApiError, match="larger than 1 MB; nothing was saved"):
        _pull(tmp_path)
    assert _inbox(tmp_path) == []


def test_a_slow_drip_is_cut_off_at_the_deadline(tmp_path, redcap, monkeypatch):
    monkeypatch.setenv("RUNBACK_REDCAP_DEADLINE_S", "1.5")
    redcap.script(("drip", 0.05, {"content": "record"}))
    started = redcap_api.time.monotonic()
    with pytest.raises(redcap_api.RedcapApiError, match="longer than its deadline"):
        _pull(tmp_path)
    assert redcap_api.time.monotonic() - started < 5
    assert _inbox(tmp_path) == []


def test_a_stalled_answer_is_cut_off_at_the_deadline(tmp_path, redcap, monkeypatch):
    """A server that answers nothing for longer than the whole pull may take: the pull stops at
    its deadline (within a few seconds), not after the per-request timeout or the retries."""
    monkeypatch.setenv("RUNBACK_REDCAP_DEADLINE_S", "2")
    redcap.script(*[("hang", 30, {"content": "record"})] * 4)
    started = redcap_api.time.monotonic()
    with pytest.raises(redcap_api.RedcapApiError, match="longer than its deadline"):
        _pull(tmp_path)
    assert redcap_api.time.monotonic() - started < 5
    assert _inbox(tmp_path) == []


@pytest.mark.parametrize("value", ["0", "-3", "lots"])
def test_bad_limit_settings_name_the_variable(tmp_path, redcap, monkeypatch, value):
    monkeypatch.setenv("RUNBACK_REDCAP_MAX_MB", value)
    with pytest.raises(redcap_api.RedcapApiError, match="RUNBACK_REDCAP_MAX_MB"):
        _pull(tmp_path)


# -- end to end -----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_nightly_flow_pulls_then_ingests_and_never_logs_the_token(
    tmp_path, redcap, monkeypatch, prefect_harness, caplog, capfd
):
    monkeypatch.setenv("RUNBACK_INBOX", str(tmp_path / "inbox"))
    db = tmp_path / "w.duckdb"
    with caplog.at_level(logging.DEBUG):
        night = nightly_ingest(db=str(db))
    assert [r.status for r in night.results] == ["loaded"]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from clean.randomisation").fetchone()[0] > 0
        assert con.execute("select missing_code_columns from meta.file_inputs").fetchall() == [("absent",)]
    out, err = capfd.readouterr()
    assert TOKEN.lower() not in (caplog.text + out + err).lower()

    redcap.script(("status", 403, b"ERROR: You do not have permissions to use the API"))
    with pytest.raises(redcap_api.RedcapApiError):
        nightly_ingest(db=str(db))
    with duckdb.connect(str(db), read_only=True) as con:  # nothing more loaded
        assert con.execute("select count(*) from meta.source_files").fetchone()[0] == 1
    out, err = capfd.readouterr()
    assert TOKEN.lower() not in (caplog.text + out + err).lower()
