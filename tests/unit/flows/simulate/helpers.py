"""Helpers for the simulator's tests: a plain
reader of their files (Python's csv module, not runback's reader, so the two check each other)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Export:
    """One export file as read by the csv module."""

    path: Path
    data: bytes
    delimiter: str
    header: list[str]
    rows: list[dict[str, str]]

    @property
    def date(self) -> dt.date:
        return dt.date.fromisoformat(self.path.name.split("_")[2])

    def row(self, record: str, event: str, instance: int | None = None) -> dict[str, str]:
        found = self.find(record, event, instance)
        assert len(found) == 1, (record, event, instance, len(found))
        return found[0]

    def find(self, record: str, event: str, instance: int | None = None) -> list[dict[str, str]]:
        want = "" if instance is None else str(instance)
        return [
            r
            for r in self.rows
            if r["record_id"] == record and r["redcap_event_name"] == event and r["redcap_repeat_instance"] == want
        ]


@lru_cache(maxsize=64)
def read(path: Path) -> Export:
    data = path.read_bytes()
    text = data.decode("utf-8-sig")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    header = lines[0]
    return Export(path, data, delimiter, header, [dict(zip(header, line, strict=True)) for line in lines[1:]])
