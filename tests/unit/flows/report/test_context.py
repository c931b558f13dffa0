"""A report's one status and what it allows (flows/report/context.py): at a cut that is not a
planned look its between-arm estimates are descriptive unless the data monitoring committee asks
with a reason, which is recorded; at a planned look or the final analysis the closed report shows
the group-sequential boundaries for the information observed beside the primary test, and the
decision of the plan's rule when it is unblinded."""

import os
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from runback.flows.analyse import lock, looks
from runback.flows.analyse.refresh import refresh_analysis
from runback.flows.cli import app
from runback.flows.report import make
from runback.flows.warehouse import connect
from runback.schemas import plan
from tests.helpers import page_text, report_html, simulated_warehouse

P_VALUE = re.compile(r"\bp [=<] \d")


@pytest.fixture(scope="module")
def trial(tmp_path_factory, study):
    """36 simulated participants, three cuts: cut 2 in the middle of follow-up, cut 3 at its end."""
    db, _ = simulated_warehouse(tmp_path_factory.mktemp("trial"), study, participants=36, seed=5, nights=3)
    with connect(db) as con:
        refresh_analysis(con, study, 2)
    return db


@pytest.fixture
def db(trial, tmp_path):
    copy = tmp_path / "w.duckdb"
    shutil.copy(trial, copy)
    return copy


KEY = Path(os.environ["RUNBACK_KEY"])


def _section(html: str, name: str) -> str:
    return html.split(f'<section id="{name}"', 1)[1].split("</section>", 1)[0]


def test_an_unplanned_cut_shows_no_p_value_unless_the_dmc_asks_with_a_reason(db, tmp_path):
    html = report_html(db, 3, "week_8")
    assert re.findall(r'data-look="([^"]+)"', html) == ["unplanned"]
    contrasts, slopes = _section(html, "contrasts"), _section(html, "slopes")
    assert 'data-descriptive="true"' in contrasts and "[" in contrasts  # estimates and CIs are there
    assert not P_VALUE.search(contrasts) and not P_VALUE.search(slopes) and "Holm:" not in contrasts
    assert "tipping:" not in contrasts and 'id="boundaries"' not in html
    asked = report_html(db, 3, "week_8", dmc_reason="imbalance in serious adverse events")
    assert P_VALUE.search(_section(asked, "contrasts")) and P_VALUE.search(_section(asked, "slopes"))
    assert "Holm:" in _section(asked, "contrasts")
    assert "data monitoring committee asked between-arm p-values (imbalance in serious adverse events)" in asked
    args = ["report", "--timepoint", "week_8", "--data-cut", "3", "--db", str(db), "--out", str(tmp_path / "out")]
    assert CliRunner().invoke(app, [*args, "--dmc-reason", " why "]).exit_code == 0
    with pytest.raises(make.ReportError, match="reason is blank"):
        make.make(make.Request("week_8", "closed", 3, out_dir=str(tmp_path / "out"), db=str(db), dmc_reason="  "))
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select data_cut, dmc_reason from meta.report_runs").fetchall() == [(3, "why")]


def _look(db, study) -> float:
    with connect(db) as con:
        return lock.record_look(con, "week_8", 2, study=study).fraction


