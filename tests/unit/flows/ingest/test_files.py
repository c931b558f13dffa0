"""Export files (`flows/ingest/files.py`): the export time they carry, the order files are applied in, and what
may be read as an export."""

import datetime as dt
import hashlib
import os
import signal
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from runback.flows.errors import Refused
from runback.flows.ingest.files import (
    FUTURE_TOLERANCE,
    READ_CHUNK,
    EntryHeld,
    EntryRefused,
    ExportFile,
    check_export_time,
    entry_of,
    export_time,
    find_exports,
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
    conflicts = same_time_conflicts([odd, one, two, same, copy, alone, tmp_path / "R_DATA_2014-02-03_0200 (1).csv"])
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
    assert str(EntryRefused("a.csv", "it is odd.")) == "a.csv: it is odd." == str(EntryHeld("a.csv", "it is odd."))


def _refused(kind: type, check, *args, **kwargs) -> str:
    """What a user reads when `check` refuses or holds an entry (it must)."""
    with pytest.raises(kind) as refused:
        check(*args, **kwargs)
    return str(refused.value)


NAME = "R_DATA_2014-02-01_0200.csv"


# -- what may be read ------------------------------------------------------------------------------
def test_a_regular_file_is_read_whole(tmp_path):
    path = _export(tmp_path, NAME, b"x" * (READ_CHUNK + 5))
    assert read_settled(path, tmp_path) == b"x" * (READ_CHUNK + 5)
    assert entry_of(path, tmp_path).st_size == READ_CHUNK + 5


def test_a_vanished_entry_is_refused(tmp_path):
    said = _refused(EntryRefused, entry_of, tmp_path / "gone\n.csv", tmp_path)
    assert said == "gone\\n.csv: it disappeared before it could be read. Nothing to do if it was moved."


def test_a_symbolic_link_may_not_lead_out_of_the_inbox(tmp_path):
    inbox, outside = tmp_path / "inbox", tmp_path / "elsewhere"
    inbox.mkdir(), outside.mkdir()
    (inbox / "out.csv").symlink_to(_export(outside, NAME))
    (inbox / "in.csv").symlink_to(_export(inbox, "real.csv", b"abc"))
    (inbox / "none.csv").symlink_to(inbox / "missing.csv")
    assert _refused(EntryRefused, read_settled, inbox / "out.csv", inbox) == (
        "out.csv: it is a symbolic link that leads out of the inbox; it is not followed. "
        "Copy the export into the inbox instead of linking to it."
    )
    assert read_settled(inbox / "in.csv", inbox) == b"abc"
    assert read_settled(inbox / "out.csv") == b"record_id\n1\n"  # a file named by the user, not found by a scan
    said = _refused(EntryRefused, entry_of, inbox / "none.csv", inbox)
    assert said == "none.csv: it is a symbolic link to nothing. Remove the link."


def test_a_folder_or_a_pipe_named_like_an_export_is_refused(tmp_path):
    (tmp_path / NAME).mkdir()
    os.mkfifo(tmp_path / "R_DATA_2014-02-02_0200.csv")
    assert _refused(EntryRefused, read_settled, tmp_path / NAME, tmp_path) == (
        f"{NAME}: it is a folder, named like an export. Move it out of the inbox."
    )
    assert _refused(EntryRefused, read_settled, tmp_path / "R_DATA_2014-02-02_0200.csv", tmp_path) == (
        "R_DATA_2014-02-02_0200.csv: it is not a regular file (a pipe, socket or device), named like an export. "
        "Move it out of the inbox."
    )


def test_an_entry_swapped_for_a_pipe_once_looked_at_is_refused_without_waiting_for_a_writer(tmp_path, monkeypatch):
    path = _export(tmp_path, NAME)
    real_open = os.open

    def swapped_then_opened(name, flags, *args):
        os.unlink(name)
        os.mkfifo(name)
        return real_open(name, flags, *args)

    def waited(*_):
        raise TimeoutError("the pipe was opened waiting for a writer")

    monkeypatch.setattr(os, "open", swapped_then_opened)
    before = signal.signal(signal.SIGALRM, waited)
    signal.setitimer(signal.ITIMER_REAL, 5)
    try:
        said = _refused(EntryRefused, read_settled, path, tmp_path)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)
    assert said == f"{NAME}: it is not a regular file. Move it out of the inbox."


