"""`runback plan` renders the declared plan to be signed, with its version and content hash, and
every report names the plan version it followed."""

from typer.testing import CliRunner

from runback.flows.cli import app
from runback.schemas import plan

runner = CliRunner()


def test_the_plan_is_rendered_with_its_version_hash_and_sign_off(tmp_path):
    result = runner.invoke(app, ["plan", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    path = tmp_path / f"runback_plan_{plan.VERSION}_{plan.fingerprint()}.html"
    assert result.output.strip() == str(path)
    page = path.read_text()
    assert f"version {plan.VERSION}" in page and plan.fingerprint() in page
    assert "Sign-off" in page and "Trial statistician" in page
    assert all(e.outcome in page for e in plan.ESTIMANDS) and plan.PRIMARY_TIMEPOINT in page
    assert "<table>" in page  # the plan's tables are tables, not Markdown text
    again = runner.invoke(app, ["plan", "--out", str(tmp_path)])
    assert again.exit_code == 0 and path.read_text() == page  # the same plan, the same bytes


def test_the_plan_command_recomputes_a_row_of_the_sample_size_table():
    # docs/sample-size.md: PSFS, LL - LS, 0.526 (Cai 2017), SD 1.22, rho 0.60 -> 0.464 with 84, 186 for 80%
    result = runner.invoke(app, ["plan", "--effect", "0.526", "--sd", "1.22", "--correlation", "0.6"])
    assert result.exit_code == 0, result.output
    assert "power with 84 randomised: 0.464" in result.output
    assert "randomised for power 0.80: 186;" in result.output and "looks at 0.5, 1" in result.output
    for wrong in (["--sd", "0"], ["--alpha", "0"], ["--alpha", "0.6"], ["--correlation", "1"], ["--sd", "nan"]):
        refused = runner.invoke(app, ["plan", "--effect", "0.5", *wrong])
        assert refused.exit_code == 3 and "out of range" in refused.output, (wrong, refused.output)
