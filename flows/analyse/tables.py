"""The analysis tables: the one list that the refresh, the `latest.*` views, the export for
statisticians and the integrity check all follow (tests check the warehouse against it), with what
each table's rows of a cut must satisfy, as dbt's schema tests declare it: its key (unique within
a cut), the columns never null (beyond the table's own NOT NULL constraints) and the values a
column accepts. The refresh checks them for every cut it analyses (`checks.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from runback.schemas import plan
from runback.schemas.trial import BLINDED_ARMS, PARAMS, TIMEPOINTS, VISIT_STEPS


@dataclass(frozen=True)
class Table:
    """One analysis.* table: its name, its key (unique within a cut; a null is one value, as in a
    `group by`), the columns its derivation never leaves null beyond those the table's NOT NULL
    constraints already refuse (`sql/warehouse/migrations/`), and the values its columns accept
    (a null passes)."""

    name: str
    key: tuple[str, ...]
    not_null: tuple[str, ...] = ()
    accepted: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    in_sql: bool = True  # computed by `sql/analyse/<name>.sql`; else in Python, after them


ARMS = tuple(BLINDED_ARMS)
"""The arms as the warehouse holds them: the blinded letters (the allocation is masked at intake)."""
VISITS = tuple(VISIT_STEPS)
STEPS = tuple(str(step) for step in VISIT_STEPS.values())
PARAM_CODES = tuple(p.code for p in PARAMS)
POPULATIONS = (plan.ITT, plan.PER_PROTOCOL)
RESPONDER_POPULATIONS = (plan.ITT, plan.OBSERVED_CASES, plan.PER_PROTOCOL)
COMPARED_POPULATIONS = (*RESPONDER_POPULATIONS, plan.MULTIPLE_IMPUTATION)
"""Responders are also compared by multiple imputation (sensitivity; no counts by arm)."""

DECLARED = (
    Table("participants", ("record_id",), accepted={"arm": ARMS}),
    Table(
        "intercurrent_events",
        ("record_id", "intercurrent_event", "kind"),
        accepted={"arm": ARMS, "intercurrent_event": (plan.CO_INTERVENTION, plan.STOPPED_RUNNING)},
    ),
    Table(
        "set_aside",
        ("record_id", "visit", "param"),
        accepted={"arm": ARMS, "visit": VISITS, "step": STEPS, "param": PARAM_CODES, "strategy": plan.SETS_ASIDE},
    ),
    Table(
        "outcomes",
        ("record_id", "visit", "param"),
        accepted={"arm": ARMS, "visit": VISITS, "step": STEPS, "param": PARAM_CODES},
    ),
    Table("baseline", ("arm", "characteristic"), accepted={"arm": (*ARMS, "All"), "kind": ("continuous", "count")}),
    Table(
        "outcome_summary",
        ("arm", "visit", "param"),
        ("mean", "median", "q1", "q3"),  # over n >= 1 values
        {"arm": ARMS, "visit": VISITS, "step": STEPS, "param": PARAM_CODES},
    ),
    Table("consort_flow", ("stage", "box", "arm"), accepted={"arm": ARMS}),
    Table("adherence", ("arm",), ("supervised_mean", "adherence_mean"), {"arm": ARMS}),  # an arm's row has participants
    Table(
        "adverse_events",
        ("arm", "dimension", "category"),
        accepted={"arm": ARMS, "dimension": ("Any", "Severity", "Seriousness", "Relatedness")},
    ),
    Table("missing_data", ("arm", "visit"), accepted={"arm": ARMS, "visit": VISITS, "step": STEPS}),
    Table(
        "missing_patterns",
        ("param", "arm", "pattern"),
        accepted={"param": PARAM_CODES, "arm": ARMS, "kind": ("complete", "monotone", "intermittent", "none")},
    ),
    Table(
        "responders",
        ("timepoint", "param", "arm", "population"),
        ("pct", "observed"),  # of n >= 1
        {"timepoint": tuple(TIMEPOINTS), "param": PARAM_CODES, "arm": ARMS, "population": RESPONDER_POPULATIONS},
    ),
    Table(
        "data_queries",
        ("query_id",),
        accepted={"action": ("quarantine", "flag"), "status": ("new", "open", "resolved")},
    ),
    Table(
        "responder_comparisons",
        ("timepoint", "param", "population", "term"),
        ("risk_difference", "rd_ci_low", "rd_ci_high"),  # both arms have participants due
        {"timepoint": tuple(TIMEPOINTS), "param": PARAM_CODES, "population": COMPARED_POPULATIONS},
        in_sql=False,
    ),
    Table(
        "model_results",
        ("model", "population", "timepoint", "param", "visit", "term", "shift_later", "shift_earlier"),
        ("n_obs", "n_participants", "role"),  # a fit not made says so with its counts; every fit has a role
        {
            "model": (plan.MMRM, plan.ANCOVA, plan.GEE, plan.MIXED, plan.DELTA_MI),
            "population": POPULATIONS,
            "timepoint": tuple(TIMEPOINTS),
            "param": PARAM_CODES,
            "visit": VISITS,
            "status": ("ok", "not fitted"),
            "role": plan.ROLES,
        },
        in_sql=False,
    ),
)
"""Every analysis.* table of a data cut, in the order they are computed (each reads only those
before it); `responder_comparisons` (`flows/analyse/responders.py`) and `model_results`
(`flows/analyse/models.py`) are computed in Python, the others in SQL (`sql/analyse/<table>.sql`)."""

TABLES = tuple(t.name for t in DECLARED)
"""Every analysis.* table of a data cut, in the order they are computed."""
SQL_TABLES = tuple(t.name for t in DECLARED if t.in_sql)
"""analysis.* tables computed in SQL (`sql/analyse/<table>.sql`), in the order they depend on each other."""
