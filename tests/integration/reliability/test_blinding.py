"""Blinding that holds in every output (docs/blinding.md).

No output a blinded user can reach (the DuckDB file, `query`, `export`, reports, artifacts, logs)
holds a participant's true arm or a mapping from letters to arms; the key is made private, checked
by its fingerprint and never replaced by a typo; a blinded report cannot encode the key in the
order of its listings (the six-keys property); free text is withheld, never rewritten; unblinded
output needs the warehouse's key, says so, and is logged before it exists.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import secrets
import stat
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from runback.flows import allocation
from runback.flows.cli import app
from runback.flows.ingest.files import find_exports
from runback.flows.report import blinding
from runback.flows.report.make import allocation_arms
from runback.flows.settings import PROJECT_DIR
from runback.flows.warehouse import connect
from runback.schemas.trial import ARM_NAMES, ARM_ORDER, BLINDED_ARMS
from tests.helpers import ARM_LETTER, chart_texts, ingest, page_text, randomised, report_html, write_export

runner = CliRunner()
TRUE_ARMS = re.compile(r"(?<![A-Za-z0-9_])(LL|LE|LS)(?![A-Za-z0-9_])")
NAMES = [n.lower() for n in ARM_NAMES.values()]


def key_file(folder: Path, letters: dict[str, str]) -> Path:
    """A key file with the given permutation (arm -> letter), as `runback key new` writes one."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "allocation.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"arm_letters": letters, "secret": secrets.token_hex(32)}, out)
    return path


