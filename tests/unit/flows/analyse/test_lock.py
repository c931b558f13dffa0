"""Planned looks and database lock (`flows/analyse/lock.py`, `runback look`, `runback lock`): an
interim look is recorded in the plan's order with its information fraction; a lock is recorded
once, with its content hash, and refused while participants are inside the window unless forced
with a reason; a report has one status (planned look, unplanned cut or final analysis)."""

import re

import duckdb
import pytest
from typer.testing import CliRunner

from runback.flows.analyse import lock
from runback.flows.cli import app
from runback.flows.errors import Refused
from runback.flows.warehouse import connect
from runback.schemas import plan
from tests.helpers import build_warehouse, page_text, randomised, report_html, visit

runner = CliRunner()


@pytest.fixture
def warehouse(tmp_path, study):
    """Six participants randomised on 2014-01-10, two cuts (2014-06-01, 06-02): past week 8, not month 6."""
    night = [randomised(str(i), group=str(i % 3 + 1)) for i in range(1, 7)]
    night += [
        visit(str(i), "week_8_arm_1", nprs_date="2014-03-07", nprs_run="3", nprs_avg="2", nprs_complete="2")
        for i in range(1, 5)
    ]
    later = night + [visit("5", "week_8_arm_1", nprs_date="2014-03-08", nprs_run="4", nprs_avg="2", nprs_complete="2")]
    return build_warehouse(tmp_path, study, [night, later])


