"""Real REDCap exports from public projects ingest with their own dictionaries, conserving rows.

The files are read from ../shared/redcap-samples (never copied into the project); the tests skip
when that folder is absent.
"""

import csv
import io
import os

import duckdb
import pytest

from runback.flows.ingest.pipeline import ingest_file
from tests.helpers import SAMPLES

pytestmark = pytest.mark.skipif(not SAMPLES.exists(), reason="../shared/redcap-samples is absent")


def _project(tmp_path, files: dict[str, str]):
    """A project folder of links to the sample's definition files, under REDCap's names."""
    folder = tmp_path / "project"
    folder.mkdir()
    for name, source in files.items():
        os.symlink(SAMPLES / source, folder / name)
    return folder


CASES = {
    "REDCapR longitudinal": (
        "REDCapR/longitudinal/data.csv",
        {"dictionary.csv": "REDCapR/longitudinal/dictionary.csv", "event.csv": "REDCapR/longitudinal/event.csv"},
    ),
    "redcapAPI offline": (
        "redcapAPI/TestRedcapAPI_Records.csv",
        {
            "TestRedcapAPI_DataDictionary.csv": "redcapAPI/TestRedcapAPI_DataDictionary.csv",
            "TestRedcapAPI_InstrumentDesignations.csv": "redcapAPI/TestRedcapAPI_InstrumentDesignations.csv",
        },
    ),
    "REDCapTidieR API": ("REDCapTidieR/api-c18c2c-POST.csv", {"metadata.json": "REDCapTidieR/api-8d708c-POST.json"}),
    # recorded API answers whose metadata was not recorded: the project files are made from the header
    "REDCapTidieR longitudinal, repeating, DAGs": ("REDCapTidieR/api-5539bd-POST.csv", None),
    "REDCapTidieR repeating event": ("REDCapTidieR/api-908067-POST.csv", None),
}
DEFINITION_FILES = {
    "REDCapR/longitudinal/dictionary.csv",
    "REDCapR/longitudinal/event.csv",
    "redcapAPI/TestRedcapAPI_DataDictionary.csv",
    "redcapAPI/TestRedcapAPI_InstrumentDesignations.csv",
    "REDCapTidieR/api-8d708c-POST.json",
}


def _project_from_header(tmp_path, data: str):
    """Project files (API names, CSV) for a recorded export whose metadata was not recorded: every
    column a text field of the form whose `_complete` column follows it; events, designations and
    repeating instruments as the rows show them."""
    rows = list(csv.DictReader(io.StringIO(data)))
    header = list(rows[0])
    system = [c for c in header if c.startswith("redcap_")]
    fields, pending = [{"field_name": header[0], "form_name": None, "field_type": "text"}], []
    for column in header[1:]:
        if column in system:
            continue
        if column.endswith("_complete"):
            form = column.removesuffix("_complete")
            fields += [{"field_name": c, "form_name": form, "field_type": "text"} for c in pending]
            fields[0]["form_name"] = fields[0]["form_name"] or form
            pending = []
        else:
            pending.append(column)
    folder = tmp_path / "project"
    folder.mkdir()
    _write(folder / "metadata.csv", fields)
    events = sorted({r["redcap_event_name"] for r in rows})
    _write(folder / "event.csv", [{"event_name": e, "arm_num": "1", "unique_event_name": e} for e in events])
    forms = [f["form_name"] for f in fields]
    designated = {(r["redcap_event_name"], form) for r in rows for form in forms if r.get(f"{form}_complete")}
    _write(
        folder / "instrument_designations.csv",
        [{"arm_num": "1", "unique_event_name": e, "form": f} for e, f in sorted(designated)],
    )
    repeating = {(r["redcap_event_name"], r["redcap_repeat_instrument"]) for r in rows if r["redcap_repeat_instance"]}
    _write(
        folder / "repeating.csv",
        [{"event_name": e, "form_name": f, "custom_form_label": ""} for e, f in sorted(repeating)],
    )
    return folder


def _write(path, rows):
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def test_every_real_export_of_the_samples_is_a_case():
    """Every data file under ../shared/redcap-samples is ingested by a case below (the others are
    the projects' definition files)."""
    files = {str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("*") if p.is_file() and p.name != "README.md"}
    assert files - DEFINITION_FILES == {data for data, _ in CASES.values()}


@pytest.mark.parametrize("case", list(CASES))
def test_sample_project_ingests_with_row_conservation(tmp_path, case):
    data, files = CASES[case]
    db = tmp_path / "w.duckdb"
    if files is None:
        project = _project_from_header(tmp_path, (SAMPLES / data).read_text())
    else:
        project = _project(tmp_path, files)
    result = ingest_file(SAMPLES / data, db, project)
    assert result.status == "loaded"
    n_rows = len(list(csv.reader(io.StringIO((SAMPLES / data).read_text())))) - 1
    n_rows -= (SAMPLES / data).read_text().count("\n\n")  # a trailing blank line is not a row
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select rows from meta.source_files").fetchone()[0] == n_rows
        for form, counts in result.forms.items():
            assert counts["rows_in"] == counts["loaded"] + counts["quarantined"], form
            in_clean = con.execute(f"select count(*) from clean.{form}").fetchone()[0]
            held = con.execute(
                "select count(distinct source_row) from quarantine.rows where form = $f", {"f": form}
            ).fetchone()[0]
            assert (in_clean, held) == (counts["loaded"], counts["quarantined"]), form
        assert sum(c["loaded"] for c in result.forms.values()) > 0


def test_a_bom_and_semicolon_copy_of_a_sample_reads_the_same(tmp_path):
    data, files = CASES["REDCapR longitudinal"]
    original = (SAMPLES / data).read_text()
    rows = list(csv.reader(io.StringIO(original)))
    copy = tmp_path / "data_DATA_2020-01-01_0000.csv"
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\r\n").writerows(rows)
    copy.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode())
    project = _project(tmp_path, files)
    a = ingest_file(SAMPLES / data, tmp_path / "a.duckdb", project)
    b = ingest_file(copy, tmp_path / "b.duckdb", project)
    assert a.forms == b.forms
    with duckdb.connect(str(tmp_path / "a.duckdb")) as x, duckdb.connect(str(tmp_path / "b.duckdb")) as y:
        q = "select * exclude (file_id) from clean.demographics order by record_id"
        assert x.execute(q).fetchall() == y.execute(q).fetchall()