def warehouse_text(db: Path) -> str:
    """Every value of every table and view of a warehouse, as text."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        return "\n".join(repr(con.execute(f'select * from "{s}"."{t}"').fetchall()) for s, t in tables)


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    """A simulated trial ingested with a key of known permutation (LL -> C, LE -> A, LS -> B)."""
    from runback.flows.analyse.refresh import refresh_analysis
    from runback.flows.ingest.project import load_project
    from runback.flows.simulate import simulate

    root = tmp_path_factory.mktemp("blinded")
    simulate(root / "exports", participants=60, seed=4, defects=True, nights=4)
    key = key_file(root / "keys", {"LL": "C", "LE": "A", "LS": "B"})
    db = root / "w.duckdb"
    for entry in find_exports([root / "exports"]):
        ingest(entry.path, db, key=key)
    with connect(db) as con:
        cut = con.execute("select max(cut_id) from meta.data_cuts").fetchone()[0]
        refresh_analysis(con, load_project(), cut)
    return db, cut, key, root


def test_the_warehouse_holds_letters_never_arms(trial):
    db, _, _, _ = trial
    with duckdb.connect(str(db), read_only=True) as con:
        groups = {r[0] for r in con.execute("select distinct rand_group from clean.randomisation").fetchall()}
        raw = {r[0] for r in con.execute("select distinct rand_group from raw.randomisation").fetchall()}
        arms = {r[0] for r in con.execute("select distinct arm from analysis.participants").fetchall()}
    assert groups <= {*BLINDED_ARMS, None} and raw <= {*BLINDED_ARMS, "", None} and arms == set(BLINDED_ARMS)
    text = warehouse_text(db)
    assert not TRUE_ARMS.search(text)
    assert not [n for n in NAMES if n in text.lower()]


def test_query_and_export_are_blinded_by_construction(trial, tmp_path):
    db, _, _, _ = trial
    result = runner.invoke(
        app, ["query", "--db", str(db), "--format", "csv", "--limit", "0", "select * from latest.outcome_summary"]
    )
    assert result.exit_code == 0 and not TRUE_ARMS.search(result.stdout)
    out = tmp_path / "export"
    assert runner.invoke(app, ["export", "--db", str(db), "--to", str(out)]).exit_code == 0
    for path in out.iterdir():
        text = path.read_text()
        assert not TRUE_ARMS.search(text), path.name
        assert not [n for n in NAMES if n in text.lower()], path.name


def test_a_hand_made_warehouse_is_blinded_too(tmp_path, study):
    key = key_file(tmp_path / "keys", {"LL": "B", "LE": "C", "LS": "A"})
    rows = [randomised(str(i), group=str(i % 3 + 1)) for i in range(1, 8)]
    rows.append(randomised("9", group="LS"))  # a typo that names an arm: withheld, not stored as written
    db = tmp_path / "w.duckdb"
    result = ingest(
        str(write_export(tmp_path, "RUNBACK_DATA_2014-03-01_0200.csv", study, rows)),
        str(db),
        str(PROJECT_DIR),
        key=str(key),
    )
    assert result.status == "loaded"
    text = warehouse_text(db)
    assert not TRUE_ARMS.search(text) and "[withheld]" in text
    with duckdb.connect(str(db), read_only=True) as con:
        got = dict(con.execute("select record_id, rand_group from clean.randomisation").fetchall())
    assert got["1"] == "C" and got["2"] == "A" and got["3"] == "B"  # codes 2, 3, 1 -> LE, LS, LL


# -- the key ------------------------------------------------------------------------------------------
def test_a_new_key_is_private_from_its_first_byte(tmp_path):
    made = allocation.new_key(tmp_path / "k" / "allocation.key")
    assert stat.S_IMODE(made.path.stat().st_mode) == 0o600
    with pytest.raises(allocation.KeyError_, match="already exists"):
        allocation.new_key(made.path)


def test_a_key_others_can_read_is_refused(tmp_path):
    path = allocation.new_key(tmp_path / "k" / "allocation.key").path
    path.chmod(0o644)
    with pytest.raises(allocation.KeyError_, match="can be read by other users"):
        allocation.read_key(path)


def test_a_hand_written_or_mistyped_key_is_refused_not_made(trial, tmp_path, study):
    db, cut, key, root = trial
    forged = key_file(tmp_path / "forged", {"LL": "C", "LE": "A", "LS": "B"})  # the same letters, not the key
    for bad in (forged, root / "keys" / "alocation.key"):
        result = runner.invoke(
            app,
            [
                "report",
                "--db",
                str(db),
                "--timepoint",
                "week_8",
                "--unblinded",
                "--key",
                str(bad),
                "--out",
                str(tmp_path / "out"),
            ],
        )
        assert result.exit_code == 3, result.output
        assert not (root / "keys" / "alocation.key").exists()
    night = write_export(tmp_path, "RUNBACK_DATA_2016-12-01_0200.csv", study, [randomised("1")])
    with pytest.raises(allocation.KeyError_, match="is not this warehouse's"):
        ingest(str(night), str(db), PROJECT_DIR, key=str(forged))


def test_the_key_is_kept_out_of_the_warehouses_folder(tmp_path, study):
    rows = [randomised("1")]
    with pytest.raises(allocation.KeyError_, match="lies in the warehouse's folder"):
        ingest(
            str(write_export(tmp_path, "RUNBACK_DATA_2014-03-01_0200.csv", study, rows)),
            str(tmp_path / "w.duckdb"),
            str(PROJECT_DIR),
            key=str(tmp_path / "allocation.key"),
        )


def test_cuts_and_reports_record_the_keys_fingerprint(trial, tmp_path):
    db, cut, key, _ = trial
    fingerprint = allocation.read_key(key).fingerprint
    assert len(fingerprint) == 16 and fingerprint not in key.read_text()
    with duckdb.connect(str(db), read_only=True) as con:
        assert {r[0] for r in con.execute("select key_fingerprint from meta.data_cuts").fetchall()} == {fingerprint}
    html = report_html(db, cut, "week_8")
    assert f'fingerprint <span class="hash">{fingerprint}</span>' in html


# -- reports --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("timepoint", ["week_8", "month_6"])
def test_an_open_report_names_no_arm_and_a_closed_blinded_one_no_arm_name(trial, timepoint):
    db, cut, _, _ = trial
    opened = report_html(db, cut, timepoint, audience="open")
    for text in [page_text(opened), *chart_texts(opened)]:
        assert not ARM_LETTER.search(text), ARM_LETTER.search(text)
        assert not TRUE_ARMS.search(text) and not [n for n in NAMES if n in text.lower()]
    assert blinding.check_pooled(opened) == [] and blinding.check_letter_order(opened) == []
    assert blinding.find_revealing(opened) == [] and "OPEN report" in opened
    assert 'id="contrasts"' not in opened and 'id="outcomes"' not in opened and "sae-listing" not in opened
    closed = report_html(db, cut, timepoint)
    for text in [page_text(closed), *chart_texts(closed)]:
        assert not TRUE_ARMS.search(text) and not [n for n in NAMES if n in text.lower()]
    assert blinding.find_revealing(closed) == [] and "Arm A" in closed and "sae-listing" in closed


def test_the_open_check_finds_an_arm_named_by_its_letter():
    assert blinding.check_pooled("<td>All participants</td>") == []
    assert blinding.check_pooled("<th>Arm B: events</th><td>Arms A</td>") == [
        "an open report names Arm B",
        "an open report names Arms A",
    ]


def test_the_not_fitted_note_names_the_model_and_lists_arms_in_letter_order(tmp_path, study):
    key = key_file(tmp_path / "keys", {"LL": "C", "LE": "A", "LS": "B"})
    rows = [randomised(str(i), group="1") for i in range(1, 5)] + [randomised("9", group="2")]
    db = tmp_path / "w.duckdb"
    ingest(
        str(write_export(tmp_path, "RUNBACK_DATA_2014-03-01_0200.csv", study, rows)),
        str(db),
        str(PROJECT_DIR),
        key=str(key),
    )
    from runback.flows.analyse.refresh import refresh_analysis

    with connect(db) as con:
        refresh_analysis(con, study, 1)
    html = report_html(db, 1, "month_6")
    notes = re.findall(r"<li>(.*?)</li>", html.split('id="methods"')[1])
    assert notes and all(n.startswith(("MMRM", "ANCOVA", "GEE", "Mixed model", "Delta-adjusted MI")) for n in notes)
    assert any("Running ability (PSFS)" in n for n in notes)
    for note in notes:
        letters = re.findall(r"\b([ABC]) \d+", note)
        assert letters == sorted(letters), note
    assert blinding.check_letter_order(html) == []


def test_free_text_naming_an_arm_is_withheld_whole_and_counted(tmp_path, study):
    key = key_file(tmp_path / "keys", {"LL": "C", "LE": "A", "LS": "B"})
    texts = [
        "sore during LS class",
        "lumbar stabilisation exercises",
        "Lumbar\u200bextensor strengthening",
        "ＬＥ session",
        "twisted ankle",
    ]
    rows = [randomised(str(i), group=str(i % 3 + 1)) for i in range(1, 10)]
    for i, text in enumerate(texts, start=1):
        rows.append(
            {
                "record_id": str(i),
                "redcap_event_name": "programme_arm_1",
                "redcap_repeat_instrument": "adverse_event",
                "redcap_repeat_instance": "1",
                "ae_onset": "2014-01-20",
                "ae_desc": text,
                "ae_severity": "1",
                "ae_serious": "0",
                "ae_related": "2",
                "adverse_event_complete": "2",
                **{f"ae_action___{c}": "0" for c in ("1", "2", "3", "4", "5", "unk", "nask", "asku", "na")},
            }
        )
    db = tmp_path / "w.duckdb"
    ingest(
        str(write_export(tmp_path, "RUNBACK_DATA_2014-03-01_0200.csv", study, rows)),
        str(db),
        str(PROJECT_DIR),
        key=str(key),
    )
    from runback.flows.analyse.refresh import refresh_analysis

    with connect(db) as con:
        refresh_analysis(con, study, 1)
    html = report_html(db, 1, "week_8")
    assert html.count(blinding.WITHHELD) == 4 and "twisted ankle" in html
    assert "Arm B class" not in html and "4 withheld" in html
    unblinded = report_html(db, 1, "week_8", key)
    assert "sore during LS class" in unblinded  # the unblinded report shows the text as written


def test_an_unblinded_report_is_logged_before_it_exists(trial, tmp_path):
    from runback.flows.report.make import write

    db, cut, key, _ = trial
    import subprocess
    import sys

    arms = allocation_arms(False, str(key), str(db), "closed", logging.getLogger("runback"))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(30)",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    page = ("<html>UNBLINDED</html>", tmp_path / "r.html", str(db), ("week_8", cut, "closed"))
    try:  # a running query or ingest holds the warehouse: the log row cannot be written
        assert holder.stdout.readline().strip() == "held"
        os.environ["RUNBACK_LOCK_TIMEOUT"] = "0.3"
        with pytest.raises(Exception, match="in use"):
            write(*page, arms, {}, logging.getLogger("runback"))
    finally:
        os.environ.pop("RUNBACK_LOCK_TIMEOUT")
        holder.kill()
        holder.wait()
    assert not (tmp_path / "r.html").exists() and not list(tmp_path.glob("*.tmp"))
    write(*page, arms, {}, logging.getLogger("runback"))
    with duckdb.connect(str(db), read_only=True) as con:
        logged = con.execute("select blinded, key_fingerprint from meta.report_runs where file_name = 'r.html'")
        logged = logged.fetchall()
    assert logged == [(False, arms.fingerprint)]


def test_unblinded_export_and_query_need_the_key_say_so_and_are_logged(trial, tmp_path):
    db, cut, key, _ = trial
    out = tmp_path / "export"
    assert runner.invoke(app, ["export", "--db", str(db), "--to", str(out), "--unblinded"]).exit_code == 3
    result = runner.invoke(app, ["export", "--db", str(db), "--to", str(out), "--unblinded", "--key", str(key)])
    assert result.exit_code == 0, result.output
    import csv

    with (out / "participants.csv").open() as table:
        assert {r["arm"] for r in csv.DictReader(table)} == set(ARM_ORDER)
    assert "UNBLINDED" in (out / "UNBLINDED.txt").read_text()
    assert "UNBLINDED" in (out / "data_dictionary.csv").read_text()
    query = runner.invoke(
        app,
        [
            "query",
            "--db",
            str(db),
            "--unblinded",
            "--key",
            str(key),
            "--format",
            "csv",
            "select u.arm, count(*) n from latest.participants p join unblinded_arms u "
            "on p.arm = u.letter group by all order by 1",
        ],
    )
    assert query.exit_code == 0 and query.stdout.splitlines()[0] == "arm,n" and "UNBLINDED" in query.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        logged = con.execute("select what from meta.unblinding order by unblinding_id").fetchall()
        assert [r[0] for r in logged][-2:] == ["export", "query"]
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        assert "unblinded_arms" not in tables  # the session's table is never stored


# -- the six keys -------------------------------------------------------------------------------------
class _Tables(HTMLParser):
    """Each table of a page as a grid: header labels per column and body rows of cell texts,
    with colspan and rowspan laid out (a cell spanning rows counts in each of them)."""

    def __init__(self):
        super().__init__()
        self.tables, self._row, self._cell, self._head = [], None, None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append({"head": [], "body": []})
        elif tag == "thead":
            self._head = True
        elif tag == "tr" and self.tables:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ["", int(attrs.get("colspan", 1)), int(attrs.get("rowspan", 1))]

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append((" ".join(self._cell[0].split()), self._cell[1], self._cell[2]))
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            self.tables[-1]["head" if self._head else "body"].append(self._row)
            self._row = None
        elif tag == "thead":
            self._head = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[0] += data


def _grid(rows: list[list[tuple[str, int, int]]]) -> list[list[str]]:
    """Rows of (text, colspan, rowspan) laid out on a grid of columns."""
    grid, carried = [], {}  # column -> (text, rows left)
    for row in rows:
        out, cells, column = {}, list(row), 0
        for col, (text, left) in list(carried.items()):
            out[col] = text
            carried[col] = (text, left - 1)
            if left - 1 == 0:
                del carried[col]
        for text, colspan, rowspan in cells:
            while column in out:
                column += 1
            for c in range(column, column + colspan):
                out[c] = text
                if rowspan > 1:
                    carried[c] = (text, rowspan - 1)
            column += colspan
        grid.append([out[c] for c in sorted(out)])
    return grid


def _negated(text: str) -> str:
    """A difference's cell for the opposite pair: estimate and bounds negated and swapped."""
    numbers = re.findall(r"[+−-]\d+\.\d+", text)
    if len(numbers) < 3:
        return text
    flip = [("−" + n[1:]) if n[0] == "+" else ("+" + n[1:]) for n in numbers[:3]]
    return text.replace(numbers[0], flip[0], 1).replace(f"[{numbers[1]}, {numbers[2]}]", f"[{flip[2]}, {flip[1]}]", 1)


