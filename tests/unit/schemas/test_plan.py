"""The analysis plan (schemas/plan.py): declared once, restated in docs/analysis.md, and what the
models write into analysis.model_results."""

import re
from pathlib import Path

import pandas as pd

from runback.schemas import plan
from runback.schemas.trial import PARAMS, PRIMARY, TIMEPOINTS

DOCS = (Path(__file__).resolve().parents[3] / "docs" / "analysis.md").read_text()


def test_docs_restate_the_plan():
    section = re.search(r"<!-- plan:start -->\n(.*)<!-- plan:end -->", DOCS, flags=re.S)
    assert section, "docs/analysis.md has no plan section"
    assert section.group(1) == plan.markdown()


def test_every_primary_and_key_secondary_outcome_has_an_estimand_and_a_primary_analysis():
    assert [e.outcome for e in plan.ESTIMANDS] == [p.code for p in PARAMS if p.code in PRIMARY + plan.KEY_SECONDARY]
    strategies = {plan.TREATMENT_POLICY, plan.HYPOTHETICAL, plan.COMPOSITE, plan.WHILE_ON_TREATMENT}
    for estimand in plan.ESTIMANDS:
        assert estimand.population and estimand.variable and estimand.summary_measure
        # a strategy (one of ICH E9(R1)'s) for every intercurrent event the trial meets, and nothing else:
        # the missing-data assumption is declared apart (plan.MISSING_DATA)
        assert [event for event, _ in estimand.intercurrent_events] == [e.code for e in plan.INTERCURRENT_EVENTS]
        assert {strategy for _, strategy in estimand.intercurrent_events} <= strategies
    primary = [a for a in plan.ANALYSES if a.role == plan.PRIMARY_ROLE]
    assert len(primary) == 1 and set(primary[0].params) == set(PRIMARY)
    assert primary[0].timepoints == (plan.PRIMARY_TIMEPOINT,) and plan.PRIMARY_TIMEPOINT in TIMEPOINTS
    assert set(plan.SECONDARY_OUTCOMES) | set(PRIMARY) == {p.code for p in PARAMS}


def test_roles_of_results():
    final = TIMEPOINTS[plan.PRIMARY_TIMEPOINT][-1]
    assert plan.role("MMRM", "ITT", "PSFS", plan.PRIMARY_TIMEPOINT, final) == "primary"
    assert plan.role("MMRM", "ITT", "PSFS", plan.PRIMARY_TIMEPOINT, "week_4") == "secondary"
    assert plan.role("MMRM", "ITT", "ODI", plan.PRIMARY_TIMEPOINT, final) == "secondary"
    assert plan.role("MMRM", "Per protocol", "PSFS", plan.PRIMARY_TIMEPOINT, final) == "sensitivity"
    assert plan.role("GEE", "ITT", "KE_TORQUE", "week_8", None) == "secondary"
    assert plan.role("ANCOVA", "ITT", "PSFS", "month_6", "month_6") == "sensitivity"
    assert plan.role("GEE", "Per protocol", "ODI", "week_8", None) is None  # not in the plan


def test_every_model_has_an_inference_convention():
    models = {a.model for a in plan.ANALYSES}
    assert models == {"MMRM", "ANCOVA", "GEE", "Mixed model", "Delta-adjusted MI"}
    for model in models:
        assert plan.inference(model)
    assert "Satterthwaite" in plan.inference("MMRM") and plan.inference("GEE").startswith("z")


def test_holm_over_the_primary_family_only():
    from runback.flows.analyse.models import with_roles

    rows = pd.DataFrame(
        {
            "model": ["MMRM"] * 3 + ["ANCOVA"],
            "population": "ITT",
            "param": ["PSFS", "PSFS", "NPRS_RUN", "PSFS"],
            "timepoint": "week_8",
            "visit": ["week_8", "week_4", "week_8", "week_8"],
            "p_value": [0.01, 0.02, 0.04, 0.03],
        }
    )
    out = with_roles(rows)
    assert out["role"].tolist() == ["primary", "secondary", "primary", "sensitivity"]
    assert out["p_adjusted"].tolist()[0] == 0.02 and out["p_adjusted"].tolist()[2] == 0.04
    assert out["p_adjusted"].isna().tolist() == [False, True, False, True]


def test_the_plan_in_force_is_the_content_signed_under_its_version():
    """Change the plan, and this fails until the plan gets a new version (plan.SIGNED)."""
    assert plan.SIGNED[plan.VERSION] == plan.fingerprint()
