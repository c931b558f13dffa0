"""Export files (`flows/ingest/files.py`): the export time they carry, the order files are applied in, and what
may be read as an export."""

import datetime as dt
import hashlib
import os
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from runback.flows.ingest.files import (
    READ_CHUNK,
    EntryHeld,
    EntryRefused,
    ExportFile,
    check_export_time,
    entry_of,
    export_time,
    in_export_order,
    read_settled,
    safe_name,
    same_time_conflicts,
)


def test_export_time_from_the_file_name():
    assert str(export_time("RUNBACK_DATA_2014-02-01_0215.csv")) == "2014-02-01 02:15:00"
    assert export_time("data.csv") is None


def test_files_apply_oldest_export_first_and_once():
    names = [
        "RUNBACK_DATA_2014-02-02_0200.csv",
        "data.csv",
        "RUNBACK_DATA_2014-02-01_0200.csv",
        "RUNBACK_DATA_2014-02-02_0200.csv",
    ]
    assert [p.name for p in in_export_order([Path(n) for n in names])] == [
        "RUNBACK_DATA_2014-02-01_0200.csv",
        "RUNBACK_DATA_2014-02-02_0200.csv",
        "data.csv",
    ]


def test_exports_are_ordered_by_the_time_in_their_names_then_by_name():
    paths = [
        Path("a/B_DATA_2014-02-02_0200.csv"),
        Path("b/Z_DATA_2014-02-01_0200.csv"),
        Path("c/Y_DATA_2014-02-01_0200.csv"),
        Path("d/A_DATA_2014-02-01_0201.csv"),
    ]
    assert in_export_order(paths) == [paths[2], paths[1], paths[3], paths[0]]


def test_a_name_with_an_impossible_time_is_ordered_with_the_unnamed():
    paths = [Path("X_DATA_2015-02-30_0200.csv"), Path("X_DATA_2015-02-01_0200.csv"), Path("data.csv")]
    assert in_export_order(paths) == [paths[1], paths[0], paths[2]]
    with pytest.raises(ValueError):
        export_time(paths[0])
    assert export_time("X_DATA_2015-02-01_2359.csv") == dt.datetime(2015, 2, 1, 23, 59)


def _export(folder: Path, name: str, data: bytes = b"record_id\n1\n") -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def test_files_claiming_one_time_with_other_bytes_cannot_be_ordered(tmp_path):
    one = _export(tmp_path, "R_DATA_2014-02-01_0200.csv")
    two = _export(tmp_path, "R_DATA_2014-02-01_0200 (1).csv", b"record_id\n2\n")
    same = _export(tmp_path, "R_DATA_2014-02-02_0200.csv")
    copy = _export(tmp_path, "R_DATA_2014-02-02_0200 (1).csv")
    alone = _export(tmp_path, "R_DATA_2014-02-03_0200.csv", b"record_id\n3\n")
    odd = _export(tmp_path, "R_DATA_2014-02-30_0200.csv")
    conflicts = same_time_conflicts([one, two, same, copy, alone, odd, tmp_path / "R_DATA_2014-02-03_0200 (1).csv"])
    assert set(conflicts) == {one, two}
    assert (
        conflicts[one]
        == conflicts[two]
        == (
            "2 files claim the export time 2014-02-01 02:00 with different contents "
            "(R_DATA_2014-02-01_0200.csv, R_DATA_2014-02-01_0200 (1).csv); which is newer cannot be known."
        )
    )


def test_a_file_is_known_by_its_bytes_and_its_names_time(tmp_path):
    path = _export(tmp_path, "R_DATA_2014-02-01_0200.csv", b"abc")
    file = ExportFile.of(path, b"abc")
    assert file == ExportFile(path, hashlib.sha256(b"abc").hexdigest(), 3, dt.datetime(2014, 2, 1, 2, 0))
    assert not file.time_named and file.name == "R_DATA_2014-02-01_0200.csv"
    assert ExportFile.of(tmp_path / "R_DATA_2014-02-30_0200.csv", b"").export_time is None
    named = file.with_export_time(dt.datetime(2014, 1, 1))
    assert named.export_time == dt.datetime(2014, 1, 1) and named.time_named and named.sha256 == file.sha256


def test_a_name_is_shown_with_its_control_characters_and_bad_bytes_escaped():
    assert safe_name("R_DATA\n2014\tx.csv") == "R_DATA\\n2014\\tx.csv"
    assert safe_name(b"caf\xe9.csv".decode("utf-8", "surrogateescape")) == "caf\\xe9.csv"
    assert safe_name("café dé.csv") == "café dé.csv"


def test_a_refusal_names_the_entry_and_says_what_to_do():
    refused, held = EntryRefused("a.csv", "it is odd.", "Move it."), EntryHeld("b.csv", "wait.", "Later.")
    assert (refused.name, str(refused), refused.advice) == ("a.csv", "a.csv: it is odd. Move it.", "Move it.")
    assert (held.name, str(held), held.advice) == ("b.csv", "b.csv: wait. Later.", "Later.")


