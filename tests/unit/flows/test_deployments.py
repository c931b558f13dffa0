"""The deployments as the Prefect UI shows them: typed parameters with descriptions (a dropdown
for the timepoint, refused when wrong as the run is created), the schedule's defaults."""

from pathlib import Path

from runback.flows.deployments import REPORT_DESCRIPTION, deployments
from runback.schemas.trial import AUDIENCES, TIMEPOINTS, Audience, Timepoint

ROOT = Path(__file__).resolve().parents[3]


def _choices(schema, parameter: dict) -> list:
    """A parameter's choices (the UI's dropdown): its own, or those of the type it refers to."""
    if "$ref" in parameter:
        parameter = schema.definitions[parameter["$ref"].removeprefix("#/definitions/")]
    return parameter["enum"]


def test_the_report_deployment_offers_the_timepoints_and_describes_its_parameters():
    assert {t.value for t in Timepoint} == set(TIMEPOINTS)
    nightly, adhoc = deployments()
    schema = adhoc._parameter_openapi_schema  # what the deployment sends the server
    timepoint = schema.properties["timepoint"]
    assert set(_choices(schema, timepoint)) == set(TIMEPOINTS)
    assert "week_8 (baseline to week 8)" in timepoint.get("description", "")
    assert adhoc.enforce_parameter_schema
    audience = schema.properties["audience"]
    assert (
        set(_choices(schema, audience)) == {a.value for a in Audience} == set(AUDIENCES) == {"open", "closed"}
        and audience["default"] == "closed"
    )
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
