"""A night's steps without Prefect (flows/night.py): whether a night is well, and the steps in order."""

import datetime as dt

import pytest

from runback.flows import night
from runback.flows.errors import Refused
from runback.flows.ingest.files import Entry
from runback.flows.ingest.load import LoadResult
from runback.flows.ingest.pipeline import Options
from runback.schemas.file_status import FileStatus
from tests.helpers import randomised, write_export

STALE = "the newest export (RUNBACK_DATA_2014-02-01_0200.csv) is 61 h old, more than 36 h"


def _result(status: FileStatus, name: str = "RUNBACK_DATA_2014-02-02_0200.csv", **kw) -> LoadResult:
    return LoadResult(name, status, message="why", **kw)


@pytest.mark.parametrize("status", [FileStatus.REFUSED, FileStatus.HELD])
def test_a_file_refused_or_held_tonight_needs_a_person(status):
    done = night.Night([_result(FileStatus.LOADED, "a.csv"), _result(status, "b.csv")])
    assert done.problems == ["1 export(s) refused or held: b.csv"]
    assert str(night.NightNotWell(done)).startswith("1 export(s) refused or held: b.csv")


@pytest.mark.parametrize("status", [FileStatus.LOADED, FileStatus.UNCHANGED, FileStatus.OLDER, FileStatus.WAITING])
def test_a_file_applied_older_or_waiting_is_no_problem(status):
    assert night.Night([_result(status)]).problems == []


def test_a_refusal_seen_on_an_earlier_night_is_not_tonights_problem():
    done = night.Night([_result(FileStatus.REFUSED, repeat=True)])
    assert done.tonight == [] and done.problems == []


def test_an_overdue_export_is_a_problem_only_when_nothing_was_applied_tonight():
    assert night.Night([], stale=STALE).problems == [STALE]
    assert night.Night([_result(FileStatus.LOADED, repeat=True)], stale=STALE).problems == [STALE]
    assert night.Night([_result(FileStatus.UNCHANGED)], stale=STALE).problems == []


def test_an_export_time_names_the_time_of_one_file(tmp_path):
    options = Options(export_time=dt.datetime(2014, 2, 1, 2, 0))
    night.check_export_time([Entry(tmp_path / "a.csv")], options)
    with pytest.raises(Refused, match="names the time of one file, but 2 were given"):
        night.check_export_time([Entry(tmp_path / "a.csv"), Entry(tmp_path / "b.csv")], options)
    night.check_export_time([Entry(tmp_path / "a.csv"), Entry(tmp_path / "b.csv")], Options())


def test_a_night_runs_its_steps_in_order_in_this_process(tmp_path, study, monkeypatch):
    monkeypatch.setenv("RUNBACK_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("RUNBACK_MAX_AGE_HOURS", "1000000")  # the exports of 2014 are not overdue here
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_export(inbox, "RUNBACK_DATA_2014-02-01_0200.csv", study, [randomised("1", nprs_run="14")])
    (inbox / "RUNBACK_DATA_2014-02-02_0200.csv").write_text("Record ID,Event Name\n1,Baseline\n")  # labels: refused
    db = tmp_path / "w.duckdb"
    done = night.run([inbox], db, night.settings.PROJECT_DIR)
    assert [(r.file, r.status) for r in done.results] == [
        ("RUNBACK_DATA_2014-02-01_0200.csv", FileStatus.LOADED),
        ("RUNBACK_DATA_2014-02-02_0200.csv", FileStatus.REFUSED),
    ]
    assert done.cut == 1 and done.stale is None
    assert done.listing == tmp_path / "out" / "queries" / "data_queries_cut1.csv" and done.listing.exists()
    assert done.problems == ["1 export(s) refused or held: RUNBACK_DATA_2014-02-02_0200.csv"]
    assert "RUNBACK_DATA_2014-02-02_0200.csv refused:" in done.text
    again = night.run([inbox], db, night.settings.PROJECT_DIR)  # the next night: both seen before
    assert all(r.repeat for r in again.results) and again.tonight == [] and again.problems == []
    assert again.cut is None and again.listing is None
