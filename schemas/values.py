"""Value parsing: REDCap's text values -> numbers and timestamps, by the field's kind.

REDCap exports every value as text (`design/redcap-format.md` §1.6). A value of a numeric, date or
time kind must have the kind's shape and, for dates, exist (`2015-02-30` does not). Parsing is
vectorised in Arrow; a value that does not parse is NA (null), never an exception.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as arrow
import pyarrow.compute as pc

from runback.schemas import study as s

PATTERNS = {
    s.KIND_INTEGER: r"-?\d+",
    s.KIND_NUMBER: r"-?(?:\d+\.?\d*|\.\d+)",
    s.KIND_NUMBER_COMMA: r"-?(?:\d+[.,]?\d*|[.,]\d+)",
    s.KIND_DATE: r"\d{4}-\d{2}-\d{2}",
    s.KIND_DATETIME: r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2})?",
    s.KIND_TIME: r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?",
    s.KIND_TIME_MS: r"[0-5]\d:[0-5]\d",
}
"""The shape of the text of each kind that parses (kinds not listed are free text)."""

KIND_WORDS = {
    s.KIND_INTEGER: "a whole number",
    s.KIND_NUMBER: "a number",
    s.KIND_NUMBER_COMMA: "a number",
    s.KIND_DATE: "a real date (YYYY-MM-DD)",
    s.KIND_DATETIME: "a real date and time (YYYY-MM-DD HH:MM)",
    s.KIND_TIME: "a time (HH:MM)",
    s.KIND_TIME_MS: "a time (MM:SS)",
}
"""What a value of each kind must be, in a data manager's words."""

_TIMESTAMP_FORMATS = {  # kind -> (prefix added to the text, strptime formats tried in order)
    s.KIND_DATE: ("", ("%Y-%m-%d",)),
    s.KIND_DATETIME: ("", ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")),
    s.KIND_TIME: ("2000-01-01 ", ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")),
    s.KIND_TIME_MS: ("2000-01-01 00:", ("%Y-%m-%d %H:%M:%S",)),
}
_SAFE_INTEGER = 2.0**53
"""Whole numbers beyond this do not survive as numbers: they count as not a number."""


def parse(values: pd.Series, kind: str) -> pd.Series:
    """Text -> numbers or timestamps for a kind; NA where the text does not parse (vectorised, in
    Arrow). A date must exist: `2015-02-30` does not parse."""
    if kind not in PATTERNS:
        return pd.Series(pd.NA, index=values.index, dtype="object")
    text = arrow.array(values.astype("str"), type=arrow.large_string(), from_pandas=True)
    parsed = parse_arrow(text, kind).to_numpy(zero_copy_only=False)
    return pd.Series(parsed, index=values.index, copy=False)


def parse_arrow(text: arrow.Array, kind: str) -> arrow.Array:
    """`parse` on an Arrow string array: float64 for numbers, timestamp[s] for dates and times."""
    shaped = pc.fill_null(pc.match_substring_regex(text, f"^(?:{PATTERNS[kind]})$"), False)
    text = pc.if_else(shaped, text, arrow.scalar(None, text.type))
    if kind in _TIMESTAMP_FORMATS:
        return _parse_timestamp(text, kind)
    if kind == s.KIND_NUMBER_COMMA:
        text = pc.replace_substring(text, ",", ".")
    number = pc.cast(text, arrow.float64())
    if kind == s.KIND_INTEGER:
        number = pc.if_else(pc.less_equal(pc.abs(number), _SAFE_INTEGER), number, arrow.scalar(None, arrow.float64()))
    return number


def _parse_timestamp(text: arrow.Array, kind: str) -> arrow.Array:
    """Shaped date/time text -> timestamp[s]; null where the date or time does not exist."""
    prefix, formats = _TIMESTAMP_FORMATS[kind]
    if prefix:
        text = pc.binary_join_element_wise(arrow.scalar(prefix, text.type), text, arrow.scalar("", text.type))
    parsed = None
    for fmt in formats:
        stamp = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
        parsed = stamp if parsed is None else pc.coalesce(parsed, stamp)
    # strptime rolls impossible days over (2015-02-30 -> 03-02): keep a stamp only where its day
    # is the day written, and (for a time) where printing it back gives the text
    if kind == s.KIND_DATE:
        written_day = pc.cast(pc.utf8_slice_codeunits(text, 8, 10), arrow.int64())
        exact = pc.equal(pc.day(parsed), written_day)
    else:
        printed = [pc.strftime(parsed, format=fmt) for fmt in formats]
        exact = pc.equal(printed[0], text) if len(printed) == 1 else pc.or_(*(pc.equal(p, text) for p in printed))
    return pc.if_else(pc.fill_null(exact, False), parsed, arrow.scalar(None, parsed.type))


def bound(text: str, kind: str):
    """A dictionary min/max as a comparable value (None when absent or not a value, e.g. 'today')."""
    if not text:
        return None
    value = parse(pd.Series([text]), kind).iloc[0]
    return None if pd.isna(value) else value