def _rows(html: str) -> dict[str, list[str]]:
    table = html.split('data-model="sequential"', 1)[1].split("</table>", 1)[0]
    found = re.findall(r'<tr data-(?:hypothesis|pair)="([^"]+)"[^>]*>(.*?)</tr>', table, flags=re.S)
    return {name: re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", cells) for name, cells in found}


def test_a_planned_looks_unblinded_report_shows_each_hypothesis_boundary_and_the_decision(db, study):
    fraction = _look(db, study)
    assert 0 < fraction < 1
    html = report_html(db, 2, "week_8", KEY)
    assert re.findall(r'data-look="([^"]+)"', html) == ["planned"]
    assert f"PLANNED INTERIM LOOK 1 of {plan.LOOKS.count}" in html and P_VALUE.search(_section(html, "contrasts"))
    rows = _rows(html)
    assert list(rows) == [h.name for h in plan.HYPOTHESES]
    rejected = []
    for name, (_, _, z, alpha, *rest) in rows.items():
        if rest[0] == "no alpha yet":
            assert float(alpha) == 0 and rest[1] == "no"
            continue
        critical, nominal, spent, decided = rest
        bound = looks.boundaries((fraction,), float(alpha))[0]
        assert (critical, nominal, spent) == (
            f"{bound.critical:.3f}",
            f"{bound.nominal:.3g}",
            f"{bound.alpha_spent:.3g}",
        )
        assert decided == ("yes" if float(z.replace("−", "-")) >= bound.critical else "no")
        rejected += [name] * (decided == "yes")
    success = bool(set(rejected) & set(plan.SUCCESS))
    assert f'<p class="decision" data-success="{str(success).lower()}">' in html


def test_a_planned_looks_blinded_report_shows_the_boundaries_per_pair_of_letters(db, study):
    fraction = _look(db, study)
    html = report_html(db, 2, "week_8")
    rows = _rows(html)
    assert list(rows) == ["Arm B − Arm A", "Arm C − Arm A", "Arm C − Arm B"]
    for cells in rows.values():
        for level, cell in zip((0.025, 0.0125), cells[3:], strict=True):
            assert cell.startswith(f"{looks.boundaries((fraction,), level)[0].critical:.3f} (nominal p")
    assert "H1" not in html and "data-success" not in html
    assert "stated with the allocation, in the unblinded closed report" in html


def test_a_planned_looks_report_says_when_the_cuts_input_changed_since_the_look(db, study):
    _look(db, study)
    changed = "no longer matches the content recorded at the look"
    assert changed not in report_html(db, 2, "week_8")
    with connect(db) as con:
        con.execute("update analysis.outcomes set aval = aval + 1 where data_cut = 2 and step = 1")
    assert changed in page_text(report_html(db, 2, "week_8"))


def test_the_final_analysis_spends_what_is_left_after_the_looks_recorded(db, study):
    fraction = _look(db, study)
    with connect(db) as con:
        lock.lock(con, "week_8", 3, force=True, reason="end of follow-up", study=study)
    html = report_html(db, 3, "week_8", KEY)
    assert re.findall(r'data-look="([^"]+)"', html) == ["final"] and "interim look" not in html.lower()
    assert f"look 1 at data cut 2, information fraction {fraction:.3f}; look 2 at data cut 3" in html
    for _, _, _, alpha, critical, *_ in _rows(html).values():
        if critical != "no alpha yet":
            assert critical == f"{looks.boundaries((fraction, 1.0), float(alpha))[-1].critical:.3f}"


def _status_words(html: str) -> dict:
    """What a page says of its status: its look banners, and whether each status word is there."""
    text = page_text(html)
    return {
        "banners": re.findall(r'data-look="([^"]+)"', html),
        "FINAL": "FINAL" in text,
        "interim": "interim" in text.lower(),
        "unplanned": "unplanned" in text.lower(),
        "boundaries below": "group-sequential boundaries below" in text,
        "boundaries": 'id="boundaries"' in html,
        "descriptive": "descriptive, with no p-value" in text,
        "primary at the timepoint": bool(re.search(r'data-role="primary"|\(primary MMRM|primary</span>', html)),
        "asked by the DMC": bool(re.search(r"asked by the data monitoring committee|committee asked", text)),
    }


KINDS = {  # name: (what is recorded first, cut, timepoint, audience, unblinded, the DMC's reason, status)
    "unplanned week 8": (None, 3, "week_8", "closed", False, None, "unplanned"),
    "unplanned week 8, the DMC asks": (None, 3, "week_8", "closed", True, "a safety signal", "unplanned"),
    "unplanned month 6": (None, 3, "month_6", "closed", False, None, "unplanned"),
    "unplanned, open": (None, 3, "week_8", "open", False, None, "unplanned"),
    "planned look": ("look", 2, "week_8", "closed", True, None, "planned"),
    "planned look, blinded": ("look", 2, "week_8", "closed", False, None, "planned"),
    "planned look, open": ("look", 2, "week_8", "open", False, None, "planned"),
    "planned look, a reason given": ("look", 2, "week_8", "closed", False, "a safety signal", "planned"),
    "final, forced": ("lock 2", 2, "week_8", "closed", True, None, "final"),
    "final, not forced, after a look": ("look, lock 3", 3, "week_8", "closed", False, None, "final"),
    "final month 6, forced": ("lock 3", 3, "month_6", "closed", True, None, "final"),
    "final month 6, open": ("lock 3", 3, "month_6", "open", False, None, "final"),
}


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_cut_has_one_status_and_no_word_against_it(db, study, kind):
    recorded, cut, timepoint, audience, unblinded, reason, status = KINDS[kind]
    with connect(db) as con:
        if "look" in (recorded or ""):
            lock.record_look(con, "week_8", 2, study=study)
        if "lock" in (recorded or ""):
            lock.lock(con, timepoint, int(recorded[-1]), force=True, reason="end of follow-up", study=study)
    words = _status_words(report_html(db, cut, timepoint, KEY if unblinded else None, audience, reason))
    closed, primary = audience == "closed", timepoint == plan.LOOKS.timepoint
    assert words.pop("banners") == [status]
    assert words == {
        "FINAL": status == "final",
        "interim": status == "planned",
        "unplanned": status == "unplanned",
        "boundaries below": closed and primary and status != "unplanned",
        "boundaries": closed and primary and status != "unplanned",
        "descriptive": closed and status == "unplanned" and reason is None,
        "primary at the timepoint": primary,
        "asked by the DMC": closed and status == "unplanned" and reason is not None,
    }


def test_the_dmcs_reason_is_free_text_a_blinded_report_withholds_an_open_one_omits_and_every_page_escapes(db, tmp_path):
    naming = "LL looks better than the lumbar stabilisation programme"
    blinded = report_html(db, 3, "week_8", dmc_reason=naming)  # written, not refused as a fault of runback
    assert "LL looks" not in blinded and "asked between-arm p-values ([withheld: may reveal allocation])" in blinded
    assert naming in report_html(db, 3, "week_8", KEY, dmc_reason=naming)  # the unblinded closed report shows it
    assert "safety signal" not in report_html(db, 3, "week_8", audience="open", dmc_reason="safety signal")
    marked = report_html(db, 3, "week_8", dmc_reason='<script>alert("x")</script> & <b>')
    assert "<script>alert" not in marked and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;" in marked
    request = make.Request("week_8", "closed", 3, out_dir=str(tmp_path / "out"), db=str(db), dmc_reason="x" * 10_000)
    with pytest.raises(make.ReportError, match=f"longer than {make.REASON_MAX} characters"):
        make.make(request)


def test_a_forced_locks_reason_that_names_an_arm_is_withheld_not_a_report_refused(db, study):
    with connect(db) as con:
        lock.lock(con, "week_8", 2, force=True, reason="the LS programme's site closed", study=study)
    for audience in ("closed", "open"):
        html = report_html(db, 2, "week_8", audience=audience)
        assert "site closed" not in html and "locked before every participant had reached it" in html
        assert "[withheld: may reveal allocation]" in html.split('<header id="title"', 1)[1].split("</header>", 1)[0]
    assert "the LS programme&#39;s site closed" in report_html(db, 2, "week_8", KEY)
