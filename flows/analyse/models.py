"""The trial's models (statistical analysis plan), fitted with statsmodels on analysis.outcomes.

- ANCOVA at each timepoint (week 8, month 6): value ~ arm + baseline + sex (the stratum), OLS;
  every pairwise contrast between the arms (B - A, C - A, C - B: the warehouse holds blinded
  letters; an unblinded report turns them into the plan's LE - LL and LS - LL with the key).
- GEE as in the published trial: Gaussian, exchangeable working correlation, value ~ step x arm
  over the assessments the timepoint uses; slope per step in each arm and the arm differences.
- Linear mixed model with a random intercept per participant (sensitivity): the same terms.

ANCOVA and GEE are fitted for every parameter in the intention-to-treat set (all randomised, as
allocated). The sensitivity analyses are fitted for the primary outcomes (PSFS, NPRS during
running): the mixed model, and ANCOVA and GEE in the per-protocol set (adherent participants,
assessments inside their windows). A model that cannot be fitted (too few data at an early cut, a
singular design) gives a row that says so instead of failing.

Design matrices are built here with named columns (intercept, step, arm dummies against arm A,
step x arm) rather than from formulas: the same models, without a formula parser's cost on every
fit (the analysis of a cut is refreshed every night).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm

from runback.schemas.trial import BLINDED_ARMS, PARAMS, PRIMARY, TIMEPOINTS

ARMS = BLINDED_ARMS
"""The arms as the warehouse holds them: blinded letters, in letter order (the models never know
which arm a letter is; every pairwise contrast is fitted, later letter minus earlier)."""
REFERENCE = ARMS[0]
OTHER_ARMS = ARMS[1:]
PAIRS = tuple((later, earlier) for i, earlier in enumerate(ARMS) for later in ARMS[i + 1 :])
CONTRASTS = tuple(f"{a} - {b}" for a, b in PAIRS)
SLOPES = tuple(f"slope {arm}" for arm in (REFERENCE, *OTHER_ARMS)) + tuple(f"slope {c}" for c in CONTRASTS)
COLUMNS = [
    "model", "population", "timepoint", "param", "term", "estimate", "std_error", "ci_low", "ci_high",
    "p_value", "n_obs", "n_participants", "status", "note",
]  # fmt: skip
MIN_PER_ARM = 3
"""Participants needed in every arm before a model is fitted."""


def fit_all(outcomes: pd.DataFrame, participants: pd.DataFrame) -> pd.DataFrame:
    """Every model for every timepoint, population and parameter (rows in `COLUMNS` order)."""
    data = outcomes.merge(participants[["record_id", "sex", "adherent"]], on="record_id", how="left")
    data = data.assign(order=pd.to_numeric(data["record_id"], errors="coerce")).sort_values(
        ["order", "record_id", "param", "step"], kind="stable"
    )
    rows = []
    for timepoint, visits in TIMEPOINTS.items():
        for population, subset in populations(data[data["visit"].isin(visits)]).items():
            for param in PARAMS:
                if population != "ITT" and param.code not in PRIMARY:
                    continue
                frame = subset[subset["param"] == param.code]
                rows += ancova(frame, timepoint, population, param.code)
                rows += longitudinal("GEE", frame, timepoint, population, param.code)
                if population == "ITT" and param.code in PRIMARY:
                    rows += longitudinal("Mixed model", frame, timepoint, population, param.code)
    return pd.DataFrame(rows, columns=COLUMNS)


def populations(data: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """ITT: every assessment of every randomised participant; per protocol: adherent, in window."""
    return {"ITT": data, "Per protocol": data[data["adherent"].fillna(False) & data["in_window"].fillna(False)]}


def ancova(frame: pd.DataFrame, timepoint: str, population: str, param: str) -> list[dict]:
    """value ~ arm + baseline + sex at the timepoint; the pairwise contrasts between arms."""
    at = frame[(frame["visit"] == timepoint) & frame["base"].notna()]
    base = {"model": "ANCOVA", "population": population, "timepoint": timepoint, "param": param}
    problem = _too_few(at, f"with a baseline and a {timepoint} value")
    if problem:
        return _not_fitted(base, CONTRASTS, problem, at)
    design = _arms(at).assign(base=at["base"])
    if at["sex"].nunique() > 1:
        design["sex"] = (at["sex"] == sorted(at["sex"].dropna().unique())[-1]).astype(float)
    try:
        result = sm.OLS(at["aval"], design).fit()
    except (ValueError, np.linalg.LinAlgError) as err:
        return _not_fitted(base, CONTRASTS, f"could not be fitted: {err}", at)
    params = list(result.model.exog_names)
    return [_contrast_row(base, term, result, contrast(term, params), at, "") for term in CONTRASTS]


def longitudinal(model: str, frame: pd.DataFrame, timepoint: str, population: str, param: str) -> list[dict]:
    """value ~ step x arm over the timepoint's assessments: slopes per arm and their differences."""
    base = {"model": model, "population": population, "timepoint": timepoint, "param": param}
    steps = frame["step"].nunique()
    problem = _too_few(frame, "with a value") or (None if steps > 1 else "values at only one assessment so far")
    if problem:
        return _not_fitted(base, SLOPES, problem, frame)
    design = _arms(frame).assign(step=frame["step"].astype(float))
    for arm in OTHER_ARMS:
        design[f"step:{arm}"] = design["step"] * design[arm]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if model == "GEE":
                result = sm.GEE(frame["aval"], design, groups=frame["record_id"], family=sm.families.Gaussian(),
                                cov_struct=sm.cov_struct.Exchangeable()).fit()  # fmt: skip
            else:
                result = sm.MixedLM(frame["aval"], design, groups=frame["record_id"]).fit(reml=True)
        except (ValueError, np.linalg.LinAlgError) as err:
            return _not_fitted(base, SLOPES, f"could not be fitted: {err}", frame)
    note = "; ".join(sorted({str(w.message).split("\n")[0] for w in caught if "converge" in str(w.message).lower()}))
    params = list(result.model.exog_names)  # the fixed effects (a mixed model also has a group variance)
    return [_contrast_row(base, term, result, contrast(term, params), frame, note) for term in SLOPES]