def test_reach_counts_participants_past_the_window(warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert lock.reach(con, 2, "week_8") == lock.Reach("week_8", 6, 6)
        assert lock.reach(con, 2, "month_6") == lock.Reach("month_6", 0, 6)
        assert lock.reach(con, 2, "month_6").interim and not lock.reach(con, 2, "week_8").interim


def test_a_lock_is_recorded_once_with_its_content_hash(warehouse, study):
    from runback.flows.analyse.refresh import refresh_analysis

    with connect(warehouse) as con:
        done = lock.lock(con, "week_8")
        assert (done.data_cut, done.forced, done.reached, done.randomised) == (2, False, 6, 6)
        assert lock.locked(con, "week_8") == done
        assert done.content_hash == lock.content_hash(con, 2) and lock.verify(con, done)
        refresh_analysis(con, study, 2)  # re-analysing a cut gives the same rows: the lock still holds
        assert lock.verify(con, done)
        con.execute("update analysis.outcomes set aval = aval + 1 where record_id = '1' and data_cut = 2")
        assert not lock.verify(con, done)
        with pytest.raises(Refused, match="already locked at data cut 2"):
            lock.lock(con, "week_8", 1)
        assert con.execute("select count(*) from meta.analysis_locks").fetchone()[0] == 1


def test_a_lock_inside_the_window_needs_force_and_a_reason(warehouse, study):
    with connect(warehouse) as con:
        with pytest.raises(Refused, match="only 0 of 6 randomised participants have reached month_6"):
            lock.lock(con, "month_6")
        with pytest.raises(Refused, match="needs a reason"):
            lock.lock(con, "month_6", force=True, reason="  ")
        with pytest.raises(Refused, match="cut 1 has not been analysed"):
            lock.lock(con, "month_6", 1, force=True, reason="DMC request")
        done = lock.lock(con, "month_6", 1, force=True, reason="DMC request", study=study)
        assert (done.data_cut, done.forced, done.reason) == (1, True, "DMC request")
        with pytest.raises(Refused, match="no data cut 9"):
            lock.lock(con, "week_8", 9)


def test_the_content_hash_changes_with_the_analysis_input(tmp_path, study):
    first = [randomised("1"), randomised("2", group="2")]
    second = [randomised("1", nprs_run="7"), randomised("2", group="2")]
    db = build_warehouse(tmp_path, study, [first, second])
    with connect(db) as con:
        from runback.flows.analyse.refresh import refresh_analysis

        refresh_analysis(con, study, 1)
        assert lock.content_hash(con, 1) != lock.content_hash(con, 2)


def test_the_lock_command(warehouse):
    result = runner.invoke(app, ["lock", "--timepoint", "month_6", "--db", str(warehouse)])
    assert result.exit_code == 3 and "still inside the window" in result.output and "--force --reason" in result.output
    result = runner.invoke(app, ["lock", "--timepoint", "week_8", "--db", str(warehouse)])
    assert result.exit_code == 0 and "week_8 locked at data cut 2" in result.output
    result = runner.invoke(app, ["lock", "--timepoint", "week_8", "--db", str(warehouse)])
    assert result.exit_code == 3 and "already locked" in result.output
    result = runner.invoke(app, ["lock", "--timepoint", "week_8", "--db", str(warehouse.parent / "none.duckdb")])
    assert result.exit_code == 3 and not (warehouse.parent / "none.duckdb").exists()


def test_a_report_has_one_status_unplanned_or_final(warehouse, study):
    from runback.flows.report.make import locked_cut

    month_6 = report_html(warehouse, 2, "month_6")
    assert _statuses(month_6) == ["unplanned"] and "0 of 6 have reached month 6" in month_6
    week_8 = report_html(warehouse, 2, "week_8")
    assert _statuses(week_8) == ["unplanned"] and "6 of 6 have reached week 8" in week_8
    assert locked_cut(str(warehouse), "week_8") is None
    with connect(warehouse) as con:
        lock.lock(con, "week_8", 1, study=study)
    assert locked_cut(str(warehouse), "week_8") == 1
    final = report_html(warehouse, 1, "week_8")
    assert _statuses(final) == ["final"] and "data cut 1 is the locked analysis cut" in final
    assert "no longer matches" not in final
    assert "The final analysis of this timepoint uses data cut 1" in report_html(warehouse, 2, "week_8")


def test_a_lock_records_the_runback_version_and_its_results(warehouse, study):
    """The lock records the version and the results' hash, which re-analysing the same input with
    the same code keeps; the final report shows both, and says so when another version makes it
    (as when the warehouse holds a lock another version wrote) or the results differ from those locked."""
    from importlib import metadata

    from runback.flows.analyse.refresh import refresh_analysis

    now = metadata.version("runback")
    with connect(warehouse) as con:
        done = lock.lock(con, "week_8")
        assert (done.runback_version, done.results_hash) == (now, lock.results_hash(con, 2))
        assert lock.locked(con, "week_8") == done
        refresh_analysis(con, study, 2)
        assert lock.same_results(con, done)
    final = page_text(report_html(warehouse, 2, "week_8"))
    assert f"Locked by runback {now}, results SHA-256" in final and done.results_hash in final
    assert "This report was made by runback" not in final and "results now differ" not in final
    with connect(warehouse) as con:
        con.execute("update meta.analysis_locks set runback_version = '0.0.9' where timepoint = 'week_8'")
    other = page_text(report_html(warehouse, 2, "week_8"))
    assert f"This report was made by runback {now}, not by runback 0.0.9, the version that locked the cut" in other
    assert "results now differ" not in other
    with connect(warehouse) as con:
        con.execute("update analysis.responders set responders = 0 where data_cut = 2")
        assert lock.verify(con, done) and not lock.same_results(con, done)
    changed = page_text(report_html(warehouse, 2, "week_8"))
    assert "The cut's results now differ from the results locked" in changed
    with connect(warehouse) as con:  # a lock made before locks recorded them
        con.execute("update meta.analysis_locks set runback_version = null, results_hash = null")
    earlier = page_text(report_html(warehouse, 2, "week_8"))
    assert "The lock did not record the runback version or the results" in earlier
    assert "This report was made by runback" not in earlier and "results now differ" not in earlier


def test_a_forced_locks_report_says_final_and_never_interim(warehouse, study):
    with connect(warehouse) as con:
        lock.lock(con, "month_6", 2, force=True, reason="DMC request", study=study)
    for audience in ("closed", "open"):
        html = report_html(warehouse, 2, "month_6", audience=audience)
        assert _statuses(html) == ["final"], audience
        assert "locked before every participant had reached it (0 of 6): DMC request" in html
        assert "interim" not in page_text(html).lower(), audience
        assert "unplanned" not in page_text(html).lower(), audience


def _statuses(html: str) -> list[str]:
    return re.findall(r'data-look="([^"]+)"', html)


def test_an_interim_look_is_recorded_once_in_the_plans_order(warehouse, study):
    with connect(warehouse) as con:
        with pytest.raises(Refused, match="no interim look at month_6"):
            lock.record_look(con, "month_6")
        with pytest.raises(Refused, match="cut 1 has not been analysed"):
            lock.record_look(con, "week_8", 1)
        first = lock.record_look(con, "week_8", 1, study=study)
        assert (first.look, first.data_cut, first.evaluable, first.planned_total) == (1, 1, 4, plan.LOOKS.total)
        assert first.fraction == pytest.approx(4 / plan.LOOKS.total) and first.planned_fraction == plan.LOOKS.interim[0]
        assert lock.looks(con, "week_8") == [first]
        with pytest.raises(Refused, match="interim look\\(s\\) at week_8 have been taken"):
            lock.record_look(con, "week_8", 2)
        with pytest.raises(Refused, match="not after data cut 1, interim look 1"):
            lock.lock(con, "week_8", 1)
        lock.lock(con, "week_8", 2)
        assert con.execute("select count(*) from meta.analysis_looks").fetchone()[0] == 1


def test_no_look_after_the_lock_and_the_look_command(warehouse, study):
    result = runner.invoke(app, ["look", "--timepoint", "week_8", "--data-cut", "1", "--db", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert "week_8 interim look 1 at data cut 1: information fraction 0.048 (4 of 84; planned 0.5)" in result.output
    with connect(warehouse) as con:
        lock.lock(con, "week_8")
        with pytest.raises(Refused, match="already locked at data cut 2: the final analysis was its last look"):
            lock.record_look(con, "week_8")
    result = runner.invoke(app, ["look", "--timepoint", "week_8", "--db", str(warehouse.parent / "none.duckdb")])
    assert result.exit_code == 3 and not (warehouse.parent / "none.duckdb").exists()


def test_the_look_command_refuses_a_cut_that_does_not_exist_and_migrates_an_older_warehouse(warehouse):
    args = ["look", "--timepoint", "week_8", "--db", str(warehouse)]
    result = runner.invoke(app, [*args, "--data-cut", "9"])
    assert result.exit_code == 3 and "there is no data cut 9 (the cuts are 1 to 2)" in result.output
    with duckdb.connect(str(warehouse)) as con:  # as runback wrote it before planned looks (migration 0025)
        con.execute("drop table meta.analysis_looks")
        con.execute("alter table meta.report_runs drop column dmc_reason")
        con.execute("delete from meta.schema_migrations where name = '0025_analysis_looks'")
    assert report_html(warehouse, 2, "week_8").count('data-look="unplanned"') == 1  # read before it is migrated
    result = runner.invoke(app, [*args, "--data-cut", "1"])
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select look, data_cut from meta.analysis_looks").fetchall() == [(1, 1)]


def test_a_column_a_later_migration_adds_to_an_analysis_table_leaves_a_locks_results_the_same(warehouse):
    """A newer runback's migration may add a column to an analysis table (as 0027 added the tipping
    delta's Monte-Carlo error to model_results): the locked rows, empty there, are the results locked."""
    with connect(warehouse) as con:
        done = lock.lock(con, "week_8")
        con.execute("alter table analysis.model_results add column later_statistic double")
        con.execute("alter table analysis.responders add column later_count integer")
        assert lock.same_results(con, done)
        con.execute("update analysis.responders set later_count = 1 where data_cut = 2")
        assert not lock.same_results(con, done)
