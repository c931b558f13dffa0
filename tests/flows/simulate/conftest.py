"""Fixtures for the simulator's tests: simulated trials (written once per session) and a plain
reader of their files (Python's csv module, not runback's reader, so the two check each other)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest

from flows.simulate import simulate


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


@pytest.fixture(scope="session")
def clean(tmp_path_factory):
    """The default trial: 84 randomised, 10 nights, no faults."""
    return simulate(tmp_path_factory.mktemp("clean"), participants=84, seed=1)


@pytest.fixture(scope="session")
def faulty(tmp_path_factory):
    """The default trial with faults injected."""
    return simulate(tmp_path_factory.mktemp("faulty"), participants=84, seed=1, defects=True)


@pytest.fixture(scope="session")
def large(tmp_path_factory):
    """1500 randomised, 2 nights: enough people for rates and effects."""
    return simulate(tmp_path_factory.mktemp("large"), participants=1500, seed=1, nights=2)


@pytest.fixture(scope="session")
def last(clean) -> Export:
    return read(clean.files[-1])


@pytest.fixture(scope="session")
def large_last(large) -> Export:
    return read(large.files[-1])


@pytest.fixture(scope="session")
def read_export():
    """`read(path) -> Export`: parse a simulated export with the csv module (cached)."""
    return read