def canonical(html: str, key: dict[str, str]) -> list:
    """The page's tables with the letters turned back into arms, independent of which letter each
    arm got: columns keyed by arm (or by arm pair, oriented in protocol order), rows sorted. The
    key's fingerprint (which differs by key) is left out."""
    arm_of = {letter: arm for arm, letter in key.items()}

    def relabel(text: str) -> str:
        text = re.sub(r"fingerprint [0-9a-f]{16}", "fingerprint <key>", text)
        text = re.sub(r"\bArm ([ABC])\b", lambda m: f"Arm {arm_of[m[1]]}", text)
        items = re.split(r"[;,] ", text)
        return "; ".join(sorted(items)) if len(items) > 1 and all(re.fullmatch(r"Arm \w\w", i) for i in items) else text

    parser = _Tables()
    parser.feed(re.sub(r"data:image/[^\"]+", "", html))
    out = []
    for table in parser.tables:
        head = _grid(table["head"])
        labels = [
            " / ".join(dict.fromkeys(level[c] for level in head if c < len(level)))
            for c in range(max((len(level) for level in head), default=0))
        ]
        rows = []
        for row in _grid(table["body"]):
            cells = []
            for i, cell in enumerate(row):
                label = relabel(labels[i]) if i < len(labels) else str(i)
                # a responder comparison's relative risk, inverted for the opposite pair, cannot be
                # compared from its rounded print (1/0.45 is 2.22 for 2.20): its counts, compared
                # in the table above, and its difference, here, decide it (tests/unit checks it against R)
                cell = cell.partition("RR ")[0]
                pair = re.fullmatch(r"Arm (\w\w) − Arm (\w\w)", label)
                if pair and ARM_ORDER.index(pair[1]) > ARM_ORDER.index(pair[2]):
                    label, cell = f"Arm {pair[2]} − Arm {pair[1]}", _negated(cell)
                cells.append((label, re.sub(r"[+−-](0\.0+)(?!\d)", r"\1", relabel(cell))))  # a zero has no sign
            rows.append(tuple(sorted(cells)))
        # rows in the order of the cells that name them (an arm's column last): their numbers may
        # differ in the last digit from one key to another
        out.append(sorted(rows, key=lambda row: ([c for c in row if not c[0].startswith("Arm ")], row)))
    return out


