"""Analysis: the ADaM-shaped tables, summaries and model results of one data cut.

`refresh_analysis(con, study, cut)` recomputes, in one transaction, the reference tables (`ref.*`,
from the study definition and `schemas/trial.py`), every `analysis.*` table's rows of that cut
(`sql/analyse/<table>.sql`, in dependency order) and `analysis.model_results` (`models.py`). A
cut's analysis depends only on the clean layer as of the cut, so recomputing it later gives the
same rows; a model fit whose input is unchanged since the previous cut is copied from it.
`latest.*` views show the newest cut analysed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from runback.flows.analyse import models
from runback.flows.analyse.tables import SQL_TABLES, TABLES
from runback.flows.warehouse import rows, sql, transaction
from runback.schemas import trial
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

REQUIRED_FORMS = ("screening", "randomisation", "nprs", "psfs", "odi", "physical_tests", "session_log",
                  "adverse_event", "study_end")  # fmt: skip
T_QUANTILE_MAX_DF = 100_000


def analysable(study: Study) -> bool:
    """Whether the warehouse holds the trial's forms (other REDCap projects load, but are not analysed)."""
    return set(REQUIRED_FORMS) <= set(study.forms)


@dataclass(frozen=True)
class Refreshed:
    """Rows written per analysis table, and the model fits computed and copied from the previous cut."""

    written: dict[str, int]
    fitted: int
    reused: int


def refresh_analysis(con, study: Study, cut: int, progress: Callable[[int, int], None] | None = None) -> Refreshed:
    """Recompute every analysis table's rows of `cut`. A model fit whose key (`models.fit_key`: code,
    specification, input rows) is among the previous cut's results is copied from them.
    `progress(k, n)` is told after each of the n model fits."""
    with transaction(con):
        write_reference(con, blinded_study(study))
        for table in TABLES:
            con.execute(sql("analyse/clear_cut", table=table), {"cut": cut})
        for table in SQL_TABLES:
            con.execute(sql(f"analyse/{table}"), {"cut": cut})
        fits = models.fit_all(
            con.execute(sql("analyse/model_outcomes"), {"cut": cut}).df(),
            con.execute(sql("analyse/model_participants"), {"cut": cut}).df(),
            arms=[row[0] for row in rows(con, "analyse/model_arms", {"cut": cut})],
            measured=measured_visits(study),
            previous=con.execute(sql("analyse/previous_fits"), {"cut": cut}).df(),
            progress=progress,
        )
        _insert(con, "model_results_rows", fits.results.assign(data_cut=cut), "analyse/insert_model_results")
        written = {table: rows(con, "analyse/count_cut", {"cut": cut}, table=table)[0][0] for table in TABLES}
    return Refreshed(written, fits.fitted, fits.reused)


def measured_visits(study: Study) -> dict[str, tuple[str, ...]]:
    """The visits each parameter is measured at: those its form is designated to."""
    return {
        param: tuple(e.visit for e in study.events if form in study.forms_in_event(e.unique_name))
        for param, form in trial.PARAM_FORMS.items()
    }


def write_reference(con, study: Study) -> None:
    """ref.*: arms, visits, parameters, choice labels, checkbox columns, t quantiles, settings.

    The arms are the blinded letters the warehouse holds (the allocation is masked at intake);
    which arm a letter is, only the allocation key says."""
    tables = {
        "arms": pd.DataFrame(
            [(letter, letter, f"Arm {letter}", i) for i, letter in enumerate(BLINDED_ARMS)],
            columns=["code", "arm", "name", "sort"],
        ),
        "visits": pd.DataFrame(
            [
                (e.unique_name, e.visit, VISIT_STEPS.get(e.visit), e.day_offset, *(e.window or (None, None)), i)
                for i, e in enumerate(study.events)
            ],  # fmt: skip
            columns=["event", "visit", "step", "day_offset", "window_low", "window_high", "sort"],
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
        "settings": pd.DataFrame(
            [("supervised_planned", SUPERVISED_PLANNED), ("adherent_min", ADHERENT_MIN)], columns=["name", "value"]
        ),
    }
    if rows(con, "analyse/count_ref", table="t_quantiles")[0][0] != T_QUANTILE_MAX_DF:  # fixed: written once
        df = np.arange(1, T_QUANTILE_MAX_DF + 1)
        tables["t_quantiles"] = pd.DataFrame({"df": df, "t975": stats.t.ppf(0.975, df)})
    for table, frame in tables.items():
        con.execute(sql("analyse/clear_ref", table=table))
        _insert(con, "reference_rows", frame, "analyse/insert_ref", table=table)


def _insert(con, name: str, frame: pd.DataFrame, statement: str, **identifiers: str) -> None:
    con.register(name, frame)
    try:
        con.execute(sql(statement, **identifiers))
    finally:
        con.unregister(name)
