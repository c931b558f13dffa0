"""Exports shaped as REDCap really writes them (issue: no false refusals, no silently skipped
checks): with or without the missing-data-code checkbox columns, with a checkbox as one column of
codes, with the data access group and survey columns, project files in CSV or JSON, dictionaries
with blank rows, form rows that hold identifiers only."""

from __future__ import annotations

import csv
import io
import json
import logging
import shutil

import duckdb
import pytest
from typer.testing import CliRunner

from runback.flows.cli import app
from runback.flows.ingest.pipeline import Options, ingest_file
from runback.flows.ingest.project import load_project, project_files, read_rows
from runback.flows.ingest.read import ABSENT, PARTLY, PRESENT, RefusedFile, read_export
from runback.flows.settings import PROJECT_DIR
from tests.helpers import export_text, missing_code_columns, randomised, reshaped, screened, session

NIGHT_1 = "RUNBACK_DATA_2014-03-01_0200.csv"
NIGHT_2 = "RUNBACK_DATA_2014-03-02_0200.csv"


def _rows():
    return [
        randomised("1", psfs_score1="4", psfs_complete="2", psfs_date="2014-01-09"),  # flag: no activity named
        randomised("2", group="2", consent_date="", nprs_run="14"),  # flag: no consent date; quarantine: range
        screened("3", eligible="0", consent="0", consent_date="", excl_reason___2="1"),
        session("1", 1),
    ]


def _ingest(tmp_path, name, data, db="w.duckdb", project=PROJECT_DIR, **kw):
    path = tmp_path / name
    path.write_bytes(data)
    return ingest_file(path, tmp_path / db, project, Options(**kw))


def _one(db, query, params=None):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(query, params or {}).fetchall()


def _found(db):
    rows = _one(
        db,
        'select \'q\', form, record_id, event, instance, "column", "check" from quarantine.rows '
        'union all select \'f\', form, record_id, event, instance, "column", "check" from quarantine.flags',
    )
    return sorted(rows)


# -- 1. missing-data-code checkbox columns: present, absent, partly present, combined ------------------
def test_missing_code_columns_may_be_present_absent_or_partly_present(tmp_path, study):
    ui = export_text(study, _rows()).encode()
    codes = missing_code_columns(study)
    shapes = {PRESENT: ui, ABSENT: reshaped(ui, drop=codes), PARTLY: reshaped(ui, drop=codes[:3])}
    for presence, data in shapes.items():
        (tmp_path / presence).mkdir()
        path = tmp_path / presence / NIGHT_1
        path.write_bytes(data)
        export = read_export(path, study)
        assert export.missing_code_columns == presence
        result = ingest_file(str(path), str(tmp_path / presence / "w.duckdb"), str(PROJECT_DIR))
        assert result.status == "loaded", result
        recorded = _one(tmp_path / presence / "w.duckdb", "select missing_code_columns from meta.file_inputs")
        assert recorded == [(presence,)]
    assert _found(tmp_path / ABSENT / "w.duckdb") == _found(tmp_path / PRESENT / "w.duckdb")


def test_a_snapshot_without_the_columns_keeps_the_earlier_missing_codes(tmp_path, study):
    rows = _rows()
    rows[2] = rows[2] | {"excl_reason___unk": "1"}  # "why not enrolled" unknown, said in the UI export
    db = tmp_path / "w.duckdb"
    assert _ingest(tmp_path, NIGHT_1, export_text(study, rows).encode()).data_cut == 1
    api = reshaped(export_text(study, rows).encode(), drop=missing_code_columns(study))
    second = _ingest(tmp_path, NIGHT_2, api)
    assert second.status == "unchanged", second  # nothing changed: no new cut, nothing closed
    query = "select missing_codes, valid_from_cut from clean.screening where record_id = '3' and valid_to_cut is null"
    assert _one(db, query) == [('{"excl_reason": "UNK"}', 1)]
    # with the columns back, a changed missing code is a change
    rows[2] = rows[2] | {"excl_reason___unk": "0", "excl_reason___nask": "1"}
    third = _ingest(tmp_path, "RUNBACK_DATA_2014-03-03_0200.csv", export_text(study, rows).encode())
    assert third.status == "loaded"
    assert _one(db, query) == [('{"excl_reason": "NASK"}', 2)]


