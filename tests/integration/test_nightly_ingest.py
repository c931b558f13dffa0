"""End to end: the simulated trial's nightly exports, with the faults real exports carry, through
the real `nightly-ingest` flow (on the session's Prefect test server)."""

import csv
import io
import pickle

import duckdb
import pytest

from runback.flows.night import NightNotWell
from runback.flows.nightly_ingest import nightly_ingest
from runback.flows.simulate import simulate
from runback.schemas.file_status import FileStatus
from runback.schemas.study import KIND_CHECKBOX

CHECKS = {  # defect kind -> the check that must catch it
    "out_of_range": "redcap_range",
    "non_numeric": "redcap_type",
    "impossible_date": "redcap_type",
    "randomisation_changed": "randomisation_changed",
    "duplicate_key": "duplicate_key",
    "unknown_event": "unknown_event",
}


@pytest.fixture(scope="module")
def trial(tmp_path_factory, prefect_harness):
    folder = tmp_path_factory.mktemp("exports")
    sim = simulate(folder, participants=48, seed=3, defects=True, nights=5)
    db = folder / "w.duckdb"
    state = nightly_ingest(paths=[str(folder)], db=str(db), return_state=True)
    refused = state.result(raise_on_failure=False)  # one night's export is refused: the night is not well
    assert isinstance(refused, NightNotWell), refused
    return sim, db, {r.file: r for r in refused.night.results}, state


def _query(db, sql, params=None):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or {}).fetchall()


def test_every_night_is_seen_in_export_time_order(trial):
    sim, db, results, _ = trial
    assert list(results) == [p.name for p in sim.files]
    refused = [f for f, r in results.items() if r.status == "refused"]
    assert refused == [d["file"] for d in sim.defects if d["expect"] == "refuse"]


def _form_rows_in_file(path, study):
    """Rows per form counted straight from the CSV (independently of runback's reader)."""
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf").decode()
    delimiter = ";" if data.split("\n", 1)[0].count(";") > data.split("\n", 1)[0].count(",") else ","
    counts = dict.fromkeys(study.forms, 0)
    for row in csv.DictReader(io.StringIO(data), delimiter=delimiter):
        for form in study.forms:
            cols = [c for c in study.form_columns(form) if c in row]
            owner = study.column_owner
            filled = any(
                (row[c].strip() == "1")
                if owner[c][1] is not None and owner[c][1].kind == KIND_CHECKBOX
                else row[c].strip() not in ("",) and not (c.endswith("_complete") and row[c] == "0")
                for c in cols
            )
            counts[form] += filled
    return counts


def test_rows_in_each_file_are_loaded_or_quarantined(trial, study):
    sim, db, results, _ = trial
    for path in sim.files:
        result = results[path.name]
        if result.status == "refused":
            continue
        expected = _form_rows_in_file(path, study)
        for form, n in expected.items():
            counts = result.forms[form]
            assert counts["rows_in"] == n, (path.name, form)
            assert counts["loaded"] + counts["quarantined"] == n, (path.name, form)
            held = _query(
                db,
                "select count(distinct source_row) from quarantine.rows where file_id = $f and form = $form",
                {"f": result.file_id, "form": form},
            )[0][0]
            assert held == counts["quarantined"]


def test_every_injected_defect_is_caught_with_its_record_field_and_reason(trial):
    sim, db, results, _ = trial
    for d in sim.defects:
        result = results[d["file"]]
        if d["expect"] == "refuse":
            assert result.status == "refused" and result.message
            continue
        assert result.status in ("loaded", "unchanged")
        if d["expect"] == "load":
            continue
        rows = _query(
            db,
            'select form, "column", "check", reason from quarantine.rows '
            "where file_id = $f and record_id = $r and event = $e",
            {"f": result.file_id, "r": d["record"], "e": d["event"]},
        )
        assert rows, d
        checks = {(form, column, check) for form, column, check, _ in rows}
        if d["field"] and d["kind"] != "unknown_event":
            assert (d["form"], d["field"], CHECKS[d["kind"]]) in checks, d
        else:
            assert CHECKS[d["kind"]] in {c for _, _, c in checks}, d
        assert all(reason for *_, reason in rows)


def test_leading_space_and_hand_export_values_load_as_meant(trial):
    sim, db, results, _ = trial
    for d in sim.defects:
        if d["kind"] == "leading_space":
            value = _query(
                db,
                f"select {d['field']} from clean.{d['form']} where record_id = $r and instance = $i and file_id = $f",
                {"r": d["record"], "i": d["instance"] or 1, "f": results[d["file"]].file_id},
            )
            assert value == [(d["value"][1:],)]


