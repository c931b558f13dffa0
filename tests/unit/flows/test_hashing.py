"""One content-hash algorithm: SHA-256 of a frame's CSV text, rows in a named order."""

import hashlib

import pandas as pd
import pytest

from runback.flows.hashing import clean_form_hash, frame_hash, hashes_hash, table_hash
from runback.flows.warehouse import connect

ROWS = [("1", "baseline_arm_1", 1, 11), ("2", "baseline_arm_1", 1, 22), ("1", "week_8_arm_1", 1, 33)]


def test_the_hash_is_the_sha256_of_the_csv_text_that_locks_recorded():
    """A lock recorded before hashing.py holds this hash of its input: it must still verify."""
    frame = pd.DataFrame({"record_id": ["1", "2"], "aval": [0.1 + 0.2, None], "n": [3, 4]})
    assert frame_hash(frame) == hashlib.sha256(b"record_id,aval,n\n1,0.3,3\n2,,4\n").hexdigest()


def test_a_hash_of_hashes_does_not_depend_on_their_order():
    assert hashes_hash({"a": "1", "b": "2"}) == hashes_hash({"b": "2", "a": "1"}) != hashes_hash({"a": "2", "b": "1"})


@pytest.fixture
def con(tmp_path):
    with connect(tmp_path / "warehouse.duckdb") as con:
        yield con


def _form(con, name: str, rows) -> None:
    con.execute(
        f"create table clean.{name} (record_id varchar, event varchar, instance bigint, row_hash ubigint, "
        "file_id integer, source_row integer, valid_from_cut integer, valid_to_cut integer)"
    )
    for n, row in enumerate(rows):
        con.execute(f"insert into clean.{name} values (?, ?, ?, ?, 1, ?, 1, null)", [*row, n])


def test_a_table_hashes_the_same_whatever_order_its_rows_were_loaded_in(con):
    _form(con, "loaded_forward", ROWS)
    _form(con, "loaded_backward", ROWS[::-1])
    _form(con, "one_row_changed", [*ROWS[:2], (*ROWS[2][:3], 34)])
    forms = ("loaded_forward", "loaded_backward", "one_row_changed")
    forward, backward, changed = (table_hash(con, "query/current_clean_content", form=form) for form in forms)
    assert forward == backward != changed
    forward, backward, changed = (clean_form_hash(con, form, 1) for form in forms)
    assert forward == backward != changed
