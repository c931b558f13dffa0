"""Analysis: the ADaM-shaped tables, summaries and model results of one data cut.

`refresh_analysis(con, study, cut)` recomputes, in one transaction, the reference tables (`ref.*`,
from the study definition and `schemas/trial.py`), every `analysis.*` table's rows of that cut
(`sql/analyse/<table>.sql`, in dependency order), `analysis.model_results` (`models.py`) and
`analysis.responder_comparisons` (`responders.py`: also of the delta-adjusted MI's imputations), then
checks them against what each table declares (`tables.py`, `checks.py`). A cut's analysis depends
only on the clean layer as of the cut (and on which visit windows its date has closed), so
recomputing it later gives the same rows. `latest.*` views show the newest cut analysed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from runback.flows.analyse import checks, models, responders
from runback.flows.analyse.tables import SQL_TABLES, TABLES
from runback.flows.warehouse import rows, sql, transaction
from runback.schemas import plan, trial
from runback.schemas.study import KIND_CHECKBOX, KIND_CHOICE, Study
from runback.schemas.trial import (
    ADHERENT_MIN,
    BLINDED_ARMS,
    PARAMS,
    PRIMARY,
    SUPERVISED_PLANNED,
    VISIT_STEPS,
    blinded_study,
)

REQUIRED_FORMS = (
    "screening",
    "randomisation",
    "nprs",
    "psfs",
    "odi",
    "physical_tests",
    "session_log",
    "adverse_event",
    "running_status",
    "co_intervention",
    "study_end",
)
T_QUANTILE_MAX_DF = 100_000


def analysable(study: Study) -> bool:
    """Whether the warehouse holds the trial's forms (other REDCap projects load, but are not analysed)."""
    return set(REQUIRED_FORMS) <= set(study.forms)


@dataclass(frozen=True)
class Refreshed:
    """Rows per analysis table of the cut, and how many model fits were computed."""

    written: dict[str, int]
    fitted: int


def refresh_analysis(con, study: Study, cut: int, progress: Callable[[int, int], None] | None = None) -> Refreshed:
    """Recompute every analysis table's rows of `cut` and fit the models, in one transaction; fail
    (nothing kept) when the rows break a table's declared checks. `progress(k, n)` is told after
    each of the n model fits."""
    with transaction(con):
        write_reference(con, blinded_study(study))
        for table in TABLES:
            con.execute(sql("analyse/clear_cut", table=table), {"cut": cut})
        for table in SQL_TABLES:
            con.execute(sql(f"analyse/{table}"), {"cut": cut})
        arms = [row[0] for row in rows(con, "analyse/model_arms", {"cut": cut})]
        fits = models.fit_all(
            _arrow_frame(con, "analyse/model_outcomes", cut),
            _arrow_frame(con, "analyse/model_participants", cut),
            arms,
            measured_visits(study),
            progress,
            due=_arrow_frame(con, "analyse/model_due", cut),
        )
        _insert(con, "model_results_rows", fits.results.assign(data_cut=cut), "analyse/insert_model_results")
        compared = responders.comparisons(rows(con, "analyse/responder_counts", {"cut": cut}), arms)
        compared = pd.concat([compared, responders.imputed_comparisons(fits.imputed, arms)], ignore_index=True)
        _insert(
            con, "responder_comparisons_rows", compared.assign(data_cut=cut), "analyse/insert_responder_comparisons"
        )
        checks.check(con, cut)
        written = _counts(con, cut)
    return Refreshed(written, fits.fitted)


def _counts(con, cut: int) -> dict[str, int]:
    """The rows of each analysis table for the cut, counted in one statement, in TABLES' order."""
    statement = "\nunion all\n".join(sql("analyse/count_cut", table=table) for table in TABLES)
    counted = dict(con.execute(statement, {"cut": cut}).fetchall())
    return {table: counted[table] for table in TABLES}


