"""Privacy: distinctive identifier values seeded into the simulated exports appear nowhere runback
writes: no warehouse table, report, export file, log line or Prefect artifact. And blinding: no
output a blinded reader can reach (all of those but the unblinded report) names a true arm."""

from __future__ import annotations

import csv
import io
import logging
import os
import re
from pathlib import Path

import duckdb
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from runback.flows.followup_report import followup_report
from runback.flows.nightly_ingest import nightly_ingest
from runback.flows.query.export import export_tables
from runback.flows.simulate import simulate


def _seed_identifiers(path, study) -> set[str]:
    """Rewrite a night's identifiers with distinctive values; return the values."""
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    seeded = set()
    for row in rows:
        if not row["first_name"]:
            continue
        rid = int(row["record_id"])
        row.update(
            first_name=f"Qzfirst{rid:03d}",
            last_name=f"Wxlast{rid:03d}",
            nric=f"T99{rid:05d}Z",
            phone=f"+65 9{rid:03d} 7711",
            email=f"zq{rid:03d}@leak.example",
            dob=f"1903-0{rid % 9 + 1}-1{rid % 9}",
        )
        seeded |= {row[f] for f in study.identifiers}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return seeded


@pytest.mark.slow
def test_identifiers_reach_nothing_runback_writes(tmp_path, study, prefect_harness, caplog, capfd):
    sim = simulate(tmp_path / "exports", participants=24, seed=21, nights=3)
    seeded = set().union(*(_seed_identifiers(path, study) for path in sim.files))
    assert len(seeded) >= 24 * 6
    db, key = tmp_path / "w.duckdb", Path(os.environ["RUNBACK_KEY"])  # the session's key (tests/conftest.py)
    with caplog.at_level(logging.DEBUG):
        nightly_ingest(paths=[str(tmp_path / "exports")], db=str(db))
        reports = [
            followup_report(timepoint=t, audience=a, blinded=b, key=str(key), out_dir=str(tmp_path / "out"), db=str(db))
            for t in ("week_8", "month_6")
            for a, b in (("closed", True), ("closed", False), ("open", True))
        ]
    written = {}
    for fmt in ("csv", "parquet", "dta"):
        for path in export_tables(db, tmp_path / f"export-{fmt}", fmt):
            written[str(path)] = path.read_bytes().decode("utf-8", errors="ignore")
    for path in reports:
        written[str(path)] = path.read_text(encoding="utf-8")
    out, err = capfd.readouterr()
    written["logs"] = caplog.text + out + err
    with get_client(sync_client=True) as client:
        for key_name in ("nightly-ingest-summary", "nightly-ingest-quarantine", "followup-report"):
            artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key_name])))
            written[f"artifact {key_name}"] = "\n".join(str(a.data) + str(a.description) for a in artifacts)

    hits = [(where, value) for where, text in written.items() for value in seeded if value in text]
    assert hits == []
    codes = re.compile(r"(?<![A-Za-z0-9_])(LL|LE|LS)(?![A-Za-z0-9_])")
    names = ("lower limb", "lumbar extensor", "lumbar stabilisation")
    for where, text in written.items():
        if where.endswith("_unblinded.html"):
            continue  # the one output made for unblinded readers
        if where.endswith((".parquet", ".dta")):  # binary: look at the values, not at the bytes
            import pandas as pd

            table = pd.read_parquet(where) if where.endswith(".parquet") else pd.read_stata(where)
            text = table.to_csv(index=False)
        text = re.sub(r"data:image/[^\"]+", "", text)
        assert not codes.search(text), (where, codes.search(text))
        assert not [n for n in names if n in text.lower()], where

    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        con.execute("create temp table needles as select unnest($v) as needle", {"v": sorted(seeded)})
        for schema, table in tables:
            for column, *_ in con.execute(f'describe "{schema}"."{table}"').fetchall():
                hits = con.execute(
                    f'select count(*) from "{schema}"."{table}" t join needles n '
                    f'on strpos(cast(t."{column}" as varchar), n.needle) > 0'
                ).fetchone()[0]
                assert hits == 0, f"identifier value in {schema}.{table}.{column}"
