"""Ingesting one file (`flows/ingest/pipeline.py`): the deletion guard, the order of exports, the allocation key."""

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from runback.flows import allocation
from runback.flows.ingest import load
from runback.flows.ingest.files import EntryHeld, ExportFile
from runback.flows.ingest.pipeline import check_order
from runback.flows.settings import PROJECT_DIR
from runback.schemas.file_status import FileStatus
from tests.helpers import ingest, randomised, screened, session, write_export

NIGHT_ONE = [randomised("1"), session("1", 1), session("1", 2), randomised("2", group="2")]


def _ingest(folder: Path, study, day: int, rows: list[dict], **options) -> dict:
    path = write_export(folder, f"RUNBACK_DATA_2014-02-{day:02d}_0200.csv", study, rows)
    return vars(ingest(path, folder / "w.duckdb", PROJECT_DIR, **options))  # the result's fields by name


@pytest.fixture
def loaded(tmp_path, study) -> Path:
    """A warehouse holding night one: two participants, the first with two sessions."""
    assert _ingest(tmp_path, study, 1, NIGHT_ONE)["status"] == FileStatus.LOADED
    return tmp_path


# -- the deletion guard ----------------------------------------------------------------------------
def test_a_snapshot_without_one_repeat_instance_is_refused(loaded, study):
    """Session 2 of record 1 is gone while session 1 stays: the instance is part of the key."""
    result = _ingest(loaded, study, 2, [randomised("1"), session("1", 1), randomised("2", group="2")])
    assert result["status"] == FileStatus.REFUSED
    assert result["message"] == (
        "RUNBACK_DATA_2014-02-02_0200.csv: 1 form row(s) in the warehouse are missing from this snapshot (0 whole "
        "record(s) among them): session_log 1 programme_arm_1#2. A truncated, filtered or half-written export? "
        "Export 'All data' again; if the rows were deleted in REDCap on purpose, run the ingest with "
        "--accept-deletions."
    )


def test_a_snapshot_without_a_whole_record_names_it_as_one(loaded, study):
    result = _ingest(loaded, study, 2, NIGHT_ONE[:3])
    assert result["status"] == FileStatus.REFUSED
    assert (
        "3 form row(s) in the warehouse are missing from this snapshot (1 whole record(s) among them)"
        in (result["message"])
    )
    assert (
        "nprs 2 baseline_arm_1#1, randomisation 2 baseline_arm_1#1, screening 2 baseline_arm_1#1."
        in (result["message"])
    )


def test_a_long_list_of_missing_rows_shows_eight_and_counts_the_rest(tmp_path, study):
    people = [randomised(str(i)) for i in range(1, 5)]  # three form rows each
    assert _ingest(tmp_path, study, 1, people)["status"] == FileStatus.LOADED
    result = _ingest(tmp_path, study, 2, people[:1])
    assert "9 form row(s)" in result["message"] and "(3 whole record(s) among them)" in result["message"]
    assert result["message"].count("baseline_arm_1#1") == 8
    assert "#1 and 1 more. A truncated" in result["message"]


def test_exactly_eight_missing_rows_are_all_shown(tmp_path, study):
    rows = [randomised("1")] + [session("1", i) for i in range(1, 10)]
    assert _ingest(tmp_path, study, 1, rows)["status"] == FileStatus.LOADED
    result = _ingest(tmp_path, study, 2, rows[:2])
    assert "8 form row(s)" in result["message"] and "#9. A truncated" in result["message"]
    assert "more" not in result["message"]


def test_deletions_load_when_accepted(loaded, study):
    result = _ingest(loaded, study, 2, NIGHT_ONE[:2], accept_deletions=True)
    assert result["status"] == FileStatus.LOADED


def test_a_row_deleted_on_purpose_is_not_missing_from_later_snapshots(loaded, study):
    assert _ingest(loaded, study, 2, NIGHT_ONE[:2], accept_deletions=True)["status"] == FileStatus.LOADED
    assert _ingest(loaded, study, 3, [*NIGHT_ONE[:2], session("1", 1, sess_rpe="7")])["status"] == FileStatus.LOADED


def test_a_snapshot_holding_every_row_and_more_loads(loaded, study):
    result = _ingest(loaded, study, 2, [*NIGHT_ONE, session("1", 3)])
    assert result["status"] == FileStatus.LOADED


def test_a_row_quarantined_for_its_place_is_not_missing(loaded, study):
    """Session 1 twice (a duplicate key: both copies quarantined) is still in the snapshot."""
    rows = [*NIGHT_ONE, session("1", 1, sess_rpe="6")]
    result = _ingest(loaded, study, 2, rows)
    assert result["status"] == FileStatus.LOADED and result["forms"]["session_log"]["quarantined"] == 2


def test_a_row_quarantined_for_an_instance_that_is_no_number_is_no_key(loaded, study):
    rows = [*NIGHT_ONE, session("1", "x")]
    result = _ingest(loaded, study, 2, rows)
    assert result["status"] == FileStatus.LOADED and result["forms"]["session_log"]["quarantined"] == 1


