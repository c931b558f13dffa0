"""The deployments as the Prefect UI shows them: typed parameters with descriptions (a dropdown
for the timepoint, refused when wrong as the run is created), the schedule's defaults."""

from pathlib import Path
from typing import get_args

from runback.flows.deployments import REPORT_DESCRIPTION, deployments
from runback.flows.followup_report import Audience, Timepoint
from runback.schemas.trial import TIMEPOINTS

ROOT = Path(__file__).resolve().parents[3]


def test_the_report_deployment_offers_the_timepoints_and_describes_its_parameters():
    assert set(get_args(Timepoint)) == set(TIMEPOINTS)
    nightly, adhoc = deployments()
    timepoint = adhoc._parameter_openapi_schema.properties["timepoint"]  # what the deployment sends the server
    assert set(timepoint["enum"]) == set(TIMEPOINTS)
    assert "week_8 (baseline to week 8)" in timepoint.get("description", "")
    assert adhoc.enforce_parameter_schema
    audience = adhoc._parameter_openapi_schema.properties["audience"]
    assert set(audience["enum"]) == set(get_args(Audience)) == {"open", "closed"} and audience["default"] == "closed"
    assert "pooled over the arms" in audience.get("description", "")
    assert nightly.schedules and nightly.schedules[0].schedule.timezone == "Asia/Singapore"


def test_prefect_yaml_describes_the_report_deployment_as_the_code_does():
    text = (Path(__file__).resolve().parents[3] / "prefect.yaml").read_text()
    assert f'description: "{REPORT_DESCRIPTION}"' in text
    assert deployments()[1].description == REPORT_DESCRIPTION


def test_every_entrypoint_loads_the_prefect_flow_a_runner_or_worker_runs():
    """What `runback serve` and a worker started from prefect.yaml load to run a flow: the Prefect
    flow itself, with its name and run names (not a plain function Prefect would wrap anew)."""
    import yaml
    from prefect import Flow
    from prefect.flows import load_flow_from_entrypoint

    served = {d.name: d.entrypoint for d in deployments()}
    declared = {d["name"]: d["entrypoint"] for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]}
    assert served.keys() == declared.keys()
    for name, entrypoint in [*served.items(), *declared.items()]:
        flow = load_flow_from_entrypoint(str(ROOT / entrypoint) if ".py:" in entrypoint else entrypoint)
        assert isinstance(flow, Flow), entrypoint
        assert flow.name == {"nightly": "nightly-ingest", "adhoc": "followup-report"}[name]
        assert flow.flow_run_name is not None
