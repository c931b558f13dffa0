"""The deployments as the Prefect UI shows them: typed parameters with descriptions (a dropdown
for the timepoint, refused when wrong as the run is created), the schedule's defaults."""

from pathlib import Path
from typing import get_args

from runback.flows.deployments import REPORT_DESCRIPTION, deployments
from runback.flows.followup_report import Audience, Timepoint
from runback.schemas.trial import TIMEPOINTS


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
    text = (Path(__file__).resolve().parents[2] / "prefect.yaml").read_text()
    assert f'description: "{REPORT_DESCRIPTION}"' in text
    assert deployments()[1].description == REPORT_DESCRIPTION
