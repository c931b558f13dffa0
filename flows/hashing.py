"""Content hashes: one algorithm for "the content of a table or a frame", at every stage.

The content hash of a frame is the SHA-256 of its CSV text: a header line, then one line per row
in the frame's order, numbers to 12 significant digits, a missing value empty. A statement that is
hashed names its row order (`order by`), so equal content gives equal hashes however it was
loaded. It is the hash a database lock records (`meta.analysis_locks.content_hash`), so every lock
recorded before this module existed still verifies.

One exception, for speed: the clean layer's hash per form and cut, taken at every new cut, is an
order-free XOR of DuckDB's 64-bit `hash()` of each row's key and row hash (`clean_form_hash`). It
carries the goal "a new 20,000-participant night <= 4x DuckDB's read_csv of the export": at
20,000 participants (1.1 million clean rows) it takes 0.05 s where the CSV hash takes 3.8 s,
measured side by side, and the whole night already takes 3.35x (bench/results.json). Nothing
compares it with a hash of another algorithm.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from runback.flows.warehouse import rows, sql


def frame_hash(frame: pd.DataFrame) -> str:
    """The content hash of a frame (its columns and rows, in their order)."""
    return hashlib.sha256(frame.to_csv(index=False, float_format="%.12g").encode("utf-8")).hexdigest()


def table_hash(con, statement: str, params: dict | None = None, **names: str) -> str:
    """The content hash of what a statement of `sql/` selects (its `order by` fixes the row order)."""
    return frame_hash(con.execute(sql(statement, **names), params or {}).df())


def hashes_hash(hashes: dict[str, str]) -> str:
    """The content hash of named content hashes (a frame of name and hash, by name)."""
    return frame_hash(pd.DataFrame(sorted(hashes.items()), columns=["name", "content_hash"]))


def clean_form_hash(con, form: str, cut: int) -> str:
    """The hash of clean.<form> as of a cut: an order-free checksum of its keys and row hashes (the
    exception above)."""
    return rows(con, "ingest/content_hash", {"cut": cut}, form=form)[0][0]