def test_a_record_whose_only_row_is_quarantined_is_not_a_whole_record_gone(loaded, study):
    """Record 2 is still in the file (on a row without an instance): its rows are missing, not the record."""
    stray = session("2", 1, redcap_repeat_instance="")
    result = _ingest(loaded, study, 2, [*NIGHT_ONE[:3], stray])
    assert result["status"] == FileStatus.REFUSED
    assert (
        "3 form row(s) in the warehouse are missing from this snapshot (0 whole record(s) among them)"
        in (result["message"])
    )


# -- the order of exports --------------------------------------------------------------------------
def test_an_export_as_new_as_the_latest_with_the_same_bytes_is_seen_before(loaded, study):
    again = _ingest(loaded, study, 1, NIGHT_ONE)
    assert again["status"] == FileStatus.LOADED and again["repeat"]


A_TIME = dt.datetime(2014, 2, 1, 2, 0)


def _prior(*applied: dt.datetime) -> load.Prior:
    return load.Prior(None, max(applied, default=None), frozenset(applied), None)


def _file(name: str = "RUNBACK_DATA_2014-02-01_0200.csv", when: dt.datetime | None = A_TIME) -> ExportFile:
    return ExportFile(Path(name), "0" * 64, 10, when)


def test_an_export_of_a_new_time_is_in_order():
    check_order(_file(), _prior(A_TIME - dt.timedelta(days=1)), None)
    check_order(_file(), _prior(), None)


def _held(file: ExportFile, known: load.Prior, conflict: str | None = None) -> str:
    with pytest.raises(EntryHeld) as held:
        check_order(file, known, conflict)
    return str(held.value)


NAME_THE_TIME = (
    "Check which export is the newer; apply this one with `runback ingest --export-time 'YYYY-MM-DD HH:MM' FILE`, "
    "or remove it."
)


def test_an_export_claiming_the_time_of_an_applied_one_is_held():
    assert _held(_file(), _prior(A_TIME - dt.timedelta(days=1), A_TIME)) == (
        "RUNBACK_DATA_2014-02-01_0200.csv: an export with other contents and the same time (2014-02-01 02:00) was "
        f"applied already; which of the two is newer cannot be known. {NAME_THE_TIME}"
    )


def test_an_export_without_a_time_is_held_once_exports_are_applied():
    check_order(_file("data.csv", None), _prior(), None)
    assert _held(_file("data.csv", None), _prior(A_TIME)) == (
        "data.csv: its name carries no export time, so it cannot be ordered among the exports already applied (it "
        f"may be older than they are). {NAME_THE_TIME}"
    )


def test_an_export_another_file_claims_the_time_of_is_held():
    assert _held(_file(), _prior(), "two files claim it.") == (
        f"RUNBACK_DATA_2014-02-01_0200.csv: two files claim it. {NAME_THE_TIME}"
    )


def test_a_time_named_by_the_user_orders_the_file():
    named = _file("data.csv", None).with_export_time(A_TIME)
    check_order(named, _prior(A_TIME), "two files claim it")


# -- the allocation key at intake ------------------------------------------------------------------
def _allocation(db: Path) -> dict[str, str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute("select record_id, rand_group from clean.randomisation").fetchall())


def test_the_first_randomisation_makes_the_key_and_only_letters_are_stored(tmp_path, study):
    key = tmp_path / "keys" / "allocation.key"
    assert _ingest(tmp_path, study, 1, [screened("1")], key=str(key))["status"] == FileStatus.LOADED
    assert not key.exists()  # no allocation yet: no key
    rows = [randomised("1", group="1"), randomised("2", group="3")]
    assert _ingest(tmp_path, study, 2, rows, key=str(key))["status"] == FileStatus.LOADED
    letters = allocation.read_key(key).letters
    assert _allocation(tmp_path / "w.duckdb") == {"1": letters["LL"], "2": letters["LS"]}


def test_a_key_made_beforehand_masks_the_first_randomisation(tmp_path, study):
    key = allocation.new_key(tmp_path / "keys" / "allocation.key")
    assert _ingest(tmp_path, study, 1, [randomised("1", group="2")], key=str(key.path))["status"] == FileStatus.LOADED
    assert _allocation(tmp_path / "w.duckdb") == {"1": key.letters["LE"]}
    assert allocation.warehouse_key(key.path, tmp_path / "w.duckdb") == key


def test_a_key_that_is_not_the_warehouses_is_refused(tmp_path, study):
    key = allocation.new_key(tmp_path / "keys" / "allocation.key")
    assert _ingest(tmp_path, study, 1, [randomised("1")], key=str(key.path))["status"] == FileStatus.LOADED
    other = allocation.new_key(tmp_path / "keys" / "other.key")
    with pytest.raises(allocation.KeyError_) as refused:
        _ingest(tmp_path, study, 2, [randomised("1"), randomised("2")], key=str(other.path))
    assert str(refused.value) == (
        f"the allocation key {other.path} (fingerprint {other.fingerprint}) is not this warehouse's (fingerprint "
        f"{key.fingerprint}). Name the trial's key with --key or RUNBACK_KEY."
    )
    with pytest.raises(allocation.KeyError_, match="there is no allocation key"):
        _ingest(tmp_path, study, 2, [randomised("1"), randomised("2")], key=str(tmp_path / "keys" / "typo.key"))
    assert _allocation(tmp_path / "w.duckdb") == {"1": key.letters["LL"]}
