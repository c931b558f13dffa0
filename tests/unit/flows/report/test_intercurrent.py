"""Estimands in the report: CONSORT says why a participant is not in the primary analysis (both
audiences), and the closed report alone shows the intercurrent events and the values set aside by arm."""

from __future__ import annotations

import re

import pytest

from tests.helpers import build_warehouse, page_text, randomised, report_html, visit


def _section(html: str, section: str) -> str:
    found = re.search(rf'<section id="{section}".*?</section>', html, flags=re.S)
    return page_text(found.group(0)) if found else ""


def _assessed(record: str, event: str, day: str) -> dict:
    return visit(
        record,
        event,
        nprs_date=day,
        nprs_run="4",
        nprs_avg="3",
        nprs_complete="2",
        psfs_date=day,
        psfs_act1="Running 10 km",
        psfs_score1="6",
        psfs_complete="2",
    )


def _stopped(record: str, event: str, day: str, stopped: str) -> dict:
    return visit(
        record,
        event,
        run_date=day,
        run_still="0",
        run_stop_date=stopped,
        run_stop_reason="1",
        running_status_complete="2",
    )


@pytest.fixture(scope="module")
def pages(tmp_path_factory, study) -> dict[str, str]:
    baseline_psfs = {"psfs_date": "2014-01-09", "psfs_act1": "Running 10 km", "psfs_score1": "4", "psfs_complete": "2"}
    rows = [
        randomised("1", **baseline_psfs),
        _assessed("1", "week_4_arm_1", "2014-02-07"),
        randomised("2", group="2", **baseline_psfs),  # stopped running before week 4: its values are set aside
        _stopped("2", "week_4_arm_1", "2014-02-07", "2014-01-25"),
        _assessed("2", "week_4_arm_1", "2014-02-07"),
        visit(
            "2",
            "week_4_arm_1",
            redcap_repeat_instrument="co_intervention",
            redcap_repeat_instance="1",
            cointv_type="1",
            cointv_start="2014-01-26",
            co_intervention_complete="2",
        ),
        randomised("3", group="3"),  # no baseline PSFS
        _assessed("3", "week_4_arm_1", "2014-02-07"),
    ]
    db = build_warehouse(tmp_path_factory.mktemp("intercurrent"), study, [rows])
    return {audience: report_html(db, 1, "week_8", audience=audience) for audience in ("open", "closed")}


@pytest.mark.parametrize("audience", ["open", "closed"])
def test_consort_names_why_participants_are_not_analysed(pages, audience):
    consort = _section(pages[audience], "consort")
    assert "Not analysed: stopped running before any follow-up value" in consort
    assert "Not analysed: no baseline value" in consort  # PSFS of participant 3


def test_the_closed_report_alone_shows_the_intercurrent_events_by_arm(pages):
    closed = _section(pages["closed"], "intercurrent-events")
    assert "Analgesics (pain medication)" in closed and "Injury" in closed
    assert "Running ability (PSFS)" in closed and "Pain during running (NPRS)" in closed
    assert 'id="intercurrent-events"' not in pages["open"] and "Analgesics" not in page_text(pages["open"])