def test_a_file_modified_within_the_settling_time_waits(tmp_path):
    path = _export(tmp_path, NAME)
    assert _refused(EntryHeld, read_settled, path, tmp_path, settle_s=60) == (
        f"{NAME}: it was modified less than 60 s ago: still being written? "
        "It is read by the next run once it has settled."
    )
    assert _refused(EntryHeld, read_settled, path, tmp_path, settle_s=0.5).startswith(
        f"{NAME}: it was modified less than 0.5 s ago"
    )
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))
    assert read_settled(path, tmp_path, settle_s=60) == b"record_id\n1\n"
    os.utime(path, (time.time() - 50, time.time() - 50))
    assert read_settled(path, tmp_path, settle_s=40) == b"record_id\n1\n"
    with pytest.raises(EntryHeld):
        read_settled(path, tmp_path, settle_s=60)


def test_without_a_settling_time_a_file_dated_ahead_is_read(tmp_path):
    """A clock ahead of ours (a network drive) dates the file later than now: without a settling time it is read."""
    path = _export(tmp_path, NAME)
    later = time.time() + 3600
    os.utime(path, (later, later))
    assert read_settled(path, tmp_path) == b"record_id\n1\n"


def test_a_file_that_grows_while_it_is_read_waits(tmp_path, monkeypatch):
    path = _export(tmp_path, NAME)
    read, written = os.read, []

    def read_while_written(fd, n):
        chunk = read(fd, n)
        if not written:  # the exporter writes one more row after the first chunk was read
            written.append(True)
            with path.open("ab") as more:
                more.write(b"2\n")
        return chunk

    monkeypatch.setattr(os, "read", read_while_written)
    assert _refused(EntryHeld, read_settled, path, tmp_path) == (
        f"{NAME}: it changed while it was being read: still being written? It is read by the next run, once complete."
    )


# -- the time in the name --------------------------------------------------------------------------
LONDON = ZoneInfo("Europe/London")
NOW = dt.datetime(2014, 11, 1, 12, 0)
NAME_THE_TIME = "`runback ingest --export-time 'YYYY-MM-DD HH:MM' FILE`."


def _check(name: str, now: dt.datetime = NOW) -> None:
    check_export_time(ExportFile(Path(name), "", 0, None), LONDON, now)


def test_a_name_with_an_impossible_time_is_refused():
    assert _refused(EntryRefused, _check, "R_DATA_2014-02-30_0200.csv") == (
        "R_DATA_2014-02-30_0200.csv: its name carries an export time that does not exist. "
        f"Rename it with the real export time (YYYY-MM-DD_HHMM), or name the time with {NAME_THE_TIME}"
    )
    _check("data.csv")  # no time: ordered by check_order
    _check("R_DATA_2014-02-28_0200.csv")


def test_a_time_the_clock_skipped_is_refused_and_a_repeated_one_is_held():
    assert _refused(EntryRefused, _check, "R_DATA_2014-03-30_0130.csv") == (
        "R_DATA_2014-03-30_0130.csv: its name's time 2014-03-30 01:30 never happened in Europe/London (the clock "
        "was put forward). Rename it with the real export time."
    )
    assert _refused(EntryHeld, _check, "R_DATA_2014-10-26_0130.csv") == (
        "R_DATA_2014-10-26_0130.csv: its name's time 2014-10-26 01:30 happened twice in Europe/London (the clock "
        "went back), so its order cannot be known from the name. Apply it with `runback ingest --export-time "
        "'YYYY-MM-DD HH:MM' FILE` once you know which it was."
    )
    _check("R_DATA_2014-03-30_0200.csv")
    _check("R_DATA_2014-10-26_0200.csv")