def _arrow_frame(con, statement: str, cut: int) -> pd.DataFrame:
    """A query's rows as a pandas frame of Arrow-backed columns: no Python string per value (a
    third of the time of `.df()` for the 450,000 outcome rows of 20,000 participants).
    Carries the goal: a new cut's refresh at 20,000 participants <= 5 s (bench/goals.py)."""
    return con.sql(sql(statement), params={"cut": cut}).to_arrow_table().to_pandas(types_mapper=pd.ArrowDtype)


def measured_visits(study: Study) -> dict[str, tuple[str, ...]]:
    """The visits each parameter is measured at: those its form is designated to."""
    return {
        param: tuple(e.visit for e in study.events if form in study.forms_in_event(e.unique_name))
        for param, form in trial.PARAM_FORMS.items()
    }


def write_reference(con, study: Study) -> None:
    """ref.*: arms, visits, parameters, choice labels, checkbox columns, the plan's strategies for
    intercurrent events, settings, and (when the warehouse does not hold them yet) the t quantiles.

    The arms are the blinded letters the warehouse holds (the allocation is masked at intake);
    which arm a letter is, only the allocation key says."""
    tables = {
        "arms": pd.DataFrame(
            [(letter, letter, f"Arm {letter}", i) for i, letter in enumerate(BLINDED_ARMS)],
            columns=["code", "arm", "name", "sort"],
        ),
        "visits": pd.DataFrame(
            [
                (
                    e.unique_name,
                    e.visit,
                    VISIT_STEPS.get(e.visit),
                    e.day_offset,
                    *(e.window or (None, None)),
                    i,
                    e.visit in trial.TIMEPOINTS,
                )
                for i, e in enumerate(study.events)
            ],
            columns=["event", "visit", "step", "day_offset", "window_low", "window_high", "sort", "timepoint"],
        ),
        "params": pd.DataFrame(
            [(p.code, p.label, p.unit, p.source, p.better, p.mcid, p.code in PRIMARY, i) for i, p in enumerate(PARAMS)],
            columns=["param", "label", "unit", "source", "better", "mcid", "primary", "sort"],
        ),
        "choices": pd.DataFrame(
            [(f.name, code, label) for f in study.fields if f.kind == KIND_CHOICE for code, label in f.choices],
            columns=["field", "code", "label"],
        ),
        "checkbox_columns": pd.DataFrame(
            [
                (f.name, column, code, dict(f.choices).get(code) or study.missing_codes.get(code, code))
                for f in study.fields
                if f.kind == KIND_CHECKBOX
                for column, code in study.field_columns(f).items()
            ],
            columns=["field", "column", "code", "label"],
        ),
        "strategies": pd.DataFrame(
            [
                (e.outcome, trial.PARAM_FORMS[e.outcome], event, strategy, strategy in plan.SETS_ASIDE)
                for e in plan.ESTIMANDS
                for event, strategy in e.intercurrent_events
            ],
            columns=["param", "form", "intercurrent_event", "strategy", "sets_aside"],
        ),
        "settings": pd.DataFrame(
            [("supervised_planned", SUPERVISED_PLANNED), ("adherent_min", ADHERENT_MIN)], columns=["name", "value"]
        ),
    }
    if rows(con, "analyse/count_ref", table="t_quantiles")[0][0] != T_QUANTILE_MAX_DF:
        # fixed, so written once (carries the goal: a new cut's refresh <= 1 s at 84 participants,
        # bench/goals.py; rewriting its 100,000 rows took 0.4 s of every refresh)
        from scipy import special

        df = np.arange(1, T_QUANTILE_MAX_DF + 1)
        tables["t_quantiles"] = pd.DataFrame({"df": df, "t975": special.stdtrit(df, 0.975)})
    for table, frame in tables.items():
        con.execute(sql("analyse/clear_ref", table=table))
        _insert(con, "reference_rows", frame, "analyse/insert_ref", table=table)


def _insert(con, name: str, frame: pd.DataFrame, statement: str, **identifiers: str) -> None:
    con.register(name, frame)
    try:
        con.execute(sql(statement, **identifiers))
    finally:
        con.unregister(name)