def contrast(term: str, params: list[str]) -> np.ndarray:
    """The contrast vector of a term over the design's columns.

    'B - C': difference in the arm effects (columns B, C; A is 0); 'slope B': the slope in
    an arm (step + step:B); 'slope B - C': difference in slopes (step:B - step:C)."""
    slope = term.startswith("slope ")
    arms = term.removeprefix("slope ").split(" - ")
    prefix = "step:" if slope else ""

    def effect(arm: str) -> np.ndarray:
        vector = np.zeros(len(params))
        if arm != REFERENCE:
            vector[params.index(prefix + arm)] = 1
        return vector

    if len(arms) == 2:
        return effect(arms[0]) - effect(arms[1])
    vector = effect(arms[0])
    vector[params.index("step")] += 1
    return vector


def _arms(frame: pd.DataFrame) -> pd.DataFrame:
    """Intercept and one indicator per arm other than the reference (the first letter)."""
    design = pd.DataFrame({"const": 1.0}, index=frame.index)
    for arm in OTHER_ARMS:
        design[arm] = (frame["arm"] == arm).astype(float)
    return design


def _too_few(frame: pd.DataFrame, what: str) -> str | None:
    per_arm = frame.groupby("arm")["record_id"].nunique().reindex(ARMS, fill_value=0)
    if (per_arm < MIN_PER_ARM).any():
        counts = ", ".join(f"{arm} {n}" for arm, n in per_arm.items())
        return f"not fitted: fewer than {MIN_PER_ARM} participants per arm {what} ({counts})"
    return None


def _not_fitted(base: dict, terms, note: str, frame: pd.DataFrame) -> list[dict]:
    return [
        base | {"term": term, "estimate": None, "std_error": None, "ci_low": None, "ci_high": None,
                "p_value": None, "n_obs": len(frame), "n_participants": frame["record_id"].nunique(),
                "status": "not fitted", "note": note}
        for term in terms
    ]  # fmt: skip


def _contrast_row(base: dict, term: str, result, vector: np.ndarray, frame: pd.DataFrame, note: str) -> dict:
    test = result.t_test(vector[None, :])
    low, high = np.asarray(test.conf_int()).ravel()
    return base | {
        "term": term, "estimate": float(np.ravel(test.effect)[0]), "std_error": float(np.ravel(test.sd)[0]),
        "ci_low": float(low), "ci_high": float(high), "p_value": float(np.ravel(test.pvalue)[0]),
        "n_obs": len(frame), "n_participants": frame["record_id"].nunique(), "status": "ok", "note": note,
    }  # fmt: skip
