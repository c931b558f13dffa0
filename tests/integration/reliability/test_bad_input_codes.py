"""Every case of the bad-input catalogue (docs/bad-inputs.md), run as a user runs it, through
`runback ingest`: each ends in a code the README documents for what happened, never 5 (a fault of
runback's own). A refused or held file is 3; a file that loads is 0 or 1."""

import pytest
from typer.testing import CliRunner

from runback.flows.cli import app
from tests.integration.reliability.test_bad_inputs import CASES, NIGHT_1, text

runner = CliRunner()
FLAGS = {"accept_dictionary": "--accept-dictionary", "accept_deletions": "--accept-deletions"}
FLAGS |= {"accept_identifiers": "--accept-identifier-change"}
EXPECTED = {"refuse": {3}, "record": {0, 1, 3}, "hold": {3}, "quarantine": {1}, "flag": {1}, "load": {0, 1}}


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_catalogue_never_ends_in_a_fault(case, tmp_path, study, monkeypatch):
    monkeypatch.setenv("RUNBACK_KEY", str(tmp_path / "keys" / "allocation.key"))
    monkeypatch.setenv("RUNBACK_MAX_AGE_HOURS", "100000000")
    monkeypatch.setenv("RUNBACK_OUT", str(tmp_path / "out"))
    db = tmp_path / "w.duckdb"
    first = tmp_path / NIGHT_1
    first.write_bytes(text(study))
    assert runner.invoke(app, ["ingest", "--db", str(db), str(first)]).exit_code in (0, 1)
    target, project = case.night_2(tmp_path, study, first)
    flags = [FLAGS[k] for k, on in case.accept.items() if on]
    result = runner.invoke(app, ["ingest", "--db", str(db), "--project", str(project), *flags, str(target)])
    assert result.exit_code != 5, result.output
    assert result.exit_code in EXPECTED.get(case.outcome, {0, 1, 3, 6}), (case.outcome, result.exit_code, result.output)