def test_a_checkbox_written_as_one_column_of_codes_reads_as_its_columns(tmp_path, study):
    rows = _rows()
    rows[2] = rows[2] | {"excl_reason___1": "1", "excl_reason___unk": "1"}
    ui = export_text(study, rows).encode()
    columns = [c for c in study.export_columns() if c.startswith("excl_reason___")]

    def codes(row):
        return ",".join(study.field_columns(study.field_map["excl_reason"])[c] for c in columns if row[c] == "1")

    combined = reshaped(ui, drop=columns[1:], rename={columns[0]: "excl_reason"}, add={"excl_reason": codes})
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / NIGHT_1).write_bytes(ui)
    (b / NIGHT_1).write_bytes(combined)
    assert read_export(b / NIGHT_1, study).combined_checkboxes == ("excl_reason",)
    for folder in (a, b):
        assert ingest_file(str(folder / NIGHT_1), str(folder / "w.duckdb"), str(PROJECT_DIR)).status == "loaded"
    query = "select * exclude (file_id) from clean.screening order by record_id"
    assert _one(a / "w.duckdb", query) == _one(b / "w.duckdb", query)


def test_a_combined_checkbox_with_a_code_that_is_no_choice_is_refused(tmp_path, study):
    ui = export_text(study, _rows()).encode()
    columns = [c for c in study.export_columns() if c.startswith("excl_reason___")]
    bad = reshaped(ui, drop=columns[1:], rename={columns[0]: "excl_reason"}, add={"excl_reason": "1,7"})
    result = _ingest(tmp_path, NIGHT_1, bad)
    assert result.status == "refused" and "holds 1 code(s) that are not choices" in result.message


# -- 2. system columns never change which checks run; a newer dictionary decides the checks ---------------
SYSTEM = {
    "redcap_data_access_group": "site_a",
    "redcap_survey_identifier": "",
    "psfs_timestamp": "[not completed]",
    "nprs_timestamp": "2014-01-09 10:12:00",
}


def test_the_same_rows_are_flagged_and_quarantined_with_and_without_dag_and_survey_columns(tmp_path, study):
    plain = export_text(study, _rows()).encode()
    with_system = reshaped(plain, add=SYSTEM)
    a = _ingest(tmp_path, NIGHT_1, plain, db="a.duckdb")
    b = _ingest(tmp_path, "RUNBACK_DATA_2014-03-01_0201.csv", with_system, db="b.duckdb")
    assert a.forms == b.forms
    found = _found(tmp_path / "a.duckdb")
    assert found == _found(tmp_path / "b.duckdb")
    checks = {row[6] for row in found}
    assert {"hidden_with_value", "consent_has_date", "redcap_range"} <= checks  # logic and row checks ran
    system = _one(tmp_path / "b.duckdb", "select system_columns from meta.file_inputs")[0][0]
    assert set(json.loads(system)) == set(SYSTEM)


def test_a_newer_dictionarys_range_is_used_and_the_row_checks_still_run(tmp_path, study):
    _write_dictionary(
        tmp_path, lambda r: r | {"Text Validation Max": "12"} if r["Variable / Field Name"] == "psfs_score1" else r
    )
    rows = _rows()
    rows[0]["psfs_score1"] = "11"  # allowed by the new dictionary, not by the project's
    result = _ingest(tmp_path, NIGHT_2, export_text(study, rows).encode())
    assert result.status == "loaded"
    found = {row[6] for row in _found(tmp_path / "w.duckdb") if row[1] == "psfs"}
    assert found == {"hidden_with_value"}  # the dictionary's range is used, its branching logic still runs


# -- 3. events, designations and repeating instruments as CSV or JSON; refused when missing ---------------
def _json_project(folder):
    folder.mkdir()
    for kind, path in project_files(PROJECT_DIR).items():
        if kind in ("dictionary", "missing_codes"):
            shutil.copy(path, folder / path.name)
        else:
            (folder / path.with_suffix(".json").name).write_text(json.dumps(read_rows(path)))
    return folder


def test_project_files_saved_as_json_define_the_same_study(tmp_path, study):
    folder = _json_project(tmp_path / "json")
    assert {p.suffix for k, p in project_files(folder).items() if k not in ("dictionary", "missing_codes")} == {".json"}
    assert load_project(folder) == study


def test_a_longitudinal_export_without_events_files_is_refused_naming_them(tmp_path, study):
    folder = tmp_path / "only-dictionary"
    folder.mkdir()
    for kind in ("dictionary", "missing_codes"):
        shutil.copy(project_files(PROJECT_DIR)[kind], folder)
    result = _ingest(tmp_path, NIGHT_1, export_text(study, _rows()).encode(), project=folder)
    assert result.status == "refused"
    for words in ("events file", "instrument designations", "Define my events", "content=formEventMapping"):
        assert words in result.message
    assert "not in the data dictionary" not in result.message