_NUMBER = re.compile(r"\d+\.(\d+)")


def same_report(a: list, b: list) -> list[str]:
    """Where two canonical reports differ: text exactly, printed numbers to one unit of their last
    digit (the models are fitted with another arm as reference level, so the solver's last digits
    may differ)."""
    problems = []
    for t, (ta, tb) in enumerate(zip(a, b, strict=True)):
        for ra, rb in zip(ta, tb, strict=True):
            for (la, ca), (lb, cb) in zip(ra, rb, strict=True):
                na, nb = _NUMBER.findall(ca), _NUMBER.findall(cb)
                values = [(float(x.group()), len(x.group(1))) for x in _NUMBER.finditer(ca)]
                others = [float(x.group()) for x in _NUMBER.finditer(cb)]
                if (
                    (la, _NUMBER.sub("#", ca)) != (lb, _NUMBER.sub("#", cb))
                    or len(na) != len(nb)
                    or any(abs(v - w) > 1.01 * 10**-d for (v, d), w in zip(values, others))
                ):
                    problems.append(f"table {t}: {la}: {ca!r} != {cb!r}")
    return problems


@pytest.mark.slow
@pytest.mark.parametrize("timepoint", ["week_8", "month_6"])
def test_six_keys_give_the_same_report_after_relabelling(tmp_path, study, timepoint):
    """Property: the same cut, blinded with each of the six keys, gives reports equal once the
    letters are turned back into arms, each listing its arms in letter order; unblinded, the six
    are the same page but for the key's fingerprint (and, in the tables, the models' last digits)."""
    from runback.flows.analyse.refresh import refresh_analysis
    from runback.flows.simulate import simulate

    simulate(tmp_path / "exports", participants=45, seed=8, nights=3)
    exports = [e.path for e in find_exports([tmp_path / "exports"])]
    blinded, unblinded = [], []
    for i, letters in enumerate(itertools.permutations(BLINDED_ARMS)):
        permutation = dict(zip(ARM_ORDER, letters, strict=True))
        key = key_file(tmp_path / f"keys{i}", permutation)
        db = tmp_path / f"w{i}" / "w.duckdb"
        for path in exports:
            ingest(path, str(db), PROJECT_DIR, key=str(key))
        with connect(db) as con:
            refresh_analysis(con, study, 3)
        page = report_html(db, 3, timepoint)
        assert blinding.check_letter_order(page) == []
        assert re.findall(r"BLINDED: arms are shown as ([^.]*)\.", page) == ["Arm A, Arm B, Arm C"]
        blinded.append(canonical(page, permutation))
        fingerprint = allocation.read_key(key).fingerprint
        page = report_html(db, 3, timepoint, key).replace(fingerprint, "<fingerprint>")
        outside = re.sub(r"<table.*?</table>|data:image/[^\"]+", "", page, flags=re.S)  # charts: their last digits
        unblinded.append((outside, canonical(page, permutation)))
    for other in blinded[1:]:
        assert same_report(blinded[0], other) == []
    for text, tables in unblinded[1:]:  # the same page but its tables' last digits (see same_report)
        assert text == unblinded[0][0] and same_report(unblinded[0][1], tables) == []


