"""A blinded report's charts are drawn once and kept in the warehouse: a rerun is the same page,
made without matplotlib; a changed input draws its chart again; an unblinded chart is never kept,
and a kept chart is checked as a drawn one is."""

from __future__ import annotations

import copy
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from runback.flows.report import kept_charts, make
from runback.flows.report.make import allocation_arms, gather
from runback.flows.report.render import ReportError
from tests.helpers import simulated_warehouse

LOG = logging.getLogger("runback")
SESSION_KEY = Path(os.environ["RUNBACK_KEY"])  # the key every test warehouse is masked with (conftest)
RERUN = """
import sys
from runback.flows.report import make
make.make(make.Request(timepoint=sys.argv[1], db=sys.argv[2], out_dir=sys.argv[3]))
print("matplotlib" in sys.modules)
"""


@pytest.fixture(scope="module")
def trial(tmp_path_factory, study):
    folder = tmp_path_factory.mktemp("kept")
    db, cut = simulated_warehouse(folder, study, participants=60, seed=3, nights=3)
    return db, cut, folder


def _report(**request) -> Path:
    """The report's page, made as a one-off `runback report` makes it."""
    return make.make(make.Request(**request))[0]


def _kept(db) -> dict[str, str | None]:
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute("select chart_key, svg from meta.report_charts").fetchall())


def test_a_rerun_shows_the_kept_charts_without_drawing_them(trial, tmp_path):
    db, cut, _ = trial
    first = _report(timepoint="week_8", db=str(db), out_dir=str(tmp_path / "first"))
    kept = _kept(db)
    context = gather(str(db), cut, "week_8", allocation_arms(True, None, str(db), "closed", LOG))
    wanted = kept_charts.wanted(context)
    assert {c.key for c in wanted} <= set(kept) and len(wanted) == 5  # 3 outcomes, forest, recruitment
    assert all(kept[c.key].startswith("<svg") for c in wanted if c.slot != "forest")  # as written again
    again = tmp_path / "again"
    done = subprocess.run(
        [sys.executable, "-c", RERUN, "week_8", str(db), str(again)], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False"], done.stderr  # a new process: matplotlib never imported
    assert (again / "runback_week_8_cut3_closed.html").read_bytes() == Path(first).read_bytes()
    assert _kept(db) == kept


def test_a_chart_whose_input_changed_is_drawn_again(trial):
    db, cut, _ = trial
    context = gather(str(db), cut, "month_6", allocation_arms(True, None, str(db), "closed", LOG))
    changed = copy.deepcopy(context)
    visit = next(r for r in changed["outcomes"][0]["rows"] if r["step"] > 0)
    visit["arms"][1]["chg_mean"] += 0.01
    changed["conduct"]["target"] += 1
    before, after = kept_charts.wanted(context), kept_charts.wanted(changed)
    redrawn = [b.slot for b, a in zip(before, after, strict=True) if b.key != a.key]
    assert before[0].slot == "change" and before[0].key != after[0].key and redrawn == ["change", "recruitment"]
    relabelled = copy.deepcopy(context)
    relabelled["arms"][0]["short"] = "Arm Z"  # the arms as shown are an input too
    by_arm = {c.key for c in before if c.slot == "change"}
    assert {c.key for c in kept_charts.wanted(relabelled) if c.slot == "change"}.isdisjoint(by_arm)


def test_an_unblinded_report_keeps_no_chart(trial, tmp_path):
    db, _, _ = trial
    before = _kept(db)
    path = _report(timepoint="month_6", blinded=False, key=str(SESSION_KEY), db=str(db), out_dir=str(tmp_path))
    assert path.name.endswith("_unblinded.html") and _kept(db) == before


@pytest.fixture(scope="module")
def opened(trial, tmp_path_factory) -> tuple[Path, kept_charts.Chart]:
    """A copy of the trial's warehouse with the open week 8 report's charts kept, and its recruitment chart."""
    db, cut, _ = trial
    reported = tmp_path_factory.mktemp("opened") / "w.duckdb"
    shutil.copy(db, reported)
    _report(timepoint="week_8", audience="open", db=str(reported), out_dir=str(reported.parent))
    context = gather(str(reported), cut, "week_8", allocation_arms(True, None, str(reported), "open", LOG))
    return reported, next(c for c in kept_charts.wanted(context) if c.slot == "recruitment")


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        ("Randomised to LE", "could reveal the allocation"),  # in plain text
        ("Randomised to L&#69;", "could reveal the allocation"),  # a character reference
        ("Randomised <tspan>L</tspan><tspan>E</tspan>", "more than shapes and text"),  # in parts: not allowed
        ("Randomised in Arm B", "names Arm B"),  # an open report names no arm, not even its letter
        ('Randomised</text><image href="x.png"/><text>', "more than shapes and text"),  # a picture
        ("Randomised</text><desc>LE</desc><text>", "more than shapes and text"),  # a description
        ("Randomised</text></g></svg>", "not whole SVG"),  # ends early: not SVG the checks can read
    ],
)
def test_a_kept_chart_that_names_an_arm_is_refused(opened, tmp_path, edit, why):
    reported, recruitment = opened
    copy_db = tmp_path / "w.duckdb"
    shutil.copy(reported, copy_db)
    with duckdb.connect(str(copy_db)) as con:  # what a hand-edited warehouse could hold
        con.execute(
            "update meta.report_charts set svg = replace(svg, '>Randomised<', '>' || ? || '<') where chart_key = ?",
            [edit, recruitment.key],
        )
    kept = _kept(copy_db)
    with pytest.raises(ReportError, match=why):
        _report(timepoint="week_8", audience="open", db=str(copy_db), out_dir=str(tmp_path / "again"))
    assert _kept(copy_db) == kept and not (tmp_path / "again").exists()  # refused: nothing written or kept
