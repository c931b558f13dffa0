"""Whatever lands in the inbox, nothing is lost (docs/bad-inputs.md, "The inbox").

A truncated, misnamed, re-downloaded or half-written export, a crash between the load and the
analysis, a dictionary that stops marking identifiers, and inbox entries that are not exports at
all: each is refused, held or recovered, with a reason naming it, and the run goes on.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from runback.flows.query.integrity import problems
from runback.flows.settings import PROJECT_DIR
from tests.helpers import ROOT, ingest, randomised, scan, session, visit, write_export

NIGHT_1 = "RUNBACK_DATA_2014-03-01_0200.csv"
NIGHT_2 = "RUNBACK_DATA_2014-03-02_0200.csv"
NIGHT_3 = "RUNBACK_DATA_2014-03-03_0200.csv"


def rows() -> list[dict]:
    return [
        randomised("1"),
        visit("1", "week_4_arm_1", nprs_date="2014-02-07", nprs_run="5", nprs_avg="4", nprs_complete="2"),
        session("1", 1),
        session("1", 2, sess_date="2014-01-16"),
        randomised("2", group="2"),
        randomised("3", group="3"),
    ]


def changed(**values) -> list[dict]:
    """Tonight's rows: last night's with a value of record 1 changed (so the bytes differ)."""
    night = rows()
    night[0] = night[0] | (values or {"nprs_avg": "3"})
    return night


def clean_state(db: Path) -> list[tuple]:
    """Every form row valid now, over all clean tables (what a user sees as the trial's data)."""
    with duckdb.connect(str(db), read_only=True) as con:
        forms = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'clean' order by 1"
            ).fetchall()
        ]
        return [
            (f, *r)
            for f in forms
            for r in con.execute(
                f"select record_id, event, instance, row_hash from clean.{f} where valid_to_cut is null order by all"
            ).fetchall()
        ]


