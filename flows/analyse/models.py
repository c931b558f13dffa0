"""The trial's models, as declared in the analysis plan (`schemas/plan.py`), on analysis.outcomes.

- MMRM (primary for the continuous repeated outcomes, `flows/analyse/mmrm.py`): the value at each
  post-baseline visit of the timepoint on visit (factor), arm x visit, baseline x visit and sex
  (the stratum); unstructured covariance, REML; the contrast between every pair of arms at each
  visit, t with Satterthwaite df.
- ANCOVA at each timepoint (week 8, month 6): value ~ arm + baseline + sex, OLS, complete cases;
  t with the residual df.
- GEE as in the published trial (Cai 2017): Gaussian, exchangeable working correlation, value ~
  step x arm over the assessments the timepoint uses; slope per step in each arm and the arm
  differences; z with the robust (sandwich) variance.
- Linear mixed model with a random intercept per participant: the same terms as the GEE; z.

Arms are given (`arms`: those of `ref.arms` in its order, `sql/analyse/model_arms.sql`; by default
the arms in the data, sorted); every pair is compared, later minus earlier. The designs code arms
against the first arm, but every result is a contrast between two arms, so no result depends on
which arm is first. A parameter is fitted at a
timepoint only if it is measured at the timepoint's visit (`measured`); a model that cannot be
fitted (too few data at an early cut, a singular design) gives rows that say so instead of failing.

Each result carries the plan's role (primary, secondary, sensitivity) and, for the primary family,
its Holm-adjusted p-value. Design matrices are built here with named columns rather than from
formulas: the same models, without a formula parser's cost on every nightly fit.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata, resources
from itertools import combinations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.stats.multitest import multipletests
from threadpoolctl import threadpool_limits

from runback.flows.analyse import clustered, missing, mmrm
from runback.schemas import plan
from runback.schemas.trial import PARAMS, PRIMARY, TIMEPOINTS

COLUMNS = [
    "model", "population", "timepoint", "param", "visit", "term", "estimate", "std_error", "df", "ci_low",
    "ci_high", "p_value", "p_adjusted", "role", "n_obs", "n_participants", "status", "note",
]  # fmt: skip
MIN_PER_ARM = 3
"""Participants needed in every arm before a model is fitted."""
FIT_INPUT = ("record_id", "arm", "visit", "step", "aval", "base", "sex")
"""The columns of a fit's input rows that the models read (the populations are already applied)."""
FITTING_CODE = {"runback.flows.analyse": ("models.py", "mmrm.py", "clustered.py", "missing.py"),
                "runback.schemas": ("plan.py", "trial.py")}  # fmt: skip
FITTING_LIBRARIES = ("numpy", "scipy", "statsmodels", "pandas")
CODE_VERSION = hashlib.sha256(
    b"".join(
        (resources.files(package) / name).read_bytes() for package, names in FITTING_CODE.items() for name in names
    )
    + " ".join(f"{library} {metadata.version(library)}" for library in FITTING_LIBRARIES).encode()
).hexdigest()
"""SHA-256 of the code that fits the models, of the plan and trial definitions and of the versions of
the libraries the fits (and the input rows' hashes) rest on: a change to any of them changes every
fit's key, so no stored result outlives the code that computed it."""


def pairs(arms: Sequence[str]) -> list[tuple[str, str]]:
    """Every pair of arms, later minus earlier in the order given."""
    return [(later, earlier) for earlier, later in combinations(arms, 2)]


def contrast_terms(arms: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"{a} - {b}" for a, b in pairs(arms))


def slope_terms(arms: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"slope {arm}" for arm in arms) + tuple(f"slope {c}" for c in contrast_terms(arms))


@dataclass(frozen=True)
class Fits:
    """The model results of a cut (rows in `COLUMNS` order, each with the `fit_hash` of its fit) and
    how many fits were computed and how many were copied from the previous cut's results."""

    results: pd.DataFrame
    fitted: int
    reused: int


