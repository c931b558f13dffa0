"""Test helpers: small exports built from dicts, warehouses on disk, a comparable warehouse state."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import shutil
from pathlib import Path

from runback.schemas.study import Study

ROOT = Path(__file__).resolve().parents[1]


def _shared(name: str) -> Path:
    """`../shared/<name>` beside the checkout (or beside a folder above it, for a git worktree)."""
    for folder in ROOT.parents:
        if (folder / "shared" / name).exists():
            return folder / "shared" / name
    return ROOT.parent / "shared" / name


SAMPLES = _shared("redcap-samples")
"""Real REDCap exports of public projects (read in place, never copied; tests skip without them)."""


def export_text(study: Study, rows: list[dict], delimiter: str = ",", header: list[str] | None = None) -> str:
    """A raw export of the study as text: given values, every other column blank."""
    header = header or study.export_columns()
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(col, "") for col in header])
    return buf.getvalue()


def write_export(folder: Path, name: str, study: Study, rows: list[dict], **kw) -> Path:
    path = folder / name
    path.write_text(export_text(study, rows, **kw), encoding="utf-8")
    return path


def screened(record: str, **values) -> dict:
    """A baseline row with a complete screening form of a consenting, eligible person."""
    row = {
        "record_id": record,
        "redcap_event_name": "baseline_arm_1",
        "scr_date": "2014-01-06",
        "first_name": "Mei Ling",
        "last_name": "Tan",
        "nric": "S8712345D",
        "phone": "9123 4567",
        "email": "meiling.tan@example.com",
        "dob": "1987-03-02",
        "sex": "2",
        "age": "26",
        "runs_per_week": "3",
        "lbp_months": "8",
        "waitlist": "1",
        "eligible": "1",
        "consent": "1",
        "consent_date": "2014-01-08",
        "screening_complete": "2",
    }
    row.update({f"excl_reason___{code}": "0" for code in ("1", "2", "3", "4", "5", "99", "unk", "nask", "asku", "na")})
    row.update(values)
    return row


def randomised(record: str, group: str = "1", **values) -> dict:
    """A complete baseline row: screening, randomisation and the baseline NPRS."""
    return screened(
        record,
        **{
            "rand_date": "2014-01-10",
            "rand_id": f"A{record}",
            "rand_group": group,
            "randomisation_complete": "2",
            "nprs_date": "2014-01-09",
            "nprs_run": "6",
            "nprs_avg": "4",
            "nprs_complete": "2",
            "baseline_characteristics_complete": "0",
            "psfs_complete": "0",
            "odi_complete": "0",
            "physical_tests_complete": "0",
            **{f"prior_treatment___{c}": "0" for c in ("1", "2", "3", "4", "5", "99", "unk", "nask", "asku", "na")},
            **values,
        },
    )


def visit(record: str, event: str, **values) -> dict:
    return {"record_id": record, "redcap_event_name": event, **values}


def session(record: str, instance: int, **values) -> dict:
    return {
        "record_id": record,
        "redcap_event_name": "programme_arm_1",
        "redcap_repeat_instrument": "session_log",
        "redcap_repeat_instance": str(instance),
        "sess_date": "2014-01-14",
        "sess_week": "1",
        "sess_type": "1",
        "sess_done": "1",
        "sess_rpe": "5",
        "session_log_complete": "2",
        **values,
    }


def build_warehouse(
    folder: Path, study: Study, nights: list[list[dict]], analyse: bool = True, header: list[str] | None = None
) -> Path:
    """A warehouse from nightly exports given as rows (one list per night; `header`: the export's
    columns, default the study's), analysed at the last cut."""
    from runback.flows.analyse.refresh import refresh_analysis
    from runback.flows.ingest.pipeline import ingest_file
    from runback.flows.settings import PROJECT_DIR
    from runback.flows.warehouse import connect

    db = folder / "w.duckdb"
    for i, rows in enumerate(nights):
        name = f"RUNBACK_DATA_2014-{i // 28 + 6:02d}-{i % 28 + 1:02d}_0200.csv"
        path = write_export(folder, name, study, rows, header=header)
        ingest_file(path, db, PROJECT_DIR)
    if analyse:
        with connect(db) as con:
            cut = con.execute("select max(cut_id) from meta.data_cuts").fetchone()[0]
            refresh_analysis(con, study, cut)
    return db


def ingest(path, db, project=None, *, scanned_in=None, conflict=None, settle_s: float = 0.0, **options):
    """One export file ingested as a night ingests it (a LoadResult): `scanned_in`, `conflict` and
    `settle_s` are the entry's (as a scan finds it), the rest the run's options (accept_*,
    export_time, key; a key file's path may be a string)."""
    from runback.flows.ingest.files import Entry
    from runback.flows.ingest.pipeline import Options, ingest_file
    from runback.flows.settings import PROJECT_DIR

    if options.get("key") is not None:
        options["key"] = Path(options["key"])
    entry = Entry(Path(path), Path(scanned_in) if scanned_in else None, conflict, settle_s)
    return ingest_file(entry, db, project or PROJECT_DIR, Options(**options))


def scan(folder, db, project=None, **options) -> list:
    """Every export of a folder ingested as a night finds them (oldest first, each entry as the
    scan found it): their LoadResults."""
    from runback.flows.ingest.files import find_exports
    from runback.flows.ingest.pipeline import Options, ingest_file
    from runback.flows.settings import PROJECT_DIR

    found = find_exports([Path(folder)])
    return [ingest_file(e, db, project or PROJECT_DIR, Options(**options)) for e in found]


def simulated_warehouse(folder: Path, study: Study, **simulation) -> tuple[Path, int]:
    """A simulated trial ingested night by night into `folder/w.duckdb`, analysed at its last cut."""
    from runback.flows.analyse.refresh import refresh_analysis
    from runback.flows.ingest.files import find_exports
    from runback.flows.ingest.pipeline import ingest_file
    from runback.flows.settings import PROJECT_DIR
    from runback.flows.simulate import simulate
    from runback.flows.warehouse import connect

    simulate(folder, **simulation)
    db = folder / "w.duckdb"
    for entry in find_exports([folder]):
        ingest_file(entry, db, PROJECT_DIR)
    with connect(db) as con:
        cut = con.execute("select max(cut_id) from meta.data_cuts").fetchone()[0]
        refresh_analysis(con, study, cut)
    return db, cut


VOLATILE = {"ingested_at", "applied_at", "rendered_at", "drawn_at"}
"""Columns holding wall-clock time: they differ between two equal loads."""


def warehouse_state(db: Path) -> dict[str, list]:
    """Every table of a warehouse, rows sorted, wall-clock columns left out: equal states are equal
    warehouses."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables order by all").fetchall()
        state = {}
        for schema, table in tables:
            columns = [c[0] for c in con.execute(f'describe "{schema}"."{table}"').fetchall() if c[0] not in VOLATILE]
            select = ", ".join(f'"{c}"' for c in columns)
            state[f"{schema}.{table}"] = sorted(
                map(repr, con.execute(f'select {select} from "{schema}"."{table}"').fetchall())
            )
        return state


def reshaped(data: bytes, *, delimiter: str = ",", bom: bool = False, drop=(), rename=None, add=None) -> bytes:
    """An export's rows written again as another producer would: another delimiter, a BOM or not,
    columns dropped (e.g. the missing-data-code checkbox columns an API export lacks), renamed, or
    added (`add`: column -> value for every row, or a function of the row)."""
    text = data.decode("utf-8-sig")
    source = list(csv.DictReader(io.StringIO(text)))
    header = [c for c in next(csv.reader(io.StringIO(text))) if c not in set(drop)]
    header = [(rename or {}).get(c, c) for c in header]
    extra = dict(add or {})
    header += [c for c in extra if c not in header]
    back = {v: k for k, v in (rename or {}).items()}
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for row in source:
        values = {c: row.get(back.get(c, c), "") for c in header}
        values |= {c: (v(row) if callable(v) else v) for c, v in extra.items()}
        writer.writerow([values[c] for c in header])
    return (b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode()


def missing_code_columns(study: Study) -> list[str]:
    """The checkbox columns the study's missing-data codes add (absent from API exports)."""
    return list(study.missing_code_columns)


ARM_LETTER = re.compile(r"\bArms? [ABC]\b|(?<![A-Za-z0-9])[ABC] (?:−|-|vs) [ABC](?![A-Za-z0-9])|data-arm=")
"""An arm named by its letter: "Arm B", a pair "C − A", a cell tagged with its arm."""


def report_html(
    db: Path, cut: int, timepoint: str, key: Path | None = None, audience: str = "closed", dmc_reason: str | None = None
) -> str:
    """The follow-up report's page as the report's steps make it (blinded unless a key is given),
    without writing it: its charts are the kept ones where the warehouse has them."""
    import logging

    from runback.flows.report.make import allocation_arms, draw, gather, render

    arms = allocation_arms(key is None, str(key) if key else None, str(db), audience, logging.getLogger("runback"))
    context = gather(str(db), cut, timepoint, arms, dmc_reason)
    return render(context, draw(str(db), context)[0])


def page_text(html: str) -> str:
    """What a reader of the page can see: its text, and the text alternative and title of every
    element (the charts' alt text), without the charts' bytes."""
    shown = re.findall(r'(?:alt|title|aria-label)="([^"]*)"', html)
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)[^>]*>.*?</\1>", "", html, flags=re.S))
    return " ".join([text, *shown])


def chart_texts(html: str) -> list[str]:
    import base64

    return [base64.b64decode(c).decode() for c in re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", html)]


@contextlib.contextmanager
def chromium(width: int = 1280, height: int = 900):
    """A headless Debian Chromium driven through chromedriver (the test is skipped without them)."""
    import pytest
    from selenium import webdriver

    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(shutil.which("chromedriver")))
    try:
        yield driver
    finally:
        driver.quit()


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for a server a test starts)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, every: float = 1.0):
    """`predicate()`'s first true value, asked every `every` seconds; a failure after `timeout` s."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