def test_a_time_in_the_future_is_refused_beyond_ten_minutes_of_skew():
    _check("R_DATA_2014-11-01_1210.csv")
    assert _refused(EntryRefused, _check, "R_DATA_2014-11-01_1211.csv") == (
        "R_DATA_2014-11-01_1211.csv: its name says it was exported at 2014-11-01 12:11, later than now "
        "(2014-11-01 12:00 in Europe/London): a typo in the name? Rename it with the real export time, or name "
        f"the time with {NAME_THE_TIME}"
    )


def test_a_time_named_by_the_user_is_not_checked():
    file = ExportFile(Path("R_DATA_2014-02-30_0200.csv"), "", 0, None).with_export_time(NOW)
    check_export_time(file, LONDON, NOW)


# -- an export time named on the command line, and what a scan finds -------------------------------------
SINGAPORE = ZoneInfo("Asia/Singapore")
NOW = dt.datetime(2014, 3, 1, 12, 0)


def _named(name: str, when: dt.datetime) -> ExportFile:
    return ExportFile.of(Path(name), b"x").with_export_time(when)


def test_a_named_export_time_up_to_the_tolerance_ahead_is_taken():
    check_export_time(_named("export.csv", NOW + FUTURE_TOLERANCE), SINGAPORE, NOW)
    check_export_time(_named("RUNBACK_DATA_2014-03-01_0200.csv", dt.datetime(2014, 3, 1, 2, 0)), SINGAPORE, NOW)
    check_export_time(_named("RUNBACK_DATA_2014-02-30_0200.csv", dt.datetime(2014, 3, 1, 2, 0)), SINGAPORE, NOW)


def test_a_named_export_time_in_the_future_is_refused_whole():
    with pytest.raises(EntryRefused) as refused:
        check_export_time(_named("export.csv", NOW + FUTURE_TOLERANCE + dt.timedelta(minutes=1)), SINGAPORE, NOW)
    assert str(refused.value) == (
        "export.csv: --export-time 2014-03-01 12:11 is later than now (2014-03-01 12:00, site time). "
        "Give the time the export was made, as YYYY-MM-DD HH:MM in the site's time zone."
    )


def test_a_named_export_time_that_contradicts_the_name_is_refused_whole():
    with pytest.raises(EntryRefused) as refused:
        check_export_time(_named("RUNBACK_DATA_2014-02-01_0200.csv", dt.datetime(2014, 2, 1, 3, 0)), SINGAPORE, NOW)
    assert str(refused.value) == (
        "RUNBACK_DATA_2014-02-01_0200.csv: --export-time 2014-02-01 03:00 contradicts the time in its name "
        "(2014-02-01 02:00). Rename the file with its real export time, or give the time its name says."
    )


def test_a_scan_settles_its_entries_and_a_file_named_is_read_as_it_is(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("RUNBACK_DATA_2014-02-02_0200.csv", "RUNBACK_DATA_2014-02-01_0200.csv", "notes.txt"):
        (inbox / name).write_text("x")
    named = tmp_path / "other.csv"
    named.write_text("y")
    found = find_exports([inbox, named], settle_s=60.0)
    assert [(e.path.name, e.scanned_in, e.conflict, e.settle_s) for e in found] == [
        ("RUNBACK_DATA_2014-02-01_0200.csv", inbox, None, 60.0),
        ("RUNBACK_DATA_2014-02-02_0200.csv", inbox, None, 60.0),
        ("other.csv", None, None, 0.0),
    ]
    with pytest.raises(Refused) as missing:
        find_exports([tmp_path / "absent"])
    assert (
        str(missing.value)
        == f"no such file or folder: {tmp_path / 'absent'} Name an export file or a folder of exports."
    )
