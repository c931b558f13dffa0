"""The failure record: one row per failed check of a form row, as `quarantine.rows` and
`quarantine.flags` hold it (form, where in the file, the key, the column, the value as written,
the check, a reason in words, and the action: `quarantine` holds the form row back, `flag` loads
it with a data query)."""

from __future__ import annotations

import pandas as pd

QUARANTINE = "quarantine"
FLAG = "flag"

FAILURE_COLUMNS = [
    "form",
    "source_row",
    "record_id",
    "event",
    "instance",
    "column",
    "value",
    "check",
    "reason",
    "action",
]

VALUE_SHOWN_MAX = 500
"""A failing value longer than this is kept cut, with its length, in quarantine.rows."""


def failures(
    rows: pd.DataFrame, form: str, column: str, value, check: str, reason, action: str = QUARANTINE
) -> pd.DataFrame:
    """Failure records (FAILURE_COLUMNS) for `rows` (a frame with KEY-like columns, index source_row)."""
    return pd.DataFrame(
        {
            "form": form,
            "source_row": rows.index.to_numpy(),
            "record_id": rows["record_id"].to_numpy(),
            "event": rows["event"].astype(str).to_numpy(),
            "instance": rows["instance"].astype(str).to_numpy(),
            "column": column,
            "value": _shown(value),
            "check": check,
            "reason": reason if not isinstance(reason, pd.Series) else reason.to_numpy(),
            "action": action,
        },
        columns=FAILURE_COLUMNS,
    )


def _shown(value):
    """The failing value(s) as recorded: text, cut to VALUE_SHOWN_MAX characters."""
    if not isinstance(value, pd.Series):
        return value
    text = value.astype(str)
    long = text.str.len() > VALUE_SHOWN_MAX
    if long.any():
        text = text.where(
            ~long, text.str.slice(0, VALUE_SHOWN_MAX) + "… (" + text.str.len().astype(str) + " characters)"
        )
    return text.to_numpy()


def no_failures() -> pd.DataFrame:
    """An empty failure record."""
    return pd.DataFrame(columns=FAILURE_COLUMNS)


def concat_failures(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Failure records of several checks as one frame (empty frames are left out)."""
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else no_failures()