def test_an_older_warehouse_is_masked_once_with_its_key(tmp_path, study):
    """A warehouse made before masking (arm codes stored, a key file without a secret) refuses the
    next ingest until `runback key migrate` masks it, which keeps the key's letters."""
    letters = {"LL": "B", "LE": "C", "LS": "A"}
    key = key_file(tmp_path / "keys", letters)
    rows = [randomised(str(i), group=str(i % 3 + 1)) for i in range(1, 10)]
    db = tmp_path / "w.duckdb"
    ingest(
        str(write_export(tmp_path, "RUNBACK_DATA_2014-03-01_0200.csv", study, rows)),
        str(db),
        str(PROJECT_DIR),
        key=str(key),
    )
    with duckdb.connect(str(db)) as con:  # what an older runback left: codes, no fingerprint
        for schema in ("raw", "clean"):
            con.execute(
                f"update {schema}.randomisation set rand_group = case rand_group when 'B' then '1' "
                "when 'C' then '2' when 'A' then '3' else rand_group end"
            )
        con.execute("delete from meta.allocation_keys")
        con.execute("update meta.data_cuts set key_fingerprint = null")
    key.unlink()
    key.write_text(json.dumps({"arm_letters": letters}))
    key.chmod(0o600)
    night = write_export(tmp_path, "RUNBACK_DATA_2014-03-02_0200.csv", study, [*rows, randomised("10")])
    with pytest.raises(allocation.KeyError_, match="holds the allocation unmasked"):
        ingest(str(night), str(db), PROJECT_DIR, key=str(key))
    assert runner.invoke(app, ["key", "migrate", "--db", str(db)]).exit_code != 0  # refused without the key
    result = runner.invoke(app, ["key", "migrate", "--key", str(key), "--db", str(db)])
    assert result.exit_code == 0, result.output
    upgraded = json.loads(key.read_text())
    assert upgraded["arm_letters"] == letters and len(upgraded["secret"]) == 64
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not TRUE_ARMS.search(warehouse_text(db))
    with duckdb.connect(str(db), read_only=True) as con:
        masked = dict(con.execute("select record_id, rand_group from clean.randomisation").fetchall())
        logged = con.execute("select what from meta.unblinding").fetchall()
    assert masked["1"] == "C" and masked["3"] == "B" and logged == [("mask",)]  # codes 2, 1 -> LE, LL
    assert ingest(str(night), str(db), PROJECT_DIR, key=str(key)).status == "loaded"