def source_files(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select file_name, status, message from meta.source_files order by file_id").fetchall()


@pytest.fixture
def loaded(tmp_path, study) -> Path:
    """A warehouse with one good night loaded."""
    db = tmp_path / "w.duckdb"
    assert ingest(write_export(tmp_path, NIGHT_1, study, rows()), db).status == "loaded"
    return db


# -- truncated and half-written exports -------------------------------------------------------------
def _truncated(text: str, keep: int) -> str:
    """The export cut after `keep` data rows, at a row boundary (as a partial copy would be)."""
    table = list(csv.reader(io.StringIO(text)))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(table[: keep + 1])
    return out.getvalue()


def test_a_snapshot_cut_inside_a_records_rows_is_refused(loaded, tmp_path, study):
    before = clean_state(loaded)
    full = (tmp_path / NIGHT_1).read_text()
    cut = tmp_path / NIGHT_2
    cut.write_text(_truncated(full, 2))  # record 1's baseline and week 4 rows, not its sessions
    result = ingest(cut, loaded)
    assert result.status == "refused"
    assert "8 form row(s) in the warehouse are missing from this snapshot (2 whole record(s)" in result.message
    assert "session_log 1 programme_arm_1#1" in result.message and "--accept-deletions" in result.message
    assert clean_state(loaded) == before
    assert ingest(cut, loaded, accept_deletions=True).status == "loaded"
    assert len(clean_state(loaded)) == len(before) - 8


def test_a_form_row_that_vanishes_is_a_deletion(loaded, tmp_path, study):
    night = changed()
    night[1] = visit("1", "week_4_arm_1")  # the week-4 NPRS emptied in REDCap
    result = ingest(write_export(tmp_path, NIGHT_2, study, night), loaded)
    assert result.status == "refused" and "nprs 1 week_4_arm_1#1" in result.message


def test_a_file_still_being_written_is_left_for_the_next_run(loaded, tmp_path, study):
    path = write_export(tmp_path, NIGHT_2, study, changed())
    result = ingest(path, loaded, settle_s=3600)
    assert result.status == "waiting" and "still being written" in result.message
    assert [r[0] for r in source_files(loaded)] == [NIGHT_1]  # not recorded: read again next time
    old = path.stat().st_mtime - 7200
    os.utime(path, (old, old))
    assert ingest(path, loaded, settle_s=3600).status == "loaded"


@pytest.mark.slow
def test_truncation_at_any_row_boundary_never_changes_the_clean_layer(tmp_path, study):
    """Property: tonight's export cut at each of >= 200 row boundaries, ingested over a warehouse
    holding tonight's full export, never changes the clean layer without --accept-deletions."""
    from runback.flows.simulate import simulate

    sim = simulate(tmp_path / "sim", participants=30, seed=5, nights=2)
    base = tmp_path / "base.duckdb"
    for path in sim.files:
        ingest(path, base)
    before = clean_state(base)
    text = sim.files[-1].read_text(encoding="utf-8-sig")
    data_rows = len(list(csv.reader(io.StringIO(text)))) - 1
    cuts = sorted(set(range(1, data_rows)[:: max(1, data_rows // 220)]))
    assert len(cuts) >= 200, len(cuts)
    for keep in cuts:
        db = tmp_path / "w.duckdb"
        shutil.copyfile(base, db)
        path = tmp_path / "RUNBACK_DATA_2016-12-31_0200.csv"
        path.write_text(_truncated(text, keep))
        result = ingest(path, db)
        assert result.status in ("refused", "unchanged"), (keep, result.status)
        assert clean_state(db) == before, keep


# -- names that lie -----------------------------------------------------------------------------------
def test_an_export_named_in_the_future_is_refused_and_later_exports_still_apply(loaded, tmp_path, study):
    typo = write_export(tmp_path, "RUNBACK_DATA_2051-10-16_0200.csv", study, changed(nprs_avg="1"))
    result = ingest(typo, loaded)
    assert result.status == "refused" and "later than now" in result.message
    assert "--export-time" in result.message
    assert ingest(write_export(tmp_path, NIGHT_2, study, changed()), loaded).status == "loaded"


def test_a_name_without_a_time_is_held_until_its_time_is_named(loaded, tmp_path, study):
    resend = write_export(tmp_path, "RUNBACK_DATA_resend.csv", study, changed())
    result = ingest(resend, loaded)
    assert result.status == "held" and "carries no export time" in result.message
    again = ingest(resend, loaded, scanned_in=str(tmp_path))  # the next nightly scan
    assert again.status == "held" and again.repeat
    assert [s for _, s, _ in source_files(loaded)] == ["loaded", "held"]
    import datetime as dt

    named = ingest(resend, loaded, export_time=dt.datetime(2014, 3, 2, 2, 0))
    assert named.status == "loaded"


def test_a_re_download_beside_its_original_holds_both(loaded, tmp_path, study):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_export(inbox, NIGHT_2, study, changed())
    write_export(inbox, NIGHT_2.replace(".csv", " (1).csv"), study, changed(nprs_avg="2"))  # downloaded again
    results = scan(inbox, loaded)
    assert [r.status for r in results] == ["held", "held"]
    assert all("2 files claim the export time 2014-03-02 02:00" in r.message for r in results)


def test_an_export_with_the_time_of_an_applied_one_but_other_contents_is_held(loaded, tmp_path, study):
    copy = write_export(tmp_path, NIGHT_1.replace(".csv", " (1).csv"), study, changed())
    result = ingest(copy, loaded)
    assert result.status == "held" and "same time (2014-03-01 02:00) was applied already" in result.message


@pytest.mark.parametrize(
    "name, status, words",
    [
        ("RUNBACK_DATA_2015-10-25_0130.csv", "held", "happened twice in Europe/London"),
        ("RUNBACK_DATA_2015-03-29_0130.csv", "refused", "never happened in Europe/London"),
        ("RUNBACK_DATA_2015-02-30_0200.csv", "refused", "an export time that does not exist"),
    ],
)
def test_times_are_read_in_the_sites_time_zone(loaded, tmp_path, study, monkeypatch, name, status, words):
    monkeypatch.setenv("RUNBACK_TIMEZONE", "Europe/London")
    result = ingest(write_export(tmp_path, name, study, changed()), loaded)
    assert result.status == status and words in result.message, result


def test_around_the_autumn_change_exports_keep_their_order(tmp_path, study, monkeypatch):
    monkeypatch.setenv("RUNBACK_TIMEZONE", "Europe/London")
    db = tmp_path / "w.duckdb"
    ingest(write_export(tmp_path, "RUNBACK_DATA_2015-10-25_0030.csv", study, rows()), db)
    later = write_export(tmp_path, "RUNBACK_DATA_2015-10-25_0230.csv", study, changed())
    assert ingest(later, db).status == "loaded"


# -- a crash between the load and the analysis --------------------------------------------------------
def test_a_cut_left_unanalysed_is_reported_refused_for_export_and_analysed_by_the_next_run(
    tmp_path, study, prefect_harness
):
    from runback.flows.nightly_ingest import nightly_ingest
    from runback.flows.query.export import ExportError, export_tables
    from runback.flows.warehouse import connect_read_only

    db = tmp_path / "w.duckdb"
    many = [randomised(str(i), group=str(i % 3 + 1)) for i in range(1, 13)]
    nightly_ingest(paths=[str(write_export(tmp_path, NIGHT_1, study, many))], db=str(db))
    many[0] = many[0] | {"nprs_avg": "2"}
    ingest(write_export(tmp_path, NIGHT_2, study, many), db)  # loaded, then the process "died"
    with connect_read_only(db) as con:
        assert "data cut 2 was loaded but not analysed" in " ".join(problems(con))
    with pytest.raises(ExportError, match="newest data cut 2 is not analysed"):
        export_tables(db, tmp_path / "export", "csv")
    # nothing new (a file named again: no overdue night, so not red), but the cut is analysed
    state = nightly_ingest(paths=[str(tmp_path / NIGHT_2)], db=str(db), return_state=True)
    assert state.is_completed() and state.result().results[0].repeat
    with connect_read_only(db) as con:
        assert problems(con) == []
        assert con.execute("select max(data_cut) from latest.participants").fetchone()[0] == 2
    assert export_tables(db, tmp_path / "export", "csv")


# -- identifiers ------------------------------------------------------------------------------------
def _dictionary_beside(folder: Path, edit) -> None:
    source = (PROJECT_DIR / "RUNBACK_DataDictionary.csv").read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(source))
    changed = [edit(dict(r)) for r in reader]
    with (folder / "RUNBACK_DataDictionary_2014-03-02.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=reader.fieldnames)
        writer.writeheader()
        writer.writerows(changed)


def test_a_dictionary_that_stops_marking_identifiers_is_refused(loaded, tmp_path, study):
    column = "Identifier?"

    def unmark(row):
        if row["Variable / Field Name"] in ("nric", "phone", "email"):
            row[next(k for k in row if k.startswith(column))] = ""
        return row

    _dictionary_beside(tmp_path, unmark)
    path = write_export(tmp_path, NIGHT_2, study, changed())
    result = ingest(path, loaded, accept_dictionary=True)  # accepting a dictionary change is not enough
    assert result.status == "refused"
    assert "no longer marks email, nric, phone as identifier(s)" in result.message
    with duckdb.connect(str(loaded), read_only=True) as con:
        columns = {r[0] for r in con.execute("describe clean.screening").fetchall()}
    assert not columns & {"nric", "phone", "email"}


# -- inbox entries that are not exports -------------------------------------------------------------
def test_one_bad_entry_is_one_refusal_and_the_night_goes_on(loaded, tmp_path, study):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "RUNBACK_DATA_2014-03-01_0300.csv").mkdir()
    os.mkfifo(inbox / "RUNBACK_DATA_2014-03-01_0301.csv")
    (inbox / "RUNBACK_DATA_2014-03-01_0302.csv").symlink_to(inbox / "nowhere.csv")
    secret = tmp_path / "secrets.txt"
    secret.write_text("TOKEN=s3cr3t-value-1234\nsecond line\n")
    (inbox / "RUNBACK_DATA_2014-03-01_0303.csv").symlink_to(secret)
    (inbox / "RUNBACK_DATA_2014-03-01_0304.csv").write_text("TOKEN=s3cr3t-value-1234\n1\n")
    os.close(os.open(os.path.join(bytes(inbox), b"RUNBACK_DATA_2014-03-01_0305\xff.csv"), os.O_CREAT | os.O_WRONLY))
    (inbox / "RUNBACK_DATA_2014-03-01_0306\n2014 INFO forged.csv").write_text("record_id\n")
    write_export(inbox, NIGHT_2, study, changed())
    results = scan(inbox, loaded)
    by_name = {r.file: r for r in results}
    assert by_name[NIGHT_2].status == "loaded"
    refused = [r for r in results if r.file != NIGHT_2]
    assert len(refused) == 7 and all(r.status == "refused" for r in refused), results
    messages = " ".join(r.message for r in refused)
    for words in ("is a folder", "not a regular file", "a symbolic link to nothing", "leads out of the inbox"):
        assert words in messages
    assert "s3cr3t" not in messages and "s3cr3t" not in str(source_files(loaded))
    names = [n for n, _, _ in source_files(loaded)]
    assert "RUNBACK_DATA_2014-03-01_0305\\xff.csv" in names and not any("\n" in n for n in names)
    again = scan(inbox, loaded)  # the next night: nothing is read or recorded again
    assert all(r.repeat for r in again if r.file != NIGHT_2)
    assert len(source_files(loaded)) == len(names)


def test_a_header_cell_longer_than_a_block_is_a_refusal(loaded, tmp_path):
    path = tmp_path / NIGHT_2
    path.write_text("record_id," + "x" * 200_000 + "\n1,2\n")
    result = ingest(path, loaded)
    assert result.status == "refused", result
    assert "x" * 100 not in result.message


def test_the_catalogue_lists_every_inbox_case():
    text = (ROOT / "docs" / "bad-inputs.md").read_text()
    section = text.split("## The inbox", 1)[1]
    tests = re.findall(r"^def (test_\w+)", Path(__file__).read_text(), flags=re.M)
    for name in tests:
        if name != "test_the_catalogue_lists_every_inbox_case":
            assert f"`{name}`" in section, name


@pytest.mark.slow
def test_misnamed_files_never_raise_and_never_apply_out_of_order(tmp_path, study):
    """Property: whatever follows `_DATA_` in a name (digits, dates that do not exist, times in the
    future, blanks, bars, newlines, non-ASCII), an older snapshot under that name is loaded, held or
    refused, never a traceback, and it changes the clean layer only when its name carries a real,
    past export time later than the newest applied (evidence that it is newer)."""
    import datetime as dt

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from runback.flows.ingest.files import export_time

    base = tmp_path / "base.duckdb"
    ingest(write_export(tmp_path, NIGHT_1, study, rows()), base)
    ingest(write_export(tmp_path, NIGHT_2, study, changed(nprs_avg="1")), base)
    tonight = clean_state(base)
    folder = tmp_path / "misnamed"
    folder.mkdir()
    middle = st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=0, max_size=30)
    stamp = st.builds(
        "{}-{:02d}-{:02d}_{:02d}{:02d}".format,
        st.integers(1990, 2060),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 25),
        st.integers(0, 61),
    )

    def evidence_of_newer(name: str) -> bool:
        try:
            when = export_time(name)
        except ValueError:
            return False
        return when is not None and dt.datetime(2014, 3, 2, 2, 0) < when < dt.datetime.now()

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.one_of(middle, stamp, st.builds("{}{}".format, stamp, middle)))
    def check(part):
        path = folder / f"RUNBACK_DATA_{part}.csv"
        if len(path.name.encode()) > 250:
            return
        db = tmp_path / "w.duckdb"
        shutil.copyfile(base, db)
        write_export(folder, path.name, study, changed(nprs_avg="2"))  # an older snapshot, any name
        result = ingest(path, db, scanned_in=folder)
        assert result.status in ("loaded", "older", "held", "refused"), result
        assert (clean_state(db) != tonight) == (result.status == "loaded") == evidence_of_newer(path.name), part
        path.unlink()

    check()
