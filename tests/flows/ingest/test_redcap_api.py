"""Pulling the nightly export from the REDCap API: a local HTTP server on 127.0.0.1 answers the
REDCap API protocol (POST form fields `token`, `content`, `format`) from simulated files."""

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import duckdb
import pytest

from runback.flows.ingest import redcap_api
from runback.flows.nightly_ingest import nightly_ingest
from runback.flows.runs import outcome
from runback.flows.settings import PROJECT_DIR
from runback.flows.simulate import simulate

TOKEN = "0123456789ABCDEF0123456789ABCDEF"
PROJECT = PROJECT_DIR


class FakeRedcap:
    """A REDCap API stand-in: answers from files, or with scripted failures first."""

    def __init__(self, records: bytes):
        self.bodies = {
            "record": records,
            "metadata": (PROJECT / "RUNBACK_DataDictionary.csv").read_bytes(),
            "event": (PROJECT / "RUNBACK_Events.csv").read_bytes(),
            "formEventMapping": (PROJECT / "RUNBACK_InstrumentDesignations.csv").read_bytes(),
            "repeatingFormsEvents": (PROJECT / "RUNBACK_RepeatingInstruments.csv").read_bytes(),
        }
        self.failures: list[tuple[int, bytes] | str] = []  # (status, body) or "hang"
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers["Content-Length"])
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                fake.requests.append(form)
                if fake.failures:
                    failure = fake.failures.pop(0)
                    if failure == "hang":
                        time.sleep(1.0)
                        return
                    status, body = failure
                elif form.get("token") != TOKEN:
                    status, body = 403, b"ERROR: You do not have permissions to use the API"
                else:
                    status, body = 200, fake.bodies[form["content"]]
                self.send_response(status)
                self.send_header("Content-Type", "text/csv; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def redcap(tmp_path, monkeypatch):
    sim = simulate(tmp_path / "sim", participants=30, seed=4, nights=2)
    fake = FakeRedcap(sim.files[-1].read_bytes())
    monkeypatch.setenv("RUNBACK_REDCAP_URL", fake.url)
    monkeypatch.setenv("RUNBACK_REDCAP_TOKEN", TOKEN)
    monkeypatch.setattr(redcap_api, "BACKOFF_S", 0.01)
    yield fake
    fake.server.shutdown()


def _pull(tmp_path):
    return redcap_api.pull(redcap_api.configured(), tmp_path / "inbox", redcap_api.dt.datetime(2016, 3, 2, 2, 0))


def test_pull_writes_the_usual_file_names(tmp_path, redcap):
    names = sorted(p.name for p in _pull(tmp_path))
    assert names == sorted([
        "RUNBACK_DATA_2016-03-02_0200.csv", "RUNBACK_DataDictionary_2016-03-02.csv", "RUNBACK_Events_2016-03-02.csv",
        "RUNBACK_InstrumentDesignations_2016-03-02.csv", "RUNBACK_RepeatingInstruments_2016-03-02.csv",
    ])  # fmt: skip
    record = next(r for r in redcap.requests if r["content"] == "record")
    assert (record["format"], record["type"], record["rawOrLabel"]) == ("csv", "flat", "raw")


def test_5xx_and_timeouts_are_retried(tmp_path, redcap, monkeypatch):
    monkeypatch.setattr(redcap_api, "TIMEOUT_S", 0.3)
    redcap.failures = [(503, b"Service Unavailable"), "hang", (502, b"")]
    assert len(_pull(tmp_path)) == 5


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        ((403, b"ERROR: You do not have permissions to use the API"), r"refused the token \(HTTP 403\)"),
        ((401, b""), r"refused the token \(HTTP 401\)"),
        ((200, b'ERROR: The value of the parameter "content" is not valid'), "answered with an error"),
        ((400, b"ERROR: bad request"), r"answered with an error \(HTTP 400\)"),
    ],
)
def test_refusals_stop_with_a_clear_error_and_no_token(tmp_path, redcap, failure, message):
    redcap.failures = [failure]
    with pytest.raises(redcap_api.RedcapApiError, match=message) as err:
        _pull(tmp_path)
    assert TOKEN not in str(err.value) and TOKEN not in repr(redcap_api.configured())
    assert not (tmp_path / "inbox").exists() or not list((tmp_path / "inbox").glob("RUNBACK_DATA_*"))


def test_persistent_timeouts_give_up(tmp_path, redcap, monkeypatch):
    monkeypatch.setattr(redcap_api, "TIMEOUT_S", 0.2)
    redcap.failures = ["hang"] * (redcap_api.RETRIES + 1)
    with pytest.raises(redcap_api.RedcapApiError, match="failed 5 times, last: ReadTimeout"):
        _pull(tmp_path)


def test_the_nightly_flow_pulls_then_ingests_and_never_logs_the_token(
    tmp_path, redcap, monkeypatch, prefect_harness, caplog, capfd
):
    monkeypatch.setenv("RUNBACK_INBOX", str(tmp_path / "inbox"))
    db = tmp_path / "w.duckdb"
    with caplog.at_level(logging.DEBUG):
        results = outcome(nightly_ingest, db=str(db))
    assert [r["status"] for r in results] == ["loaded"]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from clean.randomisation").fetchone()[0] == 30
    out, err = capfd.readouterr()
    assert TOKEN not in caplog.text + out + err

    redcap.failures = [(403, b"ERROR: You do not have permissions to use the API")]
    with pytest.raises(redcap_api.RedcapApiError):
        outcome(nightly_ingest, db=str(db))
    with duckdb.connect(str(db), read_only=True) as con:  # nothing more loaded
        assert con.execute("select count(*) from meta.source_files").fetchone()[0] == 1
    out, err = capfd.readouterr()
    assert TOKEN not in caplog.text + out + err