@pytest.mark.parametrize(
    "text",
    [
        "Dizziness during lumbar-extensor session",
        "Knee pain in lower-limb programme",
        "leg-strengthening day",
        "core-stability block",
        "lumbar  extensor",
        "lumbar\nextensor",
        "Lumbar\U000e0100 extensor",
        "lumbar\u2800extensor",
        "told the nurse she is in the L\U000e0020S class",
        "L\u0415 session",
        "ĹL",
        "\uff2c\uff2c",
        "Lumbar stabilization",
        "Fell on the way to the Arm B class",
        "moved from Arm C to Arm A",
        "arm-b",
        "GROUP c",
        "Arm\u00a0B",
    ],
)
def test_free_text_naming_an_arm_however_it_is_written_is_withheld(text):
    """Hyphens, runs of spaces, line breaks, characters that show as nothing, tags, look-alike
    letters, accents, full-width forms, an arm's letter: the text is withheld whole."""
    assert blinding.withhold(text) == (blinding.WITHHELD, True)


@pytest.mark.parametrize(
    "text",
    [
        "Shin pain",
        "Upper respiratory tract infection",
        "Llama bite",
        "fell in the hall",
        "sore calf after armchair rest",
        None,
        "",
    ],
)
def test_free_text_that_names_no_arm_is_shown_as_written(text):
    assert blinding.withhold(text) == (text, False)


