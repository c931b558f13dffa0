"""Property tests: random mutations of a valid simulated export never raise a traceback; the file
is either refused cleanly (nothing loaded) or every form row is loaded or quarantined.

Mutations: cells replaced with garbage (quotes, delimiters, line breaks, non-ASCII, very long
text), rows duplicated or dropped, columns shuffled, truncation at a random byte, re-encoding
(UTF-8 with BOM, Latin-1, UTF-16). Slow (about 1,000 examples): run by `make test-slow` in CI.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runback.flows.ingest.pipeline import ingest_file
from runback.flows.ingest.project import load_project
from runback.flows.ingest.read import RefusedFile, read_export
from runback.flows.ingest.split import split_export
from runback.flows.ingest.validate import validate_export
from runback.flows.query.integrity import problems
from runback.flows.settings import PROJECT_DIR
from runback.flows.simulate import simulate
from runback.schemas.rules import Context

pytestmark = pytest.mark.slow
STUDY = load_project()
GARBAGE = st.one_of(
    st.text(max_size=30),
    st.sampled_from(['"', '""', ",", ";", "\n", "\r\n", " -1", "=1+1", "UNK", "9" * 40, "é", "\x00", "2015-02-30"]),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=0, max_size=5).map(lambda s: s * 20_000),
)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> bytes:
    sim = simulate(tmp_path_factory.mktemp("base"), participants=6, seed=3, nights=2)
    return sim.files[-1].read_bytes()


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode())))


def _bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


@st.composite
def mutated(draw, base: bytes) -> bytes:
    rows = _rows(base)
    header, body = rows[0], rows[1:]
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["garbage", "duplicate", "drop", "shuffle"]))
        if op == "garbage" and body:
            r, c = draw(st.integers(0, len(body) - 1)), draw(st.integers(0, len(header) - 1))
            body[r][c] = draw(GARBAGE)
        elif op == "duplicate" and body:
            r = draw(st.integers(0, len(body) - 1))
            body.insert(draw(st.integers(0, len(body))), list(body[r]))
        elif op == "drop" and body:
            body.pop(draw(st.integers(0, len(body) - 1)))
        elif op == "shuffle":
            order = draw(st.permutations(range(len(header))))
            header = [header[i] for i in order]
            body = [[row[i] for i in order] for row in body]
    data = _bytes([header, *body])
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    return data.decode("utf-8", errors="ignore").encode(encoding, errors="replace")


def _conserved(data: bytes, tmp_path) -> str:
    """'refused', or 'conserved' when every form row is loaded or quarantined (asserted)."""
    path = tmp_path / "RUNBACK_DATA_2016-06-01_0200.csv"
    path.write_bytes(data)
    try:
        export = read_export(path, STUDY)
    except RefusedFile:
        return "refused"
    parts = split_export(export, STUDY)
    checked = validate_export(parts, STUDY, Context(dt.date(2016, 6, 1)))
    held = checked.quarantined()
    for form, part in parts.forms.items():
        quarantined = held.loc[held["form"] == form, "source_row"].nunique()
        assert len(part.raw) == len(checked.valid[form]) + quarantined, form
    assert export.rows == parts.empty_rows + len(set().union(*(set(p.raw.index) for p in parts.forms.values())))
    return "conserved"


def test_mutations_are_refused_or_conserved(base, tmp_path_factory):
    outcomes = {"refused": 0, "conserved": 0}
    folder = tmp_path_factory.mktemp("mutations")

    @settings(
        max_examples=1000,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=mutated(base))
    def check(data):
        outcomes[_conserved(data, folder)] += 1

    check()
    print(f"mutations: {outcomes}")
    assert sum(outcomes.values()) >= 1000 and outcomes["refused"] and outcomes["conserved"]


def test_mutations_load_whole_or_not_at_all(base, tmp_path_factory):
    """Through the warehouse: a refused mutation leaves no cut; a loaded one passes the integrity checks."""
    folder = tmp_path_factory.mktemp("loads")
    counter = iter(range(10**6))

    @settings(
        max_examples=100,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=mutated(base))
    def check(data):
        n = next(counter)
        path = folder / f"RUNBACK_DATA_2016-06-01_0200_{n}.csv"
        path.write_bytes(data)
        db = folder / f"w{n}.duckdb"
        result = ingest_file(str(path), str(db), str(PROJECT_DIR))
        with duckdb.connect(str(db), read_only=True) as con:
            assert problems(con) == []
            cuts = con.execute("select count(*) from meta.data_cuts").fetchone()[0]
            if result.status == "refused":
                assert cuts == 0
                assert con.execute("select count(*) from quarantine.rows").fetchone()[0] == 0
            else:
                for form, counts in result.forms.items():
                    assert counts["rows_in"] == counts["loaded"] + counts["quarantined"], form
        db.unlink()

    check()
