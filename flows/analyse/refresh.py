"""Analysis: the ADaM-shaped tables, summaries and model results of one data cut.

`refresh_analysis(con, study, cut)` recomputes, in one transaction, the reference tables (`ref.*`,
from the study definition and `schemas/trial.py`), every `analysis.*` table's rows of that cut
(`sql/analyse/<table>.sql`, in dependency order) and `analysis.model_results` (`models.py`). A
cut's analysis depends only on the clean layer as of the cut (and on which visit windows its date
has closed), so recomputing it later gives the same rows. A table whose key (`sharing.py`: what
it reads) equals the previous analysed cut's shows that cut's rows, computed and written once; a
model fit whose input is unchanged since the previous cut is copied from it. `latest.*` views show
the newest cut analysed.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from runback.flows.analyse import models, sharing
from runback.flows.analyse.tables import TABLES
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

REQUIRED_FORMS = (
    "screening",
    "randomisation",
    "nprs",
    "psfs",
    "odi",
    "physical_tests",
    "session_log",
    "adverse_event",
    "study_end",
)
T_QUANTILE_MAX_DF = 100_000


def analysable(study: Study) -> bool:
    """Whether the warehouse holds the trial's forms (other REDCap projects load, but are not analysed)."""
    return set(REQUIRED_FORMS) <= set(study.forms)


MODEL_INPUT = ("analyse/model_outcomes", "analyse/model_participants", "analyse/model_arms")
"""The statements that read the models' input (`analysis.model_results`' key reads them)."""
MODEL_READS = frozenset(name for s in MODEL_INPUT for schema, name in sharing.reads(s) if schema == "analysis")
"""The analysis tables the models read: once they are done, the fits run beside the other tables."""


@dataclass(frozen=True)
class Refreshed:
    """Rows per analysis table of the cut, the tables whose rows were shared with the previous cut
    (not computed again) and those updated from its rows (only windows closed since), and the
    model fits computed and copied from the previous cut."""

    written: dict[str, int]
    fitted: int
    reused: int
    shared: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()


def refresh_analysis(
    con, study: Study, cut: int, progress: Callable[[int, int], None] | None = None, share: bool = True
) -> Refreshed:
    """Recompute every analysis table's rows of `cut`, except those whose key equals the previous
    analysed cut's, and updating from its rows those that differ only in the windows closed since
    (`share=False`: compute every table afresh). A model fit whose key (`models.fit_key`:
    code, specification, input rows) is among the previous cut's results is copied from them; the
    fits run in a thread as soon as the tables they read are done, beside the other tables' SQL.
    `progress(k, n)` is told after each of the n model fits (from that thread)."""
    with transaction(con):
        measured = measured_visits(study)
        keys = sharing.TableKeys(con, cut, write_reference(con, blinded_study(study)))
        before = sharing.previous(con, cut) if share else {}
        shared, updated, done, fits = [], [], set(), None
        sharing.release(con, cut)
        for table in TABLES:
            if table == "model_results":
                shared += [table] if fits.shared else []
                continue
            key, content, last = _key(keys, table, measured), keys.contents[table], before.get(table)
            if key is not None and last and key == last.key:
                sharing.show(con, table, cut, last.rows_cut, key, content)
                shared.append(table)
            else:
                sharing.show(con, table, cut, cut, key, content)
                if table in MODEL_READS:
                    _import_ahead()  # a model's input changed: its fits will import scipy
                since = last if content is not None and last and content == last.content else None
                dated = (
                    {}
                    if content is None
                    else {"since_cut": since and since.data_cut, "rows_cut": since and since.rows_cut}
                )
                con.execute(sql(f"analyse/{table}"), {"cut": cut, **dated})
                updated += [table] if since else []
            done.add(table)
            if fits is None and MODEL_READS <= done:
                fits = _Fits(
                    con, cut, _key(keys, "model_results", measured), before.get("model_results"), measured, progress
                )
        fitted, reused = fits.store(con)
        written = _counts(con, cut)
    return Refreshed(written, fitted, reused, tuple(shared), tuple(updated))


def _counts(con, cut: int) -> dict[str, int]:
    """The rows of each analysis table for the cut, counted in one statement, in TABLES' order."""
    statement = "\nunion all\n".join(sql("analyse/count_cut", table=table) for table in TABLES)
    counted = dict(con.execute(statement, {"cut": cut}).fetchall())
    return {table: counted[table] for table in TABLES}


FITTING_IMPORTS = ("scipy.optimize", "scipy.special", "scipy.sparse")
"""The libraries a fit imports when it runs (not when every fit is copied): about 0.3 s."""


@functools.cache
def _import_ahead() -> None:
    """Import the fitting libraries in a daemon thread (once per process), while the caller goes
    on with DuckDB statements (which release the GIL), so that the fits do not wait for them:
    0.3-0.5 s of a new cut's refresh at 20,000 participants, where the fits are the longest part."""
    threading.Thread(
        target=lambda: [importlib.import_module(m) for m in FITTING_IMPORTS], name="runback-imports", daemon=True
    ).start()


