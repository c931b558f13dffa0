"""Export file names: the export time they carry, and the order files are applied in."""

from pathlib import Path

from runback.flows.ingest.files import export_time, in_export_order


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
