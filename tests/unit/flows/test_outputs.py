"""The record of a blinded output (flows/outputs.py): written again with the same bytes, a file keeps
the time it was first written, so a rerun's index (which lists those times) is the same bytes."""

import duckdb

from runback.flows import outputs
from runback.flows.warehouse import migrate


def _written(db, path: str):
    with duckdb.connect(str(db)) as con:
        return con.execute("select sha256, written_at from meta.outputs where path = ?", [path]).fetchone()


def test_a_file_written_again_unchanged_keeps_its_time_and_a_changed_one_gets_a_new_one(tmp_path):
    db, root = tmp_path / "w.duckdb", tmp_path / "out"
    with duckdb.connect(str(db)) as con:
        migrate(con)
    outputs.write_blinded(db, root, "r.html", b"<p>one</p>", "report", 1)
    with duckdb.connect(str(db)) as con:  # as if written a minute ago
        con.execute("update meta.outputs set written_at = written_at - interval 1 minute")
    first = _written(db, "r.html")
    outputs.write_blinded(db, root, "r.html", b"<p>one</p>", "report", 1)
    assert _written(db, "r.html") == first
    outputs.write_blinded(db, root, "r.html", b"<p>two</p>", "report", 1)
    second = _written(db, "r.html")
    assert second[0] == outputs.sha256(b"<p>two</p>") and second[1] > first[1]
    assert (root / "r.html").read_bytes() == b"<p>two</p>"
