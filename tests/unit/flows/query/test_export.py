"""`runback export`: the analysis tables of a cut, read back equal to the warehouse."""

import duckdb
import pandas as pd
import pytest

from runback.flows.errors import Refused
from runback.flows.query.export import TABLES, export_tables
from tests.helpers import simulated_warehouse

FORMULAS = {"'" + c for c in "=+-@"}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, study):
    db, _ = simulated_warehouse(
        tmp_path_factory.mktemp("trial"), study, participants=45, seed=6, defects=True, nights=4
    )
    return db


def _warehouse_table(db, table):
    with duckdb.connect(str(db), read_only=True) as con:
        cut = con.execute("select max(data_cut) from analysis.participants").fetchone()[0]
        return con.execute(f"select * from analysis.{table} where data_cut = {cut} order by all").df()


def test_parquet_round_trip(warehouse, tmp_path):
    export_tables(warehouse, tmp_path, "parquet")
    for table in TABLES:
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / f"{table}.parquet"), _warehouse_table(warehouse, table)
        )


def test_stata_round_trip(warehouse, tmp_path):
    export_tables(warehouse, tmp_path, "dta")
    for table in TABLES:
        back = pd.read_stata(tmp_path / f"{table}.dta")
        expected = _warehouse_table(warehouse, table)
        assert list(back.columns) == list(expected.columns)
        for column in expected.columns:
            want, got = expected[column], back[column]
            if pd.api.types.is_bool_dtype(want) or want.dtype == object and want.dropna().map(type).eq(bool).all():
                want = want.astype("float64")
            if pd.api.types.is_numeric_dtype(want):
                assert got.astype("float64").tolist() == pytest.approx(want.astype("float64").tolist(), nan_ok=True)
            elif pd.api.types.is_datetime64_any_dtype(want):
                assert got.tolist() == want.tolist()
            else:
                assert got.tolist() == want.astype(object).where(want.notna(), "").tolist(), (table, column)


def test_csv_round_trip_apart_from_neutralised_formulas(warehouse, tmp_path):
    export_tables(warehouse, tmp_path, "csv")
    for table in TABLES:
        expected = _warehouse_table(warehouse, table)
        text = {c: "str" for c in expected.columns if pd.api.types.is_string_dtype(expected[c])}
        back = pd.read_csv(tmp_path / f"{table}.csv", keep_default_na=False, na_values=[""], dtype=text)
        for column in expected.columns:
            want = expected[column]
            got = back[column]
            if pd.api.types.is_numeric_dtype(want) and not pd.api.types.is_bool_dtype(want):
                assert got.astype("float64").tolist() == pytest.approx(want.astype("float64").tolist(), nan_ok=True)
            elif pd.api.types.is_string_dtype(want):
                unguarded = got.astype(object).map(lambda v: v[1:] if isinstance(v, str) and v[:2] in FORMULAS else v)

                def cells(values):  # CSV has no NULL distinct from an empty string
                    return [None if pd.isna(v) or v == "" else v for v in values]

                assert cells(unguarded) == cells(want), (table, column)
    dictionary = pd.read_csv(tmp_path / "data_dictionary.csv")
    assert set(dictionary["table"]) == set(TABLES)
    assert dictionary.query("table == 'outcomes' and column == 'chg'")["description"].str.contains("Change").all()
    assert dictionary["description"].notna().all(), dictionary[dictionary["description"].isna()]  # all described


def test_an_unanalysed_cut_is_refused(warehouse, tmp_path):
    with pytest.raises(Refused, match="has not been analysed"):
        export_tables(warehouse, tmp_path, "csv", cut=1)