def test_the_closed_listings_withhold_nothing_the_open_listing_shows():
    """The same committee reads the open and the closed report: the closed listings give each
    event's arm letter and grading whole (a category of one arm only is not suppressed, since the
    open listing shows it), and order by what they show, not by arm; free text naming an arm is
    withheld in both."""
    from runback.flows.report import context

    per_arm = [
        {"dimension": "Seriousness", "category": "Serious", "arm": arm, "events": 1, "participants": 1}
        for arm in ("A", "B")
    ]
    columns = ("arm", "onset_day", "description", "severity", "serious", "relatedness")
    events = [
        dict(zip(columns, row, strict=True))
        for row in [
            ("B", 56, "Dizziness during a session", "Moderate", True, "Possible"),
            ("A", 20, "Upper respiratory tract infection", "Mild", True, "Probable"),
            ("A", 3, "Shin pain in the lumbar stabilisation class", "Mild", False, "Unrelated"),
        ]
    ]
    arms = blinding.arms_for(True)
    closed, pooled = context.ae_listing(events, arms), context.ae_listing(events, blinding.arms_for(True, pooled=True))
    assert [(r["arm"], r["onset_day"], r["severity"]) for r in closed["rows"]] == [
        ("Arm A", 20, "Mild"),
        ("Arm B", 56, "Moderate"),
        ("Arm A", 3, "Mild"),
    ]
    assert [r["arm"] for r in pooled["rows"]] == [None] * 3
    for listing in (closed, pooled):
        shown = [(r["severity"], r["relatedness"]) for r in listing["rows"]]
        assert shown == [("Mild", "Probable"), ("Moderate", "Possible"), ("Mild", "Unrelated")]
        assert listing["withheld"] == 1 and listing["rows"][2]["description"] != events[2]["description"]
    with_ids = [event | {"record_id": record} for event, record in zip(events, ["38", "12", "4"], strict=True)]
    serious = context.serious_adverse_events(with_ids[:2], arms, per_arm, 9)
    assert {r["record_id"]: (r["arm"], r["severity"]) for r in serious["rows"]} == {
        "38": ("Arm B", "Moderate"),
        "12": ("Arm A", "Mild"),
    }
    key = allocation.Key({"LL": "A", "LE": "B", "LS": "C"}, "0" * 16, Path("allocation.key"))
    unblinded = context.ae_listing(events, blinding.arms_for(False, key=key))
    assert len(unblinded["rows"]) == 3  # with the key, every event in one listing
