"""The same data exported by the API (comma, no BOM, no missing-data-code checkbox columns) and by
the web page (BOM, `;`, with them) gives the same clean layer, the same quarantine and the same
analysis, night after night; and the data access group and survey columns change nothing that
is checked."""

from __future__ import annotations

import duckdb
import pytest

from runback.flows.analyse.refresh import refresh_analysis
from runback.flows.ingest.pipeline import ingest_file
from runback.flows.settings import PROJECT_DIR
from runback.flows.simulate import simulate
from runback.flows.warehouse import connect
from tests.helpers import missing_code_columns, reshaped

PER_FILE = {"file_id", "ingested_at", "applied_at", "rendered_at", "path", "file_name", "sha256", "bytes"}
"""Columns that name or date the file itself: they differ between two files of the same data."""


def _untick(codes: list[str]):
    """Missing-code ticks the API cannot carry are cleared, so both exports hold the same data."""
    return {c: (lambda row, c=c: "0" if row[c] == "1" else row[c]) for c in codes}


def _layers(db) -> dict[str, list]:
    """clean.*, quarantine.* and analysis.*: every row, sorted, without per-file columns."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('clean', 'quarantine', 'analysis') order by all"
        ).fetchall()
        out = {}
        for schema, table in tables:
            cols = [c[0] for c in con.execute(f'describe "{schema}"."{table}"').fetchall() if c[0] not in PER_FILE]
            select = ", ".join(f'"{c}"' for c in cols)
            out[f"{schema}.{table}"] = sorted(
                map(repr, con.execute(f'select {select} from "{schema}"."{table}"').fetchall())
            )
        return out


def _ingest_all(folder, files, study) -> dict[str, list]:
    db = folder / "w.duckdb"
    for path in files:
        result = ingest_file(str(path), str(db), str(PROJECT_DIR))
        assert result.status == "loaded", result
    with connect(db) as con:
        refresh_analysis(con, study, con.execute("select max(cut_id) from meta.data_cuts").fetchone()[0])
    return _layers(db)


@pytest.mark.slow
def test_api_and_ui_exports_of_the_same_data_give_the_same_warehouse(tmp_path, study):
    nights = simulate(tmp_path / "sim", participants=40, seed=21, defects=True, nights=3).files
    codes = missing_code_columns(study)
    shapes = {
        "api": lambda data: reshaped(data, drop=codes),
        "ui": lambda data: reshaped(data, delimiter=";", bom=True, add=_untick(codes)),
    }
    layers = {}
    for name, shape in shapes.items():
        folder = tmp_path / name
        folder.mkdir()
        files = []
        for night in nights:
            (folder / night.name).write_bytes(shape(night.read_bytes()))
            files.append(folder / night.name)
        layers[name] = _ingest_all(folder, files, study)
    assert layers["api"]["quarantine.rows"], "the simulated defects make a quarantine to compare"
    assert any(t.startswith("analysis.") and rows for t, rows in layers["api"].items())
    assert layers["api"].keys() == layers["ui"].keys()
    for table in layers["api"]:
        assert layers["api"][table] == layers["ui"][table], table


@pytest.mark.slow
def test_dag_and_survey_columns_change_no_flag_and_no_quarantine(tmp_path, study):
    nights = simulate(tmp_path / "sim", participants=40, seed=21, defects=True, nights=3).files
    system = {
        "redcap_data_access_group": lambda row: f"site_{int(row['record_id']) % 3}",
        "redcap_survey_identifier": "",
        "psfs_timestamp": lambda row: "[not completed]" if row["psfs_complete"] == "1" else "",
        "nprs_timestamp": lambda row: "2016-01-04 09:30:00" if row["nprs_complete"] == "2" else "",
    }
    found = {}
    for name, shape in {"plain": lambda d: d, "system": lambda d: reshaped(d, add=system)}.items():
        folder = tmp_path / name
        folder.mkdir()
        for night in nights:
            (folder / night.name).write_bytes(shape(night.read_bytes()))
        layers = _ingest_all(folder, sorted(folder.glob("RUNBACK_DATA_*.csv")), study)
        found[name] = {t: rows for t, rows in layers.items() if t.startswith("quarantine.")}
    assert found["plain"]["quarantine.flags"] and found["plain"]["quarantine.rows"]
    assert found["plain"] == found["system"]
