"""The bad-input catalogue (docs/bad-inputs.md): every faulty input and what runback does with it.

Each case writes a small export of the trial with one fault (after a good night where the fault
needs history), ingests it into a fresh warehouse and checks the outcome: the file refused with a
message (nothing of it loaded), the form row quarantined with its check, the row loaded and
flagged, or the input loaded as meant.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from runback.flows.ingest.pipeline import ingest_file
from runback.flows.ingest.project import project_files, read_rows
from runback.flows.settings import PROJECT_DIR
from tests.helpers import ROOT, export_text, ingest, randomised, reshaped, session, visit

NIGHT_1 = "RUNBACK_DATA_2014-03-01_0200.csv"
NIGHT_2 = "RUNBACK_DATA_2014-03-02_0200.csv"


def good_rows() -> list[dict]:
    return [
        randomised("1"),
        randomised("2", group="2"),
        visit("1", "week_4_arm_1", nprs_date="2014-02-07", nprs_run="5", nprs_avg="4", nprs_complete="2"),
        session("1", 1),
    ]


@dataclass
class Case:
    id: str
    outcome: str  # refuse | quarantine | flag | load | record
    build: Callable  # (study) -> bytes of night 2 (night 1 is the good export)
    expect: str = ""  # refuse: words of the message; quarantine/flag: "form.column:check"
    accept: dict = field(default_factory=dict)
    dictionary: Callable | None = None  # (rows) -> rows of a dictionary dated beside night 2
    project: Callable | None = None  # (folder) -> a project folder to read night 2 with
    check: Callable | None = None  # (con) -> None, extra assertions on the warehouse

    def night_2(self, folder: Path, study, first: Path) -> tuple[Path, Path]:
        """Write night 2 (and its dictionary) beside night 1 `first`: the file to ingest, and the
        project folder to read it with."""
        second = folder / (NIGHT_2 if self.id != "older-export" else "RUNBACK_DATA_2014-02-28_0200.csv")
        second.write_bytes(self.build(study) if self.id != "same-file-twice" else first.read_bytes())
        if self.dictionary:
            _write_dictionary(folder, self.dictionary)
        target = first if self.id == "same-file-twice" else second
        return target, self.project(folder) if self.project else PROJECT_DIR


def text(study, rows=None, **kw) -> bytes:
    return export_text(study, good_rows() if rows is None else rows, **kw).encode()


def with_rows(**changes) -> Callable:
    """Night 2 = the good rows with `changes` applied to row 0 (a dict of column -> value)."""

    def build(study):
        rows = good_rows()
        rows[0] = rows[0] | changes
        return text(study, rows)

    return build


def extra_row(row: dict) -> Callable:
    return lambda study: text(study, [*good_rows(), row])


def replace_text(old: str, new: str) -> Callable:
    return lambda study: text(study).decode().replace(old, new, 1).encode()


def header(columns: Callable) -> Callable:
    return lambda study: text(study, header=columns(study.export_columns()))


def dictionary_without(field_name: str) -> Callable:
    return lambda rows: [r for r in rows if r["Variable / Field Name"] != field_name]


def dictionary_retyped(field_name: str) -> Callable:
    def edit(rows):
        for r in rows:
            if r["Variable / Field Name"] == field_name:
                r["Text Validation Type OR Show Slider Number"], r["Text Validation Min"], r["Text Validation Max"] = (
                    "date_ymd",
                    "",
                    "",
                )
        return rows

    return edit


def dictionary_with_new_field(rows):
    at = next(i for i, r in enumerate(rows) if r["Variable / Field Name"] == "nprs_avg") + 1
    new = dict.fromkeys(rows[0], "") | {
        "Variable / Field Name": "nprs_worst",
        "Form Name": "nprs",
        "Field Type": "text",
        "Field Label": "Worst pain, last 7 days",
        "Text Validation Type OR Show Slider Number": "integer",
        "Text Validation Min": "0",
        "Text Validation Max": "10",
    }
    return [*rows[:at], new, *rows[at:]]


def new_field_export(study) -> bytes:
    columns = study.export_columns()
    columns.insert(columns.index("nprs_avg") + 1, "nprs_worst")
    rows = good_rows()
    rows[0]["nprs_worst"] = "8"
    return text(study, rows, header=columns)


def without_missing_code_columns(keep: int = 0) -> Callable:
    """Night 2 as an API export writes it: no missing-data-code checkbox columns (or only some)."""

    def build(study):
        codes = list(study.missing_code_columns)
        return reshaped(text(study), drop=codes[keep:])

    return build


def combined_checkbox(codes: str | None = None) -> Callable:
    """Night 2 with `excl_reason` as one column of codes (the API's combineCheckboxOptions)."""

    def build(study):
        rows = good_rows()
        rows[1] = rows[1] | {"eligible": "0", "excl_reason___2": "1", "excl_reason___unk": "1"}
        columns = [c for c in study.export_columns() if c.startswith("excl_reason___")]
        mapping = study.field_columns(study.field_map["excl_reason"])

        def cell(row):
            return codes if codes is not None else ",".join(mapping[c] for c in columns if row[c] == "1")

        return reshaped(
            text(study, rows), drop=columns[1:], rename={columns[0]: "excl_reason"}, add={"excl_reason": cell}
        )

    return build


def with_system_columns(**changes) -> Callable:
    """Night 2 with the data access group and survey columns, and `changes` on row 0."""

    def build(study):
        system = {
            "redcap_data_access_group": "site_a",
            "redcap_survey_identifier": "",
            "psfs_timestamp": "[not completed]",
            "screening_timestamp": "2014-01-06 10:00:00",
        }
        return reshaped(with_rows(**changes)(study), add=system)

    return build


def project_without(*kinds: str) -> Callable:
    def build(folder):
        project = folder / "project"
        project.mkdir()
        for kind, path in project_files(PROJECT_DIR).items():
            if kind not in kinds:
                shutil.copy(path, project / path.name)
        return project

    return build


def project_as_json(folder):
    project = folder / "project"
    project.mkdir()
    for kind, path in project_files(PROJECT_DIR).items():
        if kind in ("dictionary", "missing_codes"):
            shutil.copy(path, project / path.name)
        else:
            (project / path.with_suffix(".json").name).write_text(json.dumps(read_rows(path)))
    return project


def dictionary_with_blank_rows(rows):
    return [*rows, *[dict.fromkeys(rows[0], "") for _ in range(2000)]]


def dictionary_widened(rows):
    for r in rows:
        if r["Variable / Field Name"] == "psfs_score1":
            r["Text Validation Max"] = "12"
    return rows


def _file_input(con, column, expected):
    assert con.execute(f"select {column} from meta.file_inputs order by file_id desc limit 1").fetchall() == [
        (expected,)
    ]


def _has_column(con, table, column):
    names = [r[0] for r in con.execute(f"describe {table}").fetchall()]
    assert column in names


CASES = [
    Case("empty-file", "refuse", lambda s: b"", "empty"),
    Case("header-only", "refuse", lambda s: text(s, []), "holds no records"),
    Case("binary-file", "refuse", lambda s: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    Case("latin-1", "refuse", lambda s: text(s).decode().replace("Mei Ling", "Zoë").encode("latin-1"), "not UTF-8"),
    Case("utf-8-bom", "load", lambda s: b"\xef\xbb\xbf" + text(s)),
    Case("semicolon-delimiter", "load", lambda s: text(s, delimiter=";")),
    Case("tab-delimiter", "load", lambda s: text(s, delimiter="\t")),
    Case("pipe-delimiter", "load", lambda s: text(s, delimiter="|")),
    Case("crlf-line-ends", "load", lambda s: text(s).replace(b"\n", b"\r\n")),
    Case("unterminated-quote", "refuse", replace_text("Mei Ling", '"Mei Ling'), "never closed"),
    Case("ragged-row", "refuse", replace_text("\n2,", "\n2,extra,"), "values where the header has"),
    Case(
        "labels-export", "refuse", lambda s: b"Record ID,Event Name,Complete?\n1,Baseline,Complete\n", "labels export"
    ),
    Case("duplicated-column", "refuse", header(lambda c: [*c, "nprs_run"]), "repeats column"),
    Case("missing-record-id-column", "refuse", header(lambda c: c[1:]), "record-id column"),
    Case(
        "missing-dictionary-column",
        "refuse",
        header(lambda c: [x for x in c if x != "sess_rpe"]),
        "missing: 'sess_rpe'",
    ),
    Case("unknown-column", "refuse", header(lambda c: [*c, "favourite_colour"]), "not in the data dictionary"),
    Case(
        "unknown-event",
        "quarantine",
        extra_row(visit("1", "week_12_arm_1", nprs_date="2014-02-20", nprs_run="3", nprs_complete="2")),
        "nprs.redcap_event_name:unknown_event",
    ),
    Case(
        "form-not-in-event",
        "quarantine",
        extra_row(visit("2", "week_4_arm_1", odi_date="2014-02-07", odi_q1="2", odi_complete="2")),
        "odi.redcap_event_name:form_not_in_event",
    ),
    Case(
        "repeat-columns-on-a-non-repeating-form",
        "quarantine",
        extra_row(
            visit(
                "2",
                "week_8_arm_1",
                redcap_repeat_instrument="nprs",
                redcap_repeat_instance="1",
                nprs_date="2014-03-01",
                nprs_run="3",
                nprs_complete="2",
            )
        ),
        "nprs.redcap_repeat_instrument:repeat_on_non_repeating_form",
    ),
    Case(
        "repeat-instance-not-a-number",
        "quarantine",
        extra_row(session("2", "two")),
        "session_log.redcap_repeat_instance:repeat_instance_invalid",
    ),
    Case(
        "duplicate-key", "quarantine", extra_row(session("1", 1, sess_rpe="7")), "session_log.record_id:duplicate_key"
    ),
    Case(
        "blank-record-id",
        "quarantine",
        extra_row(visit("", "week_4_arm_1", nprs_date="2014-02-07", nprs_run="5", nprs_complete="2")),
        "nprs.record_id:record_id_blank",
    ),
    Case("out-of-range-value", "quarantine", with_rows(nprs_run="14"), "nprs.nprs_run:redcap_range"),
    Case(
        "non-numeric-value",
        "quarantine",
        with_rows(weight_kg="72,5", baseline_characteristics_complete="2"),
        "baseline_characteristics.weight_kg:redcap_type",
    ),
    Case("impossible-date", "quarantine", with_rows(nprs_date="2015-02-30"), "nprs.nprs_date:redcap_type"),
    Case("code-not-a-choice", "quarantine", with_rows(sex="3"), "screening.sex:redcap_choice"),
    Case("required-field-blank", "quarantine", with_rows(runs_per_week=""), "screening.runs_per_week:redcap_required"),
    Case("date-in-the-future", "quarantine", with_rows(nprs_date="2014-06-01"), "nprs.nprs_date:date_after_export"),
    Case(
        "randomised-before-consent",
        "quarantine",
        with_rows(consent_date="2014-01-12"),
        "randomisation.rand_date:consent_before_randomisation",
    ),
    Case(
        "randomisation-changed-between-exports",
        "quarantine",
        with_rows(rand_group="3"),
        "randomisation.rand_group:randomisation_changed",
        check=lambda con: _assert_one(  # the first value stands, as its blinded letter
            con,
            "select rand_group from clean.randomisation where record_id = '1' and valid_to_cut is null",
            _session_letter("1"),
        ),
    ),
    Case(
        "ten-megabyte-field",
        "quarantine",
        lambda s: text(s, [*good_rows()[:3], session("1", 1, sess_note="x" * 10_485_760)]),
        "session_log.sess_note:value_too_long",
    ),
    Case("date-before-screening", "flag", with_rows(nprs_date="2014-01-02"), "nprs.nprs_date:date_before_screening"),
    Case(
        "assessment-outside-its-window",
        "flag",
        lambda s: text(
            s,
            [
                *good_rows()[:2],
                visit("1", "week_4_arm_1", nprs_date="2014-03-01", nprs_run="5", nprs_complete="2"),
                good_rows()[3],
            ],
        ),
        "nprs.nprs_date:outside_visit_window",
    ),
    Case(
        "missing-data-code-in-a-date-field",
        "load",
        with_rows(consent_date="UNK"),
        check=lambda con: _assert_one(
            con,
            "select missing_codes from clean.screening where record_id = '1' and valid_to_cut is null",
            '{"consent_date": "UNK"}',
        ),
    ),
    Case(
        "html-in-free-text",
        "load",
        lambda s: text(s, [*good_rows()[:3], session("1", 1, sess_note="<script>alert('x')</script>")]),
        check=lambda con: _assert_one(
            con, "select sess_note from clean.session_log where valid_to_cut is null", "<script>alert('x')</script>"
        ),
    ),
    Case(
        "formula-in-free-text",
        "load",
        lambda s: text(s, [*good_rows()[:3], session("1", 1, sess_note=' =HYPERLINK("http://x.example")')]),
        check=lambda con: _assert_one(
            con, "select sess_note from clean.session_log where valid_to_cut is null", '=HYPERLINK("http://x.example")'
        ),
    ),
    Case(
        "dictionary-removes-a-field",
        "refuse",
        header(lambda c: [x for x in c if x != "nprs_avg"]),
        "field nprs_avg was removed",
        dictionary=dictionary_without("nprs_avg"),
    ),
    Case(
        "dictionary-retypes-a-field",
        "refuse",
        with_rows(nprs_avg="5"),
        "changed type from integer to date",
        dictionary=dictionary_retyped("nprs_avg"),
    ),
    Case(
        "dictionary-removes-a-field-accepted",
        "load",
        header(lambda c: [x for x in c if x != "nprs_avg"]),
        accept={"accept_dictionary": True},
        dictionary=dictionary_without("nprs_avg"),
    ),
    Case(
        "dictionary-adds-a-field",
        "load",
        new_field_export,
        dictionary=dictionary_with_new_field,
        check=lambda con: (
            _has_column(con, "clean.nprs", "nprs_worst"),
            _assert_one(
                con,
                "select json_extract_string(diff, '$.added[0]') from meta.dictionary_versions where dictionary_id = 2",
                "nprs_worst",
            ),
        ),
    ),
    Case(
        "records-missing-from-the-snapshot", "refuse", lambda s: text(s, [good_rows()[0]]), "missing from this snapshot"
    ),
    Case("records-deleted-accepted", "load", lambda s: text(s, [good_rows()[0]]), accept={"accept_deletions": True}),
    Case(
        "no-missing-code-columns",
        "load",
        without_missing_code_columns(),
        check=lambda con: _file_input(con, "missing_code_columns", "absent"),
    ),
    Case(
        "some-missing-code-columns",
        "load",
        without_missing_code_columns(keep=3),
        check=lambda con: _file_input(con, "missing_code_columns", "partly present"),
    ),
    Case(
        "combined-checkbox-column",
        "load",
        combined_checkbox(),
        check=lambda con: _assert_one(
            con,
            "select excl_reason___2::varchar || ' ' || missing_codes from clean.screening "
            "where record_id = '2' and valid_to_cut is null",
            'true {"excl_reason": "UNK"}',
        ),
    ),
    Case("combined-checkbox-unknown-code", "refuse", combined_checkbox("2,7"), "holds 1 code(s) that are not choices"),
    Case(
        "data-access-group-and-survey-columns",
        "flag",
        with_system_columns(psfs_score1="4", psfs_date="2014-01-09", psfs_complete="2"),
        "psfs.psfs_score1:hidden_with_value",
        check=lambda con: _file_input(
            con,
            "system_columns::varchar[]",
            ["redcap_data_access_group", "redcap_survey_identifier", "psfs_timestamp", "screening_timestamp"],
        ),
    ),
    Case(
        "survey-not-completed-timestamp",
        "flag",
        with_system_columns(consent_date=""),
        "screening.consent_date:consent_has_date",
    ),
    Case(
        "dictionary-widens-a-range",
        "flag",
        with_rows(psfs_score1="11", psfs_date="2014-01-09", psfs_complete="2"),
        "psfs.psfs_score1:hidden_with_value",
        dictionary=dictionary_widened,
    ),
    Case(
        "longitudinal-without-events-files",
        "refuse",
        with_rows(nprs_run="3"),
        "the events file (<Title>_Events_<date>.csv) and the instrument designations",
        project=project_without("events", "designations"),
    ),
    Case(
        "project-files-as-json",
        "load",
        with_rows(nprs_run="3"),
        project=project_as_json,
        check=lambda con: _assert_one(con, "select count(*) from meta.data_cuts", 2),
    ),
    Case(
        "dictionary-with-blank-rows",
        "load",
        with_rows(nprs_run="3"),
        dictionary=dictionary_with_blank_rows,
        check=lambda con: _assert_one(
            con,
            "select regexp_extract(dictionary_file, '[^/]+$') from meta.file_inputs order by file_id desc limit 1",
            "RUNBACK_DataDictionary_2014-03-02.csv",
        ),
    ),
    Case(
        "identifier-only-form-row",
        "quarantine",
        extra_row({"record_id": "3", "redcap_event_name": "baseline_arm_1", "first_name": "Wei", "nric": "S1"}),
        "screening.scr_date:redcap_required",
    ),
    Case("older-export", "record", with_rows(nprs_run="3"), "older"),
    Case("same-file-twice", "record", lambda s: text(s), "already seen"),
]


def _session_letter(code: str) -> str:
    """The letter the session's allocation key gives a rand_group code (tests/conftest.py)."""
    import os

    from runback.flows.allocation import read_key

    return read_key(Path(os.environ["RUNBACK_KEY"])).letter_of_code()[code]


def _assert_one(con, query, expected):
    assert con.execute(query).fetchall() == [(expected,)]


def _write_dictionary(folder: Path, edit: Callable) -> None:
    source = (PROJECT_DIR / "RUNBACK_DataDictionary.csv").read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(source))
    rows = edit(list(reader))
    with (folder / "RUNBACK_DataDictionary_2014-03-02.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=reader.fieldnames)
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, tmp_path, study):
    db = tmp_path / "w.duckdb"
    first = tmp_path / NIGHT_1
    first.write_bytes(text(study))
    assert ingest_file(str(first), str(db), str(PROJECT_DIR)).data_cut == 1
    target, project = case.night_2(tmp_path, study, first)
    result = ingest(target, db, project, **case.accept)
    with duckdb.connect(str(db), read_only=True) as con:
        cuts = con.execute("select count(*) from meta.data_cuts").fetchone()[0]
        if case.outcome in ("refuse", "record"):
            assert case.expect in (result.status + " " + result.message), result
            assert cuts == 1  # nothing of it loaded
        else:  # the same content as night 1 (another encoding, say) is applied and makes no new cut
            assert result.status in (("loaded", "unchanged") if case.outcome == "load" else ("loaded",)), result
            table = "quarantine.rows" if case.outcome == "quarantine" else "quarantine.flags"
            found = {
                f"{f}.{c}:{k}"
                for f, c, k in con.execute(
                    f'select form, "column", "check" from {table} where file_id = $f', {"f": result.file_id}
                ).fetchall()
            }
            if case.outcome == "load":
                assert not con.execute(
                    "select count(*) from quarantine.rows where file_id = $f", {"f": result.file_id}
                ).fetchone()[0]
            else:
                assert case.expect in found, found
        if case.check:
            case.check(con)


def test_the_catalogue_documents_every_case():
    documented = re.findall(r"^\| `([a-z0-9-]+)` \|", (ROOT / "docs" / "bad-inputs.md").read_text(), flags=re.M)
    assert sorted(documented) == sorted(c.id for c in CASES)
    assert len(CASES) >= 25