def _key(keys: sharing.TableKeys, table: str, measured: dict[str, tuple[str, ...]]) -> str | None:
    """The key of one analysis table of the cut: its SQL's, or the fitting code's for the model results."""
    if table == "model_results":
        return keys.key(table, MODEL_INPUT, f"{models.CODE_VERSION} {sorted(measured.items())}")
    return keys.key(table, (f"analyse/{table}",))


class _Fits:
    """The cut's analysis.model_results: shared with the previous cut when their key is equal, else
    fitted in a thread (numpy and scipy only: it reads its input first and touches no warehouse)
    while the refresh goes on, and stored by `store` on the refresh's connection and transaction."""

    def __init__(
        self,
        con,
        cut: int,
        key: str | None,
        last: sharing.Shown | None,
        measured: dict[str, tuple[str, ...]],
        progress: Callable[[int, int], None] | None,
    ):
        self.cut, self.shared, self._outcome = cut, key is not None and last is not None and key == last.key, {}
        sharing.show(con, "model_results", cut, last.rows_cut if self.shared else cut, key, None)
        if self.shared:
            return
        given = {
            "outcomes": _arrow_frame(con, "analyse/model_outcomes", cut),
            "participants": _arrow_frame(con, "analyse/model_participants", cut),
            "arms": [row[0] for row in rows(con, "analyse/model_arms", {"cut": cut})],
            "measured": measured,
            "previous": con.execute(sql("analyse/previous_fits"), {"cut": cut}).df(),
            "progress": progress,
        }
        # a daemon thread, not concurrent.futures (whose workers are joined at exit): a command told
        # to stop (SIGTERM) ends at once instead of waiting for the fits it will not store
        self._thread = threading.Thread(target=self._fit, kwargs=given, name="runback-fits", daemon=True)
        self._thread.start()

    def _fit(self, **given) -> None:
        try:
            self._outcome["fits"] = models.fit_all(**given)
        except BaseException as err:  # noqa: BLE001 - raised again by store(), in the refresh's thread
            self._outcome["error"] = err

    def store(self, con) -> tuple[int, int]:
        """Wait for the fits and store their results; how many were fitted and copied (for shared
        results: none fitted, every fit copied)."""
        if self.shared:
            return 0, rows(con, "analyse/fits_in_rows", {"cut": self.cut})[0][0]
        self._thread.join()
        if "error" in self._outcome:
            raise self._outcome["error"]
        fits = self._outcome["fits"]
        _insert(con, "model_results_rows", fits.results.assign(data_cut=self.cut), "analyse/insert_model_results")
        return fits.fitted, fits.reused


def _arrow_frame(con, statement: str, cut: int) -> pd.DataFrame:
    """A query's rows as a pandas frame of Arrow-backed columns: no Python string per value (a
    third of the time of `.df()` for the 450,000 outcome rows of 20,000 participants)."""
    return con.sql(sql(statement), params={"cut": cut}).to_arrow_table().to_pandas(types_mapper=pd.ArrowDtype)


def measured_visits(study: Study) -> dict[str, tuple[str, ...]]:
    """The visits each parameter is measured at: those its form is designated to."""
    return {
        param: tuple(e.visit for e in study.events if form in study.forms_in_event(e.unique_name))
        for param, form in trial.PARAM_FORMS.items()
    }


def write_reference(con, study: Study) -> str:
    """ref.*: arms, visits, parameters, choice labels, checkbox columns, t quantiles, settings; the
    SHA-256 of what they hold. Tables equal to those last written (`meta.reference_written`) are
    not written again.

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
            ],
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
    written = "".join(f"{table}\n{frame.to_csv(index=False)}" for table, frame in tables.items())
    content = hashlib.sha256(f"t_quantiles {T_QUANTILE_MAX_DF}\n{written}".encode()).hexdigest()
    if rows(con, "analyse/count_ref", table="t_quantiles")[0][0] != T_QUANTILE_MAX_DF:  # fixed: written once
        from scipy import special  # only the first refresh of a warehouse writes them

        df = np.arange(1, T_QUANTILE_MAX_DF + 1)
        _write_ref(con, "t_quantiles", pd.DataFrame({"df": df, "t975": special.stdtrit(df, 0.975)}))
    if rows(con, "analyse/reference_written") != [(content,)]:  # the same tables as last written: kept
        for table, frame in tables.items():
            _write_ref(con, table, frame)
        con.execute(sql("analyse/record_reference"), {"content_hash": content})
    return content


def _write_ref(con, table: str, frame: pd.DataFrame) -> None:
    con.execute(sql("analyse/clear_ref", table=table))
    _insert(con, "reference_rows", frame, "analyse/insert_ref", table=table)


def _insert(con, name: str, frame: pd.DataFrame, statement: str, **identifiers: str) -> None:
    con.register(name, frame)
    try:
        con.execute(sql(statement, **identifiers))
    finally:
        con.unregister(name)