# -- what may be read ------------------------------------------------------------------------------
def test_a_regular_file_is_read_whole(tmp_path):
    path = _export(tmp_path, "R_DATA_2014-02-01_0200.csv", b"x" * (READ_CHUNK + 5))
    assert read_settled(path, tmp_path) == b"x" * (READ_CHUNK + 5)
    assert entry_of(path, tmp_path).st_size == READ_CHUNK + 5


def test_a_vanished_entry_is_refused(tmp_path):
    with pytest.raises(EntryRefused, match="disappeared"):
        entry_of(tmp_path / "gone.csv", tmp_path)


def test_a_symbolic_link_may_not_lead_out_of_the_inbox(tmp_path):
    inbox, outside = tmp_path / "inbox", tmp_path / "elsewhere"
    inbox.mkdir(), outside.mkdir()
    target = _export(outside, "R_DATA_2014-02-01_0200.csv")
    (inbox / "out.csv").symlink_to(target)
    (inbox / "in.csv").symlink_to(_export(inbox, "real.csv", b"abc"))
    (inbox / "none.csv").symlink_to(inbox / "missing.csv")
    with pytest.raises(EntryRefused, match="leads out of the inbox"):
        read_settled(inbox / "out.csv", inbox)
    assert read_settled(inbox / "in.csv", inbox) == b"abc"
    assert read_settled(inbox / "out.csv") == b"record_id\n1\n"  # a file named by the user, not found by a scan
    with pytest.raises(EntryRefused, match="a symbolic link to nothing"):
        entry_of(inbox / "none.csv", inbox)


def test_a_folder_or_a_pipe_named_like_an_export_is_refused(tmp_path):
    (tmp_path / "R_DATA_2014-02-01_0200.csv").mkdir()
    os.mkfifo(tmp_path / "R_DATA_2014-02-02_0200.csv")
    with pytest.raises(EntryRefused, match="it is a folder, named like an export"):
        read_settled(tmp_path / "R_DATA_2014-02-01_0200.csv", tmp_path)
    with pytest.raises(EntryRefused, match=r"not a regular file \(a pipe, socket or device\)"):
        read_settled(tmp_path / "R_DATA_2014-02-02_0200.csv", tmp_path)


def test_a_file_modified_within_the_settling_time_waits(tmp_path):
    path = _export(tmp_path, "R_DATA_2014-02-01_0200.csv")
    with pytest.raises(EntryHeld, match="modified less than 60 s ago"):
        read_settled(path, tmp_path, settle_s=60)
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))
    assert read_settled(path, tmp_path, settle_s=60) == b"record_id\n1\n"
    os.utime(path, (time.time() - 50, time.time() - 50))
    assert read_settled(path, tmp_path, settle_s=40) == b"record_id\n1\n"
    with pytest.raises(EntryHeld):
        read_settled(path, tmp_path, settle_s=60)


def test_a_file_that_grows_while_it_is_read_waits(tmp_path, monkeypatch):
    path = _export(tmp_path, "R_DATA_2014-02-01_0200.csv")
    read, written = os.read, []

    def read_while_written(fd, n):
        chunk = read(fd, n)
        if not written:  # the exporter writes one more row after the first chunk was read
            written.append(True)
            with path.open("ab") as more:
                more.write(b"2\n")
        return chunk

    monkeypatch.setattr(os, "read", read_while_written)
    with pytest.raises(EntryHeld, match="changed while it was being read"):
        read_settled(path, tmp_path)


# -- the time in the name --------------------------------------------------------------------------
LONDON = ZoneInfo("Europe/London")
NOW = dt.datetime(2014, 11, 1, 12, 0)


def _check(name: str, now: dt.datetime = NOW) -> None:
    check_export_time(ExportFile(Path(name), "", 0, None), LONDON, now)


def test_a_name_with_an_impossible_time_is_refused():
    with pytest.raises(EntryRefused, match="carries an export time that does not exist") as refused:
        _check("R_DATA_2014-02-30_0200.csv")
    assert "--export-time" in refused.value.advice
    _check("data.csv")  # no time: ordered by check_order
    _check("R_DATA_2014-02-28_0200.csv")


def test_a_time_the_clock_skipped_is_refused_and_a_repeated_one_is_held():
    with pytest.raises(EntryRefused, match="2014-03-30 01:30 never happened in Europe/London"):
        _check("R_DATA_2014-03-30_0130.csv")
    with pytest.raises(EntryHeld, match="2014-10-26 01:30 happened twice in Europe/London"):
        _check("R_DATA_2014-10-26_0130.csv")
    _check("R_DATA_2014-03-30_0200.csv")
    _check("R_DATA_2014-10-26_0200.csv")


def test_a_time_in_the_future_is_refused_beyond_ten_minutes_of_skew():
    _check("R_DATA_2014-11-01_1210.csv")
    with pytest.raises(EntryRefused, match=r"exported at 2014-11-01 12:11, later than now \(2014-11-01 12:00 in"):
        _check("R_DATA_2014-11-01_1211.csv")


def test_a_time_named_by_the_user_is_not_checked():
    file = ExportFile(Path("R_DATA_2014-02-30_0200.csv"), "", 0, None).with_export_time(NOW)
    check_export_time(file, LONDON, NOW)
