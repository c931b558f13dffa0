"""The analysis tables: the one list that the refresh, the `latest.*` views, the export for
statisticians and the integrity check all follow (tests check the warehouse against it)."""

SQL_TABLES = (
    "participants",
    "outcomes",
    "baseline",
    "outcome_summary",
    "consort_flow",
    "adherence",
    "adverse_events",
    "missing_data",
    "missing_patterns",
    "responders",
    "data_queries",
)
"""analysis.* tables computed in SQL (`sql/analyse/<table>.sql`), in the order they depend on each other."""

TABLES = (*SQL_TABLES, "model_results")
"""Every analysis.* table of a data cut; `model_results` is fitted in Python (`flows/analyse/models.py`)."""