@dataclass(frozen=True)
class Planned:
    """One fit of the plan: a model of one parameter in one population at one timepoint, its input
    rows, and the key under which its results are stored (`fit_key`)."""

    model: str
    population: str
    timepoint: str
    param: str
    frame: pd.DataFrame
    key: str


def fit_all(
    outcomes: pd.DataFrame,
    participants: pd.DataFrame,
    arms: Sequence[str] | None = None,
    measured: Mapping[str, Sequence[str]] | None = None,
    previous: pd.DataFrame | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Fits:
    """Every model of the plan for every timepoint, population and parameter.

    `arms`: the arms in their order (default: those of `participants`, sorted). `measured`: the
    visits each parameter is measured at (default: every visit). `previous`: stored results of an
    earlier cut (with `fit_hash`); a fit whose key is among them is copied, not refitted.
    `progress(k, n)` is called after each of the n fits. The fits run on one BLAS thread: their
    matrices are small (at most 17 columns), and on a shared two-core machine more BLAS threads made
    the refresh three times slower, not faster."""
    arms = tuple(arms) if arms is not None else tuple(sorted(participants["arm"].dropna().unique()))
    planned = plan_fits(outcomes, participants, arms, measured)
    stored = {} if previous is None else {key: rows for key, rows in previous.groupby("fit_hash", sort=False)}
    rows, fitted = [], 0
    with threadpool_limits(limits=1, user_api="blas"):
        for k, fit in enumerate(planned, start=1):
            if fit.key in stored:
                rows += stored[fit.key].to_dict("records")
            else:
                fitted += 1
                fitter = FITTERS[fit.model]
                rows += [row | {"fit_hash": fit.key} for row in fitter(fit.frame, arms, fit.timepoint, fit.population,
                                                                       fit.param)]  # fmt: skip
            if progress:
                progress(k, len(planned))
    results = pd.DataFrame(rows, columns=[*COLUMNS, "fit_hash"])
    return Fits(with_roles(results), fitted, len(planned) - fitted)


def plan_fits(outcomes: pd.DataFrame, participants: pd.DataFrame, arms: tuple[str, ...],
              measured: Mapping[str, Sequence[str]] | None) -> list[Planned]:  # fmt: skip
    """The fits of the plan in their order, each with its input rows and key."""
    data = outcomes.merge(participants[["record_id", "sex", "adherent"]], on="record_id", how="left")
    data = data.assign(order=pd.to_numeric(data["record_id"], errors="coerce")).sort_values(
        ["order", "record_id", "param", "step"], kind="stable"
    )
    row_hashes = pd.util.hash_pandas_object(data[list(FIT_INPUT)], index=False)
    planned = []
    for timepoint, visits in TIMEPOINTS.items():
        for population, subset in populations(data[data["visit"].isin(visits)]).items():
            for param in PARAMS:
                if measured is not None and visits[-1] not in measured.get(param.code, ()):
                    continue  # not measured at the timepoint: nothing to fit
                if population != plan.ITT and param.code not in PRIMARY:
                    continue
                frame = subset[subset["param"] == param.code]
                rows = hashlib.sha256(row_hashes.loc[frame.index].to_numpy().tobytes()).hexdigest()
                for model in _models(population, timepoint, param.code):
                    key = fit_key(model, population, timepoint, param.code, arms, rows)
                    planned.append(Planned(model, population, timepoint, param.code, frame, key))
    return planned


def _models(population: str, timepoint: str, param: str) -> list[str]:
    """The models the plan fits to one parameter in one population at one timepoint."""
    models = [plan.MMRM, plan.ANCOVA, plan.GEE]
    if population == plan.ITT and param in PRIMARY:
        models.append(plan.MIXED)
        if timepoint == plan.PRIMARY_TIMEPOINT:
            models.append(plan.DELTA_MI)
    return models


def fit_key(model: str, population: str, timepoint: str, param: str, arms: Sequence[str], rows: str) -> str:
    """The key of a fit's results: SHA-256 of the code that fits it, the fit's specification and the
    digest of its input rows (`FIT_INPUT` columns, in order). Equal keys give equal results."""
    spec = "\x1f".join([CODE_VERSION, model, population, timepoint, param, *arms, rows])
    return hashlib.sha256(spec.encode()).hexdigest()


def with_roles(results: pd.DataFrame) -> pd.DataFrame:
    """The plan's role of every row, and Holm-adjusted p-values over the primary family."""
    roles = [plan.role(*key) for key in results[["model", "population", "param", "timepoint", "visit"]].itertuples(
        index=False, name=None)]  # fmt: skip
    results = results.assign(role=roles, p_adjusted=np.nan)
    family = results.index[(results["role"] == plan.PRIMARY_ROLE) & results["p_value"].notna()]
    if len(family):
        adjusted = multipletests(results.loc[family, "p_value"].astype(float), method=plan.MULTIPLICITY_METHOD)[1]
        results.loc[family, "p_adjusted"] = adjusted
    return results


def populations(data: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """ITT: every assessment of every randomised participant; per protocol: adherent, in window."""
    per_protocol = data[data["adherent"].fillna(False) & data["in_window"].fillna(False)]
    return {plan.ITT: data, plan.PER_PROTOCOL: per_protocol}


def mmrm_design(frame: pd.DataFrame, arms: Sequence[str], visits: Sequence[str]) -> pd.DataFrame:
    """Columns of the MMRM: visit (cell means), arm x visit (against the first arm), base x visit, sex."""
    visit, arm, base = frame["visit"].to_numpy(), frame["arm"].to_numpy(), frame["base"].to_numpy(float)
    at = {v: visit == v for v in visits}
    columns = {f"visit[{v}]": at[v].astype(float) for v in visits}
    columns |= {f"{a}:visit[{v}]": ((arm == a) & at[v]).astype(float) for a in arms[1:] for v in visits}
    columns |= {f"base:visit[{v}]": np.where(at[v], base, 0.0) for v in visits}
    levels = sorted(frame["sex"].dropna().unique())
    columns |= {f"sex[{level}]": (frame["sex"] == level).to_numpy(float) for level in levels[1:]}
    return pd.DataFrame(columns, index=frame.index)


def mmrm_vector(names: Sequence[str], later: str, earlier: str, visit: str) -> np.ndarray:
    """The contrast `later - earlier` at a visit over the MMRM's columns (the first arm is 0)."""
    vector = np.zeros(len(names))
    for arm, sign in ((later, 1.0), (earlier, -1.0)):
        name = f"{arm}:visit[{visit}]"
        if name in names:
            vector[list(names).index(name)] += sign
    return vector


def _mmrm_input(frame: pd.DataFrame, arms: Sequence[str], timepoint: str) -> tuple[pd.DataFrame, list[str], str | None]:
    """The MMRM's rows (post-baseline, with baseline and stratum), the visits it can fit, or a problem."""
    post = frame[(frame["step"] > 0) & frame["base"].notna() & frame["sex"].notna() & frame["aval"].notna()]
    visits = [v for v in TIMEPOINTS[timepoint][1:] if _too_few(post[post["visit"] == v], arms, "") is None]
    final = TIMEPOINTS[timepoint][-1]
    problem = _too_few(post[post["visit"] == final], arms, f"with a baseline and a {final} value")
    return post[post["visit"].isin(visits)], visits, problem


def _mmrm_fit(post: pd.DataFrame, arms: Sequence[str], visits: Sequence[str]) -> mmrm.MmrmFit:
    design = mmrm_design(post, arms, visits)
    index = post["visit"].map({v: i for i, v in enumerate(visits)}).to_numpy()
    return mmrm.fit(post["aval"].to_numpy(), design.to_numpy(), post["record_id"].to_numpy(), index,
                    tuple(design.columns))  # fmt: skip


def mmrm_rows(frame: pd.DataFrame, arms: Sequence[str], timepoint: str, population: str, param: str) -> list[dict]:
    """The MMRM over the timepoint's post-baseline visits: every pairwise contrast at each visit."""
    base = {"model": plan.MMRM, "population": population, "timepoint": timepoint, "param": param}
    final = TIMEPOINTS[timepoint][-1]
    terms = contrast_terms(arms)
    post, visits, problem = _mmrm_input(frame, arms, timepoint)
    if problem:
        return _not_fitted(base | {"visit": final}, terms, problem, post)
    try:
        result = _mmrm_fit(post, arms, visits)
    except (ValueError, np.linalg.LinAlgError) as err:
        return _not_fitted(base | {"visit": final}, terms, f"could not be fitted: {err}", post)
    note = "" if result.converged else "REML did not converge"
    rows = []
    for visit in visits:
        for (later, earlier), term in zip(pairs(arms), terms, strict=True):
            c = result.contrast(mmrm_vector(result.names, later, earlier, visit))
            rows.append(base | {
                "visit": visit, "term": term, "estimate": c.estimate, "std_error": c.std_error, "df": c.df,
                "ci_low": c.ci_low, "ci_high": c.ci_high, "p_value": c.p_value, "n_obs": result.n_obs,
                "n_participants": result.n_participants, "status": "ok", "note": note,
            })  # fmt: skip
    return rows


def delta_mi_rows(frame: pd.DataFrame, arms: Sequence[str], timepoint: str, population: str, param: str) -> list[dict]:
    """MNAR sensitivity at the timepoint's visit: MI from the MMRM, ANCOVA, Rubin; the tipping delta per pair."""
    final = TIMEPOINTS[timepoint][-1]
    base = {"model": plan.DELTA_MI, "population": population, "timepoint": timepoint, "param": param, "visit": final}
    terms = contrast_terms(arms)
    tipping = tuple(f"tipping delta {t}" for t in terms)
    post, visits, problem = _mmrm_input(frame, arms, timepoint)
    people = frame[frame["base"].notna() & frame["sex"].notna()].drop_duplicates("record_id")
    if problem:
        return _not_fitted(base, terms + tipping, problem, people)
    try:
        fit = _mmrm_fit(post, arms, visits)
    except (ValueError, np.linalg.LinAlgError) as err:
        return _not_fitted(base, terms + tipping, f"could not be fitted: {err}", people)
    completed = _completed(fit, post, people, arms, visits)
    limit = 10 * float(np.sqrt(fit.sigma[-1, -1]))
    rows = []
    for (later, earlier), term, tip in zip(pairs(arms), terms, tipping, strict=True):
        vector = np.zeros(completed.x.shape[1])
        for arm, sign in ((later, 1.0), (earlier, -1.0)):
            if arm != arms[0]:
                vector[list(arms).index(arm)] += sign
        pooled = missing.pooled_contrast(completed, vector, np.zeros((~completed.observed).sum()))
        shifted, delta = missing.tipping_delta(completed, vector, later, earlier, limit)
        counts = {"n_obs": len(people), "n_participants": len(people)}
        imputed = int((completed.arm[~completed.observed] == shifted).sum())
        rows.append(base | counts | {
            "term": term, "estimate": pooled.estimate, "std_error": pooled.std_error, "df": pooled.df,
            "ci_low": pooled.ci_low, "ci_high": pooled.ci_high, "p_value": pooled.p_value, "status": "ok",
            "note": f"MAR (delta 0): {int((~completed.observed).sum())} of {len(people)} values at {final} imputed, "
                    f"{missing.IMPUTATIONS} imputations",
        })  # fmt: skip
        if delta is None and pooled.p_value >= missing.ALPHA:
            why = "not significant under MAR"
        elif delta is None:
            why = f"no change of conclusion within {limit:.3g}" if imputed else f"no imputed values of Arm {shifted}"
        else:
            why = f"imputed values of Arm {shifted} (favoured) shifted by {delta:+.3f} make p cross {missing.ALPHA}"
        rows.append(base | counts | {
            "term": tip, "estimate": delta, "std_error": None, "df": None, "ci_low": None, "ci_high": None,
            "p_value": None, "status": "ok", "note": why,
        })  # fmt: skip
    return rows


def _completed(fit: mmrm.MmrmFit, post: pd.DataFrame, people: pd.DataFrame, arms: Sequence[str],
               visits: Sequence[str]) -> missing.Completed:  # fmt: skip
    """Everyone with a baseline and stratum: observed rows, and one row at the final visit (NaN if missing)."""
    final = visits[-1]
    keep = ["record_id", "arm", "base", "sex", "visit", "aval"]
    observed = post[keep]
    missing_final = people.loc[~people["record_id"].isin(observed.loc[observed["visit"] == final, "record_id"]), keep]
    missing_final = missing_final.assign(visit=final, aval=np.nan)
    order = {v: i for i, v in enumerate(visits)}
    rows = pd.concat([observed, missing_final], ignore_index=True).assign(v=lambda f: f["visit"].map(order))
    rows = rows.sort_values(["record_id", "v"], kind="stable").reset_index(drop=True)
    design = mmrm_design(rows, arms, visits)[list(fit.names)].to_numpy()
    rng = np.random.default_rng(missing.SEED)
    draws = missing.impute(fit, rows, design, len(visits) - 1, rng, missing.IMPUTATIONS)
    last = rows[rows["visit"] == final].reset_index(drop=True)
    return missing.Completed(
        x=missing.ancova_design(last, arms), observed=last["aval"].notna().to_numpy(),
        y_observed=last["aval"].fillna(0.0).to_numpy(), imputed=draws, arm=last["arm"].to_numpy(),
    )  # fmt: skip


def ancova(frame: pd.DataFrame, arms: Sequence[str], timepoint: str, population: str, param: str) -> list[dict]:
    """value ~ arm + baseline + sex at the timepoint; the pairwise contrasts between arms."""
    at = frame[(frame["visit"] == timepoint) & frame["base"].notna()]
    base = {"model": plan.ANCOVA, "population": population, "timepoint": timepoint, "param": param,
            "visit": timepoint}  # fmt: skip
    terms = contrast_terms(arms)
    problem = _too_few(at, arms, f"with a baseline and a {timepoint} value")
    if problem:
        return _not_fitted(base, terms, problem, at)
    design = _arms(at, arms).assign(base=at["base"])
    if at["sex"].nunique() > 1:
        design["sex"] = (at["sex"] == sorted(at["sex"].dropna().unique())[-1]).astype(float)
    try:
        result = sm.OLS(at["aval"], design).fit()
    except (ValueError, np.linalg.LinAlgError) as err:
        return _not_fitted(base, terms, f"could not be fitted: {err}", at)
    params = list(result.model.exog_names)
    return [_contrast_row(base, term, result, contrast(term, params, arms[0]), at, "") for term in terms]


def longitudinal(
    model: str, frame: pd.DataFrame, arms: Sequence[str], timepoint: str, population: str, param: str
) -> list[dict]:
    """value ~ step x arm over the timepoint's assessments: slopes per arm and their differences."""
    base = {"model": model, "population": population, "timepoint": timepoint, "param": param, "visit": None}
    terms = slope_terms(arms)
    steps = frame["step"].nunique()
    problem = _too_few(frame, arms, "with a value") or (None if steps > 1 else "values at only one assessment so far")
    if problem:
        return _not_fitted(base, terms, problem, frame)
    design = _arms(frame, arms).assign(step=frame["step"].astype(float))
    for arm in arms[1:]:
        design[f"step:{arm}"] = design["step"] * design[arm]
    fit = clustered.gee if model == plan.GEE else clustered.mixed
    try:
        result = fit(frame["aval"].to_numpy(float), design.to_numpy(), frame["record_id"].to_numpy())
    except (ValueError, np.linalg.LinAlgError) as err:
        return _not_fitted(base, terms, f"could not be fitted: {err}", frame)
    counts = {"n_obs": len(frame), "n_participants": frame["record_id"].nunique()}
    rows = []
    for term in terms:
        c = result.contrast(contrast(term, list(design.columns), arms[0]))
        rows.append(base | counts | {
            "term": term, "estimate": c.estimate, "std_error": c.std_error, "df": c.df, "ci_low": c.ci_low,
            "ci_high": c.ci_high, "p_value": c.p_value, "status": "ok", "note": result.note,
        })  # fmt: skip
    return rows


def contrast(term: str, params: list[str], first: str) -> np.ndarray:
    """The contrast vector of a term over the design's columns (`first` is the arm coded 0).

    'B - A': difference in the arm effects; 'slope B': the slope in an arm (step + step:B);
    'slope C - B': difference in slopes (step:C - step:B)."""
    slope = term.startswith("slope ")
    terms = term.removeprefix("slope ").split(" - ")
    prefix = "step:" if slope else ""

    def effect(arm: str) -> np.ndarray:
        vector = np.zeros(len(params))
        if arm != first:
            vector[params.index(prefix + arm)] = 1
        return vector

    if len(terms) == 2:
        return effect(terms[0]) - effect(terms[1])
    vector = effect(terms[0])
    vector[params.index("step")] += 1
    return vector


def _arms(frame: pd.DataFrame, arms: Sequence[str]) -> pd.DataFrame:
    """Intercept and one indicator per arm other than the first."""
    design = pd.DataFrame({"const": 1.0}, index=frame.index)
    for arm in arms[1:]:
        design[arm] = (frame["arm"] == arm).astype(float)
    return design


def _too_few(frame: pd.DataFrame, arms: Sequence[str], what: str) -> str | None:
    per_arm = frame.groupby("arm")["record_id"].nunique().reindex(list(arms), fill_value=0)
    if (per_arm < MIN_PER_ARM).any():
        counts = ", ".join(f"{arm} {n}" for arm, n in per_arm.items())
        return f"not fitted: fewer than {MIN_PER_ARM} participants per arm {what} ({counts})"
    return None


def _not_fitted(base: dict, terms, note: str, frame: pd.DataFrame) -> list[dict]:
    return [
        base | {"term": term, "estimate": None, "std_error": None, "df": None, "ci_low": None, "ci_high": None,
                "p_value": None, "n_obs": len(frame), "n_participants": frame["record_id"].nunique(),
                "status": "not fitted", "note": note}
        for term in terms
    ]  # fmt: skip


def _contrast_row(base: dict, term: str, result, vector: np.ndarray, frame: pd.DataFrame, note: str) -> dict:
    """One contrast of a statsmodels OLS fit, t on its residual df."""
    test = result.t_test(vector[None, :])
    low, high = np.asarray(test.conf_int()).ravel()
    return base | {
        "term": term, "estimate": float(np.ravel(test.effect)[0]), "std_error": float(np.ravel(test.sd)[0]),
        "df": float(result.df_resid), "ci_low": float(low), "ci_high": float(high),
        "p_value": float(np.ravel(test.pvalue)[0]),
        "n_obs": len(frame), "n_participants": frame["record_id"].nunique(), "status": "ok", "note": note,
    }  # fmt: skip


FITTERS: dict[str, Callable[..., list[dict]]] = {
    plan.MMRM: mmrm_rows,
    plan.ANCOVA: ancova,
    plan.GEE: functools.partial(longitudinal, plan.GEE),
    plan.MIXED: functools.partial(longitudinal, plan.MIXED),
    plan.DELTA_MI: delta_mi_rows,
}
"""The function that fits each model of the plan: (frame, arms, timepoint, population, param) -> rows."""