def _identifier_values(sim, study):
    """Distinctive identifier values of the exports: (anywhere in a cell, exactly a cell)."""
    anywhere, exact = set(), set()
    for path in sim.files:
        text = path.read_bytes().removeprefix(b"\xef\xbb\xbf").decode()
        delimiter = ";" if text.split("\n", 1)[0].count(";") > 3 else ","
        for row in csv.DictReader(io.StringIO(text), delimiter=delimiter):
            if "first_name" not in row:  # the labels night
                continue
            anywhere |= {row[f] for f in ("nric", "phone", "email", "dob") if row[f]}
            anywhere.add(f"{row['first_name']} {row['last_name']}")
            exact |= {row["first_name"], row["last_name"]}  # a surname like "Low" is also a word
    return anywhere - {" "}, exact - {""}


@pytest.mark.slow
def test_no_identifier_value_is_stored_anywhere(trial, study):
    sim, db, _, _ = trial
    anywhere, exact = _identifier_values(sim, study)
    assert len(anywhere) > 300
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        con.execute("create temp table anywhere as select unnest($v) as needle", {"v": sorted(anywhere)})
        con.execute("create temp table exact as select unnest($v) as needle", {"v": sorted(exact)})
        for schema, table in tables:
            for column, *_ in con.execute(f'describe "{schema}"."{table}"').fetchall():
                cell = f'cast(t."{column}" as varchar)'
                hits = con.execute(
                    f'select count(*) from "{schema}"."{table}" t join anywhere n on strpos({cell}, n.needle) > 0 '
                    f'union all select count(*) from "{schema}"."{table}" t join exact n on {cell} = n.needle'
                ).fetchall()
                assert hits == [(0,), (0,)], f"identifier value found in {schema}.{table}.{column}"


def test_the_run_summary_counts_cuts(trial):
    sim, db, results, _ = trial
    cuts = _query(db, "select count(*) from meta.data_cuts")[0][0]
    assert cuts == sum(r.status == "loaded" for r in results.values()) >= 4


def test_a_night_with_a_refused_export_ends_failed_naming_the_file(trial, prefect_harness):
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    sim, db, results, state = trial
    (refused,) = [d["file"] for d in sim.defects if d["expect"] == "refuse"]
    assert state.is_failed()
    assert refused in state.message and "NightNotWell" in state.message
    assert all(r.status.applied for f, r in results.items() if f != refused)  # the other files still load
    with get_client(sync_client=True) as client:
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        )
    files = {t.name.removeprefix("ingest "): t.state for t in tasks if t.name.startswith("ingest ")}
    assert set(files) == set(results)
    assert files[refused].is_failed() and "FileNotApplied" in files[refused].message
    assert all(s.is_completed() for f, s in files.items() if f != refused)


def test_every_traceback_of_a_red_night_ends_in_the_refusal_naming_the_file(trial, prefect_harness):
    """What the run's logs show on the server: each traceback Prefect logs (the file's task, the
    flow) ends in runback's refusal naming the file, never in a fault of runback's code."""
    from prefect import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    sim, _, _, state = trial
    (refused,) = [d["file"] for d in sim.defects if d["expect"] == "refuse"]
    APILogWorker.drain_all(timeout=30)  # the run's logs reach the server in batches
    with get_client(sync_client=True) as client:
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    tracebacks = [log.message for log in logs if "Traceback (most recent call last)" in log.message]
    assert len(tracebacks) >= 2  # the file's task and the flow
    for text in tracebacks:
        last = text.strip().splitlines()[-1]
        assert last.startswith(("runback.flows.night.FileNotApplied: ", "runback.flows.night.NightNotWell: ")), text
        assert refused in last


def test_the_flows_outcome_can_be_stored(trial):
    _, _, results, state = trial
    kept = pickle.loads(pickle.dumps(state.result(raise_on_failure=False)))  # Prefect's results are pickled
    assert kept.night.results == list(results.values())
    assert all(isinstance(r.status, FileStatus) for r in kept.night.results)
    assert str(kept) == str(state.result(raise_on_failure=False))


def test_every_step_says_what_it_did_and_no_state_line_is_bare(trial, prefect_harness):
    """The run's log as the server keeps it: each of runback's steps ends with what it did as its
    state's message (`Finished in state Completed('loaded: ...')`), never a bare `Completed()`."""
    from prefect import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    *_, state = trial
    APILogWorker.drain_all(timeout=30)
    with get_client(sync_client=True) as client:
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    finished = [log.message for log in logs if log.message.startswith("Finished in state")]
    assert len(finished) >= 5, finished  # pull, find, the files, analyse, publish, freshness
    assert not [line for line in finished if line.endswith("()")], finished
    assert any(line.startswith("Finished in state Completed('loaded: ") for line in finished), finished
