"""MNAR sensitivity (flows/analyse/missing.py): delta-adjusted multiple imputation from the MMRM,
ANCOVA per completed data set, Rubin's rules, and the tipping delta."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from runback.flows.analyse import missing, models

FIXTURES = Path(__file__).parent / "fixtures"
STEPS = {"week_4": 1, "week_8": 2, "month_3": 3, "month_6": 4}


def _frame(name: str) -> pd.DataFrame:
    """A fixture data set as analysis.outcomes rows of month 6 (with baseline rows)."""
    data = pd.read_csv(FIXTURES / f"mmrm_{name}.csv").rename(columns={"id": "record_id"})
    data = data.assign(step=data["visit"].map(STEPS))
    people = data.drop_duplicates("record_id").assign(visit="baseline", step=0, aval=lambda f: f["base"])
    return pd.concat([people, data], ignore_index=True)


def _rows(frame: pd.DataFrame) -> pd.DataFrame:
    rows = models.delta_mi_rows(frame, ["A", "B", "C"], "month_6", "ITT", "PSFS")
    return pd.DataFrame(rows).set_index("term")


def test_without_missing_values_it_is_the_ancova():
    frame = _frame("four_visits")
    complete = set(frame.loc[frame["visit"] == "month_6", "record_id"])
    frame = frame[frame["record_id"].isin(complete)]
    rows = _rows(frame)
    at = frame[frame["visit"] == "month_6"]
    ols = smf.ols("aval ~ C(arm) + base + C(sex)", data=at).fit()
    assert rows.loc["C - A", "estimate"] == pytest.approx(ols.params["C(arm)[T.C]"], rel=1e-8)
    assert rows.loc["C - A", "std_error"] == pytest.approx(ols.bse["C(arm)[T.C]"], rel=1e-8)
    assert rows.loc["B - A", "p_value"] == pytest.approx(ols.pvalues["C(arm)[T.B]"], rel=1e-3)
    assert pd.isna(rows.loc["tipping delta C - A", "estimate"])  # nothing imputed: nothing to shift
    assert rows.loc["tipping delta C - A", "note"] == "no imputed values of Arm C"


def test_under_mar_it_agrees_with_the_mmrm():
    frame = _frame("four_visits")
    rows = _rows(frame)
    mmrm = pd.DataFrame(models.mmrm_rows(frame, ["A", "B", "C"], "month_6", "ITT", "PSFS"))
    mmrm = mmrm[mmrm["visit"] == "month_6"].set_index("term")
    imputed = rows.loc["C - A", "n_participants"] - frame[frame["visit"] == "month_6"]["record_id"].nunique()
    assert imputed > 5
    for term in ("B - A", "C - A", "C - B"):
        assert rows.loc[term, "estimate"] == pytest.approx(
            mmrm.loc[term, "estimate"], abs=0.25 * mmrm.loc[term, "std_error"]
        )
        assert rows.loc[term, "std_error"] == pytest.approx(mmrm.loc[term, "std_error"], rel=0.15)


def test_the_tipping_delta_is_where_the_conclusion_changes():
    frame = _frame("four_visits")
    rows = _rows(frame)
    assert rows.loc["C - A", "p_value"] < 0.05  # significant under MAR
    delta = rows.loc["tipping delta C - A", "estimate"]
    assert delta < 0  # C is above A: its imputed values are shifted down
    people = frame[frame["base"].notna()].drop_duplicates("record_id")
    post, visits, _ = models._mmrm_input(frame, ["A", "B", "C"], "month_6")
    completed = models._completed(
        models._mmrm_fit(post, ["A", "B", "C"], visits), post, people, ["A", "B", "C"], visits
    )
    later = (completed.arm[~completed.observed] == "C").astype(float)
    vector = np.array([0, 0, 1.0, 0, 0])
    assert missing.pooled_contrast(completed, vector, delta * later).p_value == pytest.approx(0.05, abs=1e-3)
    assert missing.pooled_contrast(completed, vector, 0.9 * delta * later).p_value < 0.05
    assert missing.pooled_contrast(completed, vector, 1.1 * delta * later).p_value > 0.05
    assert rows.loc["tipping delta B - A", "note"] == "not significant under MAR"


def test_rubins_rules():
    pooled = missing.rubin(np.array([1.0, 1.2, 0.8, 1.1]), np.array([0.04, 0.05, 0.04, 0.03]), df_complete=40)
    u, b = 0.04, np.var([1.0, 1.2, 0.8, 1.1], ddof=1)
    assert pooled.estimate == pytest.approx(1.025)
    assert pooled.std_error == pytest.approx(np.sqrt(u + 1.25 * b))
    lam = 1.25 * b / (u + 1.25 * b)
    old, obs = 3 / lam**2, 41 / 43 * 40 * (1 - lam)
    assert pooled.df == pytest.approx(old * obs / (old + obs))
