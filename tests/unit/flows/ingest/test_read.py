"""Reading export bytes: every variant REDCap writes is read; what cannot be read is refused."""

import pytest

from runback.flows.ingest.read import RefusedFile, read_export, read_text_table
from tests.helpers import SAMPLES, export_text, screened


def _table(data: bytes):
    frame, dialect = read_text_table(data, "x.csv")
    return frame.drop(columns="source_row").values.tolist(), dialect


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|", "^"])
def test_delimiters_are_detected(delimiter):
    rows, dialect = _table(f"a{delimiter}b\n1{delimiter}2\n".encode())
    assert rows == [["1", "2"]] and dialect.delimiter == delimiter


def test_bom_crlf_blank_lines_and_quoted_line_breaks():
    rows, dialect = _table(b'\xef\xbb\xbfa,b\r\n1,"two\r\nlines"\r\n\r\n3,4\r\n')
    assert dialect.bom
    assert rows == [["1", "two\r\nlines"], ["3", "4"]]


def test_one_leading_space_before_a_formula_character_is_removed():
    rows, _ = _table(b"a,b,c,d\n -3, +1,\t@x,  -2\n")
    assert rows == [["-3", "+1", "@x", "  -2"]]  # REDCap guards only values that start with - + @ =


def test_the_guard_is_removed_in_any_block_of_a_column_and_only_there():
    import pyarrow as pa

    from runback.flows.ingest.read import _strip_injection_guard

    blocks = [["1", "x y", ""], ["2", "3"], ["\t=y", " -4", "a", " b"]]  # a long file is parsed in blocks
    column = pa.chunked_array([pa.array(b) for b in blocks[:2]] + [pa.array(["", *blocks[2]]).slice(1)])
    table = _strip_injection_guard(pa.table({"a": column, "b": pa.chunked_array([pa.array(["4"] * 9)])}))
    assert table.column("a").to_pylist() == ["1", "x y", "", "2", "3", "=y", "-4", "a", " b"]
    assert table.column("b").to_pylist() == ["4"] * 9


def test_source_rows_count_data_rows_after_the_header():
    frame, _ = read_text_table(b"a\n1\n\n2\n", "x.csv")
    assert frame["source_row"].tolist() == [1, 2]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02binary", "binary"),
        (b"a,b\n1,\xe9\n", "not UTF-8"),
        (b"a,b\n1,2\n3,4,\xe9\n", "line 3 is not UTF-8"),  # in a row pyarrow cannot hand back as text
        (b"a,b\n1,2,3\n", "line 2 has 3 values"),
        (b'a,b\n1,"open\n2,3\n', "unterminated quote"),
        (b"a,a\n1,2\n", "repeats column"),
        (b"Record ID,Event Name,Complete?\n1,Baseline,Complete\n", "labels export"),
    ],
)
def test_unreadable_files_are_refused_with_the_reason(data, message):
    with pytest.raises(RefusedFile, match=message):
        read_text_table(data, "x.csv")


def test_identifiers_are_dropped_when_an_export_is_read(study, tmp_path):
    path = tmp_path / "RUNBACK_DATA_2014-01-10_0200.csv"
    path.write_text(export_text(study, [screened("1")]))
    export = read_export(path, study)
    assert set(export.dropped) == set(study.identifiers)
    assert not set(study.identifiers) & set(export.table.column_names)
    assert "Tan" not in export.table.to_pandas().to_string()


def test_unknown_and_missing_columns_are_refused_by_name(study, tmp_path):
    header = study.export_columns() + ["favourite_colour"]
    path = tmp_path / "a.csv"
    path.write_text(export_text(study, [screened("1")], header=header))
    with pytest.raises(RefusedFile, match="favourite_colour"):
        read_export(path, study)
    header = [c for c in study.export_columns() if c != "nprs_run"]
    path.write_text(export_text(study, [screened("1")], header=header))
    with pytest.raises(RefusedFile, match="missing: 'nprs_run'"):
        read_export(path, study)


def test_missing_record_id_column_is_refused(study, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(export_text(study, [screened("1")], header=study.export_columns()[1:]))
    with pytest.raises(RefusedFile, match="record-id column 'record_id'"):
        read_export(path, study)


def test_export_without_identifier_columns_is_accepted(study, tmp_path):
    """A user with de-identified export rights gets no identifier columns: nothing else is missing."""
    path = tmp_path / "a.csv"
    path.write_text(export_text(study, [screened("1")], header=study.export_columns(with_identifiers=False)))
    assert read_export(path, study).rows == 1


@pytest.mark.skipif(not SAMPLES.exists(), reason="../shared/redcap-samples is absent")
def test_real_exports_keep_codes_and_leading_zeros_as_text():
    frame, _ = read_text_table((SAMPLES / "REDCapTidieR/api-c18c2c-POST.csv").read_bytes())
    assert frame.loc[0, "text_mrn"] == "00123456"
    assert frame.loc[0, "text_zip"] == "08001"