# -- 4. blank dictionary rows; the log names the dictionary ------------------------------------------------
def test_blank_rows_in_a_dictionary_are_ignored_and_the_log_names_it(tmp_path, study, caplog):
    source = (PROJECT_DIR / "RUNBACK_DataDictionary.csv").read_bytes()
    folder = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, folder)
    (folder / "RUNBACK_DataDictionary.csv").write_bytes(source + b",,,,,,,,,,,,,,,,,\n" * 2000)
    assert load_project(folder) == study
    with caplog.at_level(logging.INFO, logger="runback"):
        result = _ingest(tmp_path, NIGHT_1, export_text(study, _rows()).encode(), project=folder)
    assert result.status == "loaded"
    assert "RUNBACK_DataDictionary.csv (sha256 " in caplog.text
    sha = _one(tmp_path / "w.duckdb", "select dictionary_sha256 from meta.file_inputs")[0][0]
    import hashlib

    assert sha == hashlib.sha256((folder / "RUNBACK_DataDictionary.csv").read_bytes()).hexdigest()


def test_a_dictionary_row_with_values_but_no_name_is_refused_clearly(tmp_path):
    folder = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, folder)
    with (folder / "RUNBACK_DataDictionary.csv").open("a") as out:
        out.write(",screening,,text,A field without a name,,,,,,,,,,,,,\n")
    with pytest.raises(RefusedFile, match="has values but no variable or form name"):
        load_project(folder)


# -- 5. a form row whose only values are identifiers ------------------------------------------------------
def test_a_form_row_with_only_identifier_values_is_kept_without_them(tmp_path, study):
    rows = [*_rows(), {"record_id": "9", "redcap_event_name": "baseline_arm_1", "first_name": "Wei", "nric": "S1"}]
    data = reshaped(export_text(study, rows).encode(), add={"redcap_data_access_group": "site_b"})
    result = _ingest(tmp_path, NIGHT_1, data)
    assert result.forms["screening"]["rows_in"] == 4
    raw = _one(tmp_path / "w.duckdb", "select redcap_data_access_group from raw.screening where record_id = '9'")
    assert raw == [("site_b",)]
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        columns = {r[0] for r in con.execute("describe raw.screening").fetchall()}
    assert not columns & set(study.identifiers)


# -- 6. a dated dictionary beside an export is said; an undated file has no export time in status -----------
def test_a_dated_dictionary_beside_the_export_is_said(tmp_path, study, caplog):
    def relabelled(row):
        return row | {"Field Label": "Pain while running"} if row["Variable / Field Name"] == "nprs_run" else row

    _write_dictionary(tmp_path, relabelled)
    with caplog.at_level(logging.INFO, logger="runback"):
        _ingest(tmp_path, NIGHT_2, export_text(study, _rows()).encode())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("RUNBACK_DataDictionary_2014-03-02.csv" in w and "instead of the project's" in w for w in warnings)
    # the same fields saved again (by the API, say): said, as information
    caplog.clear()
    _write_dictionary(tmp_path, lambda r: r)
    with caplog.at_level(logging.INFO, logger="runback"):
        _ingest(
            tmp_path, NIGHT_2.replace("0200", "0300"), export_text(study, _rows()[:3]).encode(), accept_deletions=True
        )
    said = [r for r in caplog.records if "instead of the project's" in r.getMessage()]
    assert [r.levelno for r in said] == [logging.INFO] and "(the same fields)" in said[0].getMessage()


def test_status_does_not_show_the_ingest_time_as_the_export_time_of_an_undated_file(tmp_path, study):
    result = _ingest(tmp_path, "RUNBACK_DATA_resend.csv", export_text(study, _rows()).encode())
    assert result.status == "loaded"
    out = CliRunner().invoke(app, ["status", "--db", str(tmp_path / "w.duckdb")]).output
    assert "newest export: RUNBACK_DATA_resend.csv, export time unknown" in out
    assert "made" not in out.split("newest export:")[1].splitlines()[0]


def _write_dictionary(folder, edit):
    source = (PROJECT_DIR / "RUNBACK_DataDictionary.csv").read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(source))
    rows = [edit(dict(r)) for r in reader]
    with (folder / "RUNBACK_DataDictionary_2014-03-02.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=reader.fieldnames)
        writer.writeheader()
        writer.writerows(rows)


def test_a_checkbox_both_combined_and_separate_is_refused(tmp_path, study):
    ui = export_text(study, _rows()).encode()
    both = reshaped(ui, add={"excl_reason": "1"})
    result = _ingest(tmp_path, NIGHT_1, both)
    assert result.status == "refused" and "both one column of codes and separate columns" in result.message
