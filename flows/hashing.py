"""Content hashes: one algorithm for "the content of a table or a frame", at every stage.

The content hash of a frame is the SHA-256 of its CSV text: a header line, then one line per row
in the frame's order, numbers to 12 significant digits, a missing value empty. A statement that is
hashed names its row order (`order by`), so equal content gives equal hashes however it was
loaded. It is the hash a database lock records (`meta.analysis_locks.content_hash`), so every lock
recorded before this module existed still verifies.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from runback.flows.warehouse import sql


def frame_hash(frame: pd.DataFrame) -> str:
    """The content hash of a frame (its columns and rows, in their order)."""
    return hashlib.sha256(frame.to_csv(index=False, float_format="%.12g").encode("utf-8")).hexdigest()


def table_hash(con, statement: str, params: dict | None = None, **names: str) -> str:
    """The content hash of what a statement of `sql/` selects (its `order by` fixes the row order)."""
    return frame_hash(con.execute(sql(statement, **names), params or {}).df())


def hashes_hash(hashes: dict[str, str]) -> str:
    """The content hash of named content hashes (a frame of name and hash, by name)."""
    return frame_hash(pd.DataFrame(sorted(hashes.items()), columns=["name", "content_hash"]))
