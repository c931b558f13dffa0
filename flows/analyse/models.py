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
formulas: the same models, without a formula parser's cost on every nightly fit. The input is
prepared once (`plan_fits`): the rows of each population, timepoint and parameter as numpy columns
(`Rows`); the models read those columns, the MMRM of one input is fitted once for both the MMRM
rows and the delta-adjusted MI, and the ANCOVA is least squares as statsmodels' OLS computes it
(its test oracle).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from runback.flows.analyse import clustered, missing, mmrm
from runback.schemas import plan
from runback.schemas.trial import PARAMS, PRIMARY, TIMEPOINTS, VISIT_STEPS

COLUMNS = [
    "model",
    "population",
    "timepoint",
    "param",
    "visit",
    "term",
    "estimate",
    "std_error",
    "df",
    "ci_low",
    "ci_high",
    "p_value",
    "p_adjusted",
    "role",
    "n_obs",
    "n_participants",
    "status",
    "note",
    "mc_error",
    "imputations",
    "shift_later",
    "shift_earlier",
]
MIN_PER_ARM = 3
"""Participants needed in every arm before a model is fitted."""
VISITS = tuple(VISIT_STEPS)
"""The assessment visits, in order: `Rows.visit` indexes them."""


def pairs(arms: Sequence[str]) -> list[tuple[str, str]]:
    """Every pair of arms, later minus earlier in the order given."""
    return [(later, earlier) for earlier, later in combinations(arms, 2)]


def contrast_terms(arms: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"{a} - {b}" for a, b in pairs(arms))


def slope_terms(arms: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"slope {arm}" for arm in arms) + tuple(f"slope {c}" for c in contrast_terms(arms))


@dataclass(frozen=True)
class Imputed:
    """The delta-adjusted MI's completed data sets of one parameter at one timepoint (no shift), as
    the responders by multiple imputation count them (`responders.imputed_comparisons`): each
    participant due's arm, observed value and baseline, and the imputed values of each draw."""

    timepoint: str
    param: str
    completed: missing.Completed
    base: np.ndarray


@dataclass(frozen=True)
class Fits:
    """The model results of a cut (rows in `COLUMNS` order), how many fits were computed, and the
    completed data sets of the delta-adjusted MI's fits."""

    results: pd.DataFrame
    fitted: int
    imputed: tuple[Imputed, ...] = ()


@dataclass(frozen=True, eq=False)
class Rows:
    """A fit's input rows as numpy columns, in the rows' order. `person` indexes `ids` (the record
    ids, sorted, so participants sort as their record ids do), `arm` the `arms` given (-1 for
    another arm), `visit` `VISITS` (-1 for another), `sex` `sexes` (sorted; -1 when missing); step,
    aval and base are floats (NaN when missing). `due[person, visit]`: whether the participant was
    due at the visit by the cut (None: every one at every visit). `memo` keeps what several models
    of these rows share (the MMRM's fit)."""

    person: np.ndarray
    arm: np.ndarray
    visit: np.ndarray
    step: np.ndarray
    aval: np.ndarray
    base: np.ndarray
    sex: np.ndarray
    ids: np.ndarray
    sexes: np.ndarray
    arms: tuple[str, ...]
    due: np.ndarray | None = None
    memo: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.person)

    def take(self, which: np.ndarray) -> Rows:
        """The rows a boolean mask or an index array selects (the same codes)."""
        return Rows(
            self.person[which],
            self.arm[which],
            self.visit[which],
            self.step[which],
            self.aval[which],
            self.base[which],
            self.sex[which],
            self.ids,
            self.sexes,
            self.arms,
            self.due,
        )

    def due_at(self, visit: str) -> np.ndarray:
        """Whether each row's participant was due at `visit` by the cut (every one when `due` is None)."""
        return np.ones(len(self), bool) if self.due is None else self.due[self.person, VISITS.index(visit)]

    def participants(self) -> int:
        """How many participants the rows are of."""
        return int(np.count_nonzero(np.bincount(self.person, minlength=len(self.ids))))


@dataclass(frozen=True)
class Planned:
    """One fit of the plan: a model of one parameter in one population at one timepoint, and its input rows."""

    model: str
    population: str
    timepoint: str
    param: str
    rows: Rows


def fit_all(
    outcomes: pd.DataFrame,
    participants: pd.DataFrame,
    arms: Sequence[str] | None = None,
    measured: Mapping[str, Sequence[str]] | None = None,
    progress: Callable[[int, int], None] | None = None,
    due: pd.DataFrame | None = None,
) -> Fits:
    """Every model of the plan for every timepoint, population and parameter.

    `arms`: the arms in their order (default: those of `participants`, sorted). `measured`: the
    visits each parameter is measured at (default: every visit). `progress(k, n)` is called after
    each of the n fits. `due`: the visits each participant was due at by the cut (record_id, visit
    rows, `sql/analyse/model_due.sql`; default every visit).
    The fits run on one BLAS thread: their matrices are small (at most 17
    columns), and on a shared two-core machine more BLAS threads made the refresh three times
    slower, not faster (carries the goal: a new cut's refresh <= 5 s at 20,000 participants,
    bench/goals.py)."""
    arms = tuple(arms) if arms is not None else tuple(sorted(participants["arm"].dropna().unique()))
    planned = plan_fits(outcomes, participants, arms, measured, due)
    rows = []
    # limits the BLAS libraries loaded by now: scipy's own is (its modules import it at their top)
    with threadpool_limits(limits=1, user_api="blas"):
        for k, fit in enumerate(planned, start=1):
            rows += FITTERS[fit.model](fit.rows, arms, fit.timepoint, fit.population, fit.param)
            if progress:
                progress(k, len(planned))
    kept = [fit.rows.memo.get((plan.DELTA_MI, arms, fit.timepoint)) for fit in planned if fit.model == plan.DELTA_MI]
    imputed = tuple(i for i in kept if i is not None)  # none where the MI was not fitted
    return Fits(with_roles(pd.DataFrame(rows, columns=COLUMNS)), len(planned), imputed)


def plan_fits(
    outcomes: pd.DataFrame,
    participants: pd.DataFrame,
    arms: tuple[str, ...],
    measured: Mapping[str, Sequence[str]] | None,
    due: pd.DataFrame | None = None,
) -> list[Planned]:
    """The fits of the plan in their order, each with its input rows.

    The rows are ordered by record id (as a number, then as text), parameter and step (as
    `sql/analyse/model_outcomes.sql` gives them); each population's rows of a timepoint and
    parameter are taken from them once."""
    ids, params = _Categories.of(outcomes["record_id"]), _Categories.of(outcomes["param"])
    arm, visit = _Categories.of(outcomes["arm"]), _Categories.of(outcomes["visit"])
    step = outcomes["step"].to_numpy(float)
    order = _order(ids, params, step)

    def arranged(values: np.ndarray) -> np.ndarray:
        return values if order is None else values[order]

    at = pd.Index(participants["record_id"]).get_indexer(ids.labels)  # each id's participant row (-1: none)
    sex = _Categories.of(participants["sex"])
    adherent = np.append(participants["adherent"].fillna(False).to_numpy(bool), False)[at]
    person = arranged(ids.codes)
    data = Rows(
        person=person,
        arm=arranged(arm.index_in(arms)),
        visit=arranged(visit.index_in(VISITS)),
        step=arranged(step),
        aval=arranged(_floats(outcomes["aval"])),
        base=arranged(_floats(outcomes["base"])),
        sex=np.append(sex.codes, -1)[at][person],
        ids=ids.labels,
        sexes=sex.labels,
        arms=arms,
        due=None if due is None else _due(due, ids.labels),
    )
    per_protocol = adherent[person] & arranged(outcomes["in_window"].fillna(False).to_numpy(bool))
    param = arranged(params.codes)
    of_param = {code: np.flatnonzero(param == code) for code in range(len(params.labels))}
    planned = []
    for timepoint, visits in TIMEPOINTS.items():
        in_visits = np.isin(data.visit, [VISITS.index(v) for v in visits])
        for population, included in ((plan.ITT, in_visits), (plan.PER_PROTOCOL, in_visits & per_protocol)):
            for p in PARAMS:
                if measured is not None and visits[-1] not in measured.get(p.code, ()):
                    continue  # not measured at the timepoint: nothing to fit
                if population != plan.ITT and p.code not in PRIMARY:
                    continue
                index = of_param.get(params.code(p.code), np.zeros(0, dtype=np.int64))
                rows = data.take(index[included[index]])
                for model in _models(population, timepoint, p.code):
                    planned.append(Planned(model, population, timepoint, p.code, rows))
    return planned


def _due(due: pd.DataFrame, ids: np.ndarray) -> np.ndarray:
    """Whether each participant (`ids`) was due at each visit (`VISITS`), from (record_id, visit) rows."""
    person = pd.Index(ids).get_indexer(due["record_id"])
    visit = pd.Index(VISITS).get_indexer(due["visit"])
    known = (person >= 0) & (visit >= 0)
    matrix = np.zeros((len(ids), len(VISITS)), bool)
    matrix[person[known], visit[known]] = True
    return matrix


def _order(ids: _Categories, params: _Categories, step: np.ndarray) -> np.ndarray | None:
    """The order of the rows by record id (as a number, then as text), parameter and step, or None
    when they are in that order already."""
    numeric = pd.to_numeric(pd.Series(ids.labels, dtype=object), errors="coerce").to_numpy(float)
    rank = np.empty(len(ids.labels), dtype=np.int64)
    rank[np.lexsort((np.arange(len(ids.labels)), numeric))] = np.arange(len(ids.labels))  # a number first, NaN last
    levels = len(params.labels) + 1
    key = rank[ids.codes] * levels + params.codes % levels  # a missing parameter (-1) last
    in_order = (key[1:] > key[:-1]) | ((key[1:] == key[:-1]) & (step[1:] >= step[:-1]))
    return None if in_order.all() else np.lexsort((step, key))


@dataclass(frozen=True)
class _Categories:
    """A column's values as codes (-1 when missing) into its distinct values, sorted."""

    codes: np.ndarray
    labels: np.ndarray

    @classmethod
    def of(cls, values: pd.Series) -> _Categories:
        codes, uniques = pd.factorize(values)
        labels = np.asarray(uniques, dtype=object)
        order = np.argsort(labels, kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return cls(np.where(codes >= 0, rank[codes], -1), labels[order])

    def code(self, label) -> int:
        """The code of one value (-1 when the column does not hold it)."""
        found = np.flatnonzero(self.labels == label)
        return int(found[0]) if len(found) else -1

    def index_in(self, names: Sequence[str]) -> np.ndarray:
        """Each value's position in `names` (-1 when missing or not among them)."""
        return np.append(pd.Index(list(names)).get_indexer(self.labels), -1)[self.codes]


def _floats(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype=float, na_value=np.nan)


def _as_rows(frame: pd.DataFrame | Rows, arms: Sequence[str], like: Rows | None = None) -> Rows:
    """A frame's rows (record_id, arm, visit, step, aval, base, sex) as `Rows`; with `like`, coded as
    those rows are (its record ids and sexes)."""
    if isinstance(frame, Rows):
        return frame
    if like is None:
        ids, sexes = _Categories.of(frame["record_id"]), _Categories.of(frame["sex"])
        person, ids_labels, sex, sex_labels = ids.codes, ids.labels, sexes.codes, sexes.labels
    else:
        person = pd.Index(like.ids).get_indexer(frame["record_id"])
        if (person < 0).any():
            raise ValueError("rows of participants the rows they are coded like do not hold")
        sex = pd.Index(like.sexes).get_indexer(frame["sex"])
        ids_labels, sex_labels = like.ids, like.sexes
    return Rows(
        person=np.asarray(person, dtype=np.int64),
        arm=pd.Index(list(arms)).get_indexer(frame["arm"]),
        visit=pd.Index(VISITS).get_indexer(frame["visit"]),
        step=_floats(frame["step"]),
        aval=_floats(frame["aval"]),
        base=_floats(frame["base"]),
        sex=np.asarray(sex, dtype=np.int64),
        ids=ids_labels,
        sexes=sex_labels,
        arms=tuple(arms),
    )


def _models(population: str, timepoint: str, param: str) -> list[str]:
    """The models the plan fits to one parameter in one population at one timepoint."""
    models = [plan.MMRM, plan.ANCOVA, plan.GEE]
    if population == plan.ITT and param in PRIMARY:
        models.append(plan.MIXED)
        if timepoint == plan.PRIMARY_TIMEPOINT:
            models.append(plan.DELTA_MI)
    return models


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the order given (statsmodels' `multipletests(method="holm")`)."""
    order = np.argsort(p_values)
    adjusted = np.empty(len(order))
    adjusted[order] = np.minimum(np.maximum.accumulate(p_values[order] * np.arange(len(order), 0, -1)), 1.0)
    return adjusted


ADJUSTMENTS = {"holm": holm}
"""The multiplicity adjustments the plan can name (`plan.MULTIPLICITY_METHOD`)."""


def with_roles(results: pd.DataFrame) -> pd.DataFrame:
    """The plan's role of every row, and Holm-adjusted p-values over the primary family."""
    role = functools.cache(plan.role)
    roles = [
        role(*key)
        for key in results[["model", "population", "param", "timepoint", "visit"]].itertuples(index=False, name=None)
    ]
    results = results.assign(role=roles, p_adjusted=np.nan)
    family = results.index[(results["role"] == plan.PRIMARY_ROLE) & results["p_value"].notna()]
    if len(family):
        adjust = ADJUSTMENTS[plan.MULTIPLICITY_METHOD]
        results.loc[family, "p_adjusted"] = adjust(results.loc[family, "p_value"].to_numpy(float))
    return results


def mmrm_design(frame: pd.DataFrame, arms: Sequence[str], visits: Sequence[str]) -> pd.DataFrame:
    """Columns of the MMRM: visit (cell means), arm x visit (against the first arm), base x visit, sex."""
    sex = _Categories.of(frame["sex"])
    x, names = _mmrm_columns(
        pd.Index(list(visits)).get_indexer(frame["visit"]),
        pd.Index(list(arms)).get_indexer(frame["arm"]),
        _floats(frame["base"]),
        sex.codes,
        _present(sex.codes),
        sex.labels,
        arms,
        visits,
    )
    return pd.DataFrame(x, columns=list(names), index=frame.index)


def _mmrm_columns(
    visit: np.ndarray,
    arm: np.ndarray,
    base: np.ndarray,
    sex: np.ndarray,
    levels: np.ndarray,
    sexes: np.ndarray,
    arms: Sequence[str],
    visits: Sequence[str],
) -> tuple[np.ndarray, tuple[str, ...]]:
    """The MMRM's design (`mmrm_design`) from codes: `visit` indexes `visits`, `arm` `arms`, `sex`
    `sexes`; `levels` are the sexes' codes the design knows (the first is the reference). Laid out
    column by column, as a frame's values are."""
    names = [f"visit[{v}]" for v in visits] + [f"{a}:visit[{v}]" for a in arms[1:] for v in visits]
    names += [f"base:visit[{v}]" for v in visits] + [f"sex[{sexes[level]}]" for level in levels[1:]]
    x = np.empty((len(names), len(visit)))
    at = [visit == i for i in range(len(visits))]
    column = 0
    for i in range(len(visits)):
        x[column] = at[i]
        column += 1
    for a in range(1, len(arms)):
        for i in range(len(visits)):
            x[column] = (arm == a) & at[i]
            column += 1
    for i in range(len(visits)):
        x[column] = np.where(at[i], base, 0.0)
        column += 1
    for level in levels[1:]:
        x[column] = sex == level
        column += 1
    return x.T, tuple(names)


SINGULAR = "the design is singular (a covariate is confounded with the arms)"


def _singular(x: np.ndarray) -> bool:
    """Whether a design's columns are linearly dependent (a small population whose sex or baseline is
    a function of its arm): its arm contrasts are then not estimable, and an estimate of them would
    depend on which letters the allocation key gave the arms."""
    return bool(np.linalg.matrix_rank(x.T @ x) < x.shape[1])


def _present(codes: np.ndarray) -> np.ndarray:
    """The codes present (not -1), sorted."""
    return np.unique(codes[codes >= 0])


def mmrm_vector(names: Sequence[str], later: str, earlier: str, visit: str) -> np.ndarray:
    """The contrast `later - earlier` at a visit over the MMRM's columns (the first arm is 0)."""
    vector = np.zeros(len(names))
    for arm, sign in ((later, 1.0), (earlier, -1.0)):
        name = f"{arm}:visit[{visit}]"
        if name in names:
            vector[list(names).index(name)] += sign
    return vector


def _mmrm_input(frame: pd.DataFrame | Rows, arms: Sequence[str], timepoint: str) -> tuple[Rows, list[str], str | None]:
    """The MMRM's rows (post-baseline, with baseline and stratum), the visits it can fit, or a problem."""
    rows = _as_rows(frame, arms)
    post = rows.take((rows.step > 0) & ~np.isnan(rows.base) & (rows.sex >= 0) & ~np.isnan(rows.aval))
    visits = [v for v in TIMEPOINTS[timepoint][1:] if _too_few(post, post.visit == VISITS.index(v), arms, "") is None]
    final = TIMEPOINTS[timepoint][-1]
    problem = _too_few(post, post.visit == VISITS.index(final), arms, f"with a baseline and a {final} value")
    return post.take(np.isin(post.visit, [VISITS.index(v) for v in visits])), visits, problem


def _mmrm_fit(post: Rows, arms: Sequence[str], visits: Sequence[str]) -> mmrm.MmrmFit:
    position = np.full(len(VISITS) + 1, -1)
    position[[VISITS.index(v) for v in visits]] = np.arange(len(visits))
    index = position[post.visit]
    x, names = _mmrm_columns(index, post.arm, post.base, post.sex, _present(post.sex), post.sexes, arms, visits)
    if _singular(x):
        raise ValueError(SINGULAR)
    return mmrm.fit(post.aval, x, post.person, index, names)


def _mmrm(rows: Rows, arms: Sequence[str], timepoint: str) -> tuple[Rows, list[str], str | None, mmrm.MmrmFit | None]:
    """The MMRM's input, its visits, and its fit or why there is none: fitted once per input rows,
    for both the MMRM's results and the delta-adjusted MI's."""
    key = (plan.MMRM, tuple(arms), timepoint)
    if key not in rows.memo:
        post, visits, problem = _mmrm_input(rows, arms, timepoint)
        fit = None
        if not problem:
            try:
                fit = _mmrm_fit(post, arms, visits)
            except (ValueError, np.linalg.LinAlgError) as err:
                problem = f"could not be fitted: {err}"
        rows.memo[key] = (post, visits, problem, fit)
    return rows.memo[key]


def mmrm_rows(
    frame: pd.DataFrame | Rows, arms: Sequence[str], timepoint: str, population: str, param: str
) -> list[dict]:
    """The MMRM over the timepoint's post-baseline visits: every pairwise contrast at each visit."""
    base = {"model": plan.MMRM, "population": population, "timepoint": timepoint, "param": param}
    final = TIMEPOINTS[timepoint][-1]
    terms = contrast_terms(arms)
    post, visits, problem, result = _mmrm(_as_rows(frame, arms), arms, timepoint)
    if problem:
        return _not_fitted(base | {"visit": final}, terms, problem, post)
    note = "" if result.converged else "REML did not converge"
    counts = {"n_obs": result.n_obs, "n_participants": result.n_participants}
    cells = [(visit, term) for visit in visits for term in terms]
    vectors = [mmrm_vector(result.names, later, earlier, visit) for visit in visits for later, earlier in pairs(arms)]
    return [
        base | {"visit": visit, "term": term} | _inference(c) | {**counts, "status": "ok", "note": note}
        for (visit, term), c in zip(cells, result.contrasts(np.array(vectors)), strict=True)
    ]


def delta_mi_rows(
    frame: pd.DataFrame | Rows, arms: Sequence[str], timepoint: str, population: str, param: str
) -> list[dict]:
    """MNAR sensitivity at the timepoint's visit (`missing.py`): proper MI from the MMRM of the values
    due and missing, ANCOVA, Rubin; per pair the MAR contrast, the tipping delta (in MCIDs, with its
    Monte-Carlo error and the imputations used) and the tipping grid over both arms' shifts."""
    final = TIMEPOINTS[timepoint][-1]
    base = {"model": plan.DELTA_MI, "population": population, "timepoint": timepoint, "param": param, "visit": final}
    terms = contrast_terms(arms)
    tipping = tuple(f"tipping delta {t}" for t in terms)
    rows = _as_rows(frame, arms)
    post, visits, problem, fit = _mmrm(rows, arms, timepoint)
    people = _first_rows(rows.take(~np.isnan(rows.base) & (rows.sex >= 0)))
    people = people.take(people.due_at(final))
    if problem:
        return _not_fitted(base, terms + tipping, problem, people)
    outcome = next(p for p in PARAMS if p.code == param)
    better, mcid = (1 if outcome.better == "higher" else -1), float(outcome.mcid)
    due, x, arm, baseline = _due_rows(post, people, arms, visits)
    index = [(arms.index(later), arms.index(earlier)) for later, earlier in pairs(arms)]
    imputer = missing.Imputer(fit, due, np.random.default_rng(missing.SEED))
    result = missing.sensitivity(imputer, x, arm, tuple(index), better, mcid)
    completed = Imputed(timepoint, param, result.ancovas.completed, baseline)
    rows.memo[(plan.DELTA_MI, tuple(arms), timepoint)] = completed  # for the responders by MI (`fit_all`)
    imputed = int((~result.ancovas.completed.observed).sum())
    counts = {"n_obs": len(people) - imputed, "n_participants": len(people), "status": "ok"}  # observed, analysed
    counts |= {"imputations": result.tippings[0].imputations if result.tippings else 0}
    note = f"MAR (no shift): {imputed} of {len(people)} values due at {final} missing and imputed"
    out = []
    for t, term, tip in zip(result.tippings, terms, tipping, strict=True):
        out.append(base | counts | _inference(t.mar) | {"term": term, "note": note})
        later = t.favoured == t.later  # the arm made worse: the tipping grid's cell where the conclusion changes
        shifts = {"shift_later": t.delta if later else 0.0, "shift_earlier": 0.0 if later else t.delta}
        fields = {"estimate": t.delta, "mc_error": t.mc_error, "note": _why(t, arms[t.favoured], outcome)}
        out.append(base | counts | fields | (shifts if t.delta is not None else {}) | {"term": tip})
        cells = missing.grid(result.ancovas, (t.later, t.earlier), better, mcid)
        for a, row in zip(missing.GRID_MCID, cells, strict=True):
            for b, cell in zip(missing.GRID_MCID, row, strict=True):
                shifted = {"shift_later": a, "shift_earlier": b, "term": f"tipping grid {term}", "note": ""}
                out.append(base | counts | _inference(cell) | shifted)
    return out


def _inference(c: missing.Pooled | mmrm.Contrast) -> dict:
    """A contrast's fields of a result row (a pooled one's, or a fit's)."""
    return {
        "estimate": c.estimate,
        "std_error": c.std_error,
        "df": c.df,
        "ci_low": c.ci_low,
        "ci_high": c.ci_high,
        "p_value": c.p_value,
    }


def _why(t: missing.Tipping, favoured: str, outcome) -> str:
    """The tipping delta row's note: what was shifted, and why there is no delta when there is none."""
    worse = "lower" if outcome.better == "higher" else "higher"
    if t.mar.p_value >= missing.ALPHA:
        return "not significant under MAR"
    if not t.imputed:
        return f"no imputed values of Arm {favoured}"
    shifted = f"imputed values of Arm {favoured} (favoured under MAR) made worse ({worse})"
    if t.delta is None:
        return f"{shifted}: no change of conclusion within the search"
    error = "not estimated" if t.mc_error is None else f"{t.mc_error:.4f} MCID"
    return (
        f"{shifted} by {t.delta:.3f} MCID ({t.delta * outcome.mcid:.2f} {outcome.unit}) make p cross "
        f"{missing.ALPHA}; Monte-Carlo error {error} (bound {missing.MC_BOUND} MCID), {t.imputations} imputations"
    )


def _first_rows(rows: Rows) -> Rows:
    """Each participant's first row."""
    _, first = np.unique(rows.person, return_index=True)
    return rows.take(np.sort(first))


def _due_rows(
    post: Rows, people: Rows, arms: Sequence[str], visits: Sequence[str]
) -> tuple[missing.Visits, np.ndarray, np.ndarray, np.ndarray]:
    """The imputation's rows: the MMRM's rows of `people` (those due at the final visit, with a
    baseline and stratum) and one row at the final visit without a value for each who lacks one;
    then each of them's ANCOVA design row, arm index and baseline, in order."""
    final = VISITS.index(visits[-1])
    mine = post.take(np.isin(post.person, people.person))
    lacking = people.take(~np.isin(people.person, mine.person[mine.visit == final]))
    person = np.r_[mine.person, lacking.person]
    visit = np.r_[mine.visit, np.full(len(lacking), final)]
    position = np.full(len(VISITS) + 1, -1)
    position[[VISITS.index(v) for v in visits]] = np.arange(len(visits))
    order = np.lexsort((position[visit], person))  # by participant, then visit
    person, visit = person[order], visit[order]
    arm, base = np.r_[mine.arm, lacking.arm][order], np.r_[mine.base, lacking.base][order]
    sex, aval = np.r_[mine.sex, lacking.sex][order], np.r_[mine.aval, np.full(len(lacking), np.nan)][order]
    design, _ = _mmrm_columns(position[visit], arm, base, sex, _present(post.sex), post.sexes, arms, visits)
    last = visit == final
    x = missing.ancova_design(arm[last], base[last], sex[last], len(arms))
    return missing.Visits(person, position[visit], aval, design), x, arm[last], base[last]


def ancova(frame: pd.DataFrame | Rows, arms: Sequence[str], timepoint: str, population: str, param: str) -> list[dict]:
    """value ~ arm + baseline + sex at the timepoint; the pairwise contrasts between arms."""
    rows = _as_rows(frame, arms)
    at = rows.take((rows.visit == VISITS.index(timepoint)) & ~np.isnan(rows.base))
    base = {"model": plan.ANCOVA, "population": population, "timepoint": timepoint, "param": param, "visit": timepoint}
    terms = contrast_terms(arms)
    problem = _too_few(at, np.ones(len(at), bool), arms, f"with a baseline and a {timepoint} value")
    if problem:
        return _not_fitted(base, terms, problem, at)
    columns = [np.ones(len(at))] + [(at.arm == a).astype(float) for a in range(1, len(arms))] + [at.base]
    names = ["const", *arms[1:], "base"]
    levels = _present(at.sex)
    if len(levels) > 1:
        columns.append((at.sex == levels[-1]).astype(float))
        names.append("sex")
    design = np.column_stack(columns)
    if _singular(design):
        return _not_fitted(base, terms, f"could not be fitted: {SINGULAR}", at)
    try:
        result = ols(at.aval, design)
    except (ValueError, np.linalg.LinAlgError) as err:
        return _not_fitted(base, terms, f"could not be fitted: {err}", at)
    counts = {"n_obs": len(at), "n_participants": at.participants()}
    return _contrast_rows(result, terms, names, arms[0], base | counts, "")


@dataclass(frozen=True)
class Ols:
    """An ordinary least-squares fit: coefficients, their covariance, the residual df."""

    params: np.ndarray
    cov: np.ndarray
    df_resid: float

    def contrast(self, vector: np.ndarray, level: float = 0.95) -> mmrm.Contrast:
        """c'beta with t inference on the residual df."""
        estimate = float(vector @ self.params)
        return mmrm.t_contrast(estimate, float(np.sqrt(vector @ (self.cov @ vector))), self.df_resid, level)


def ols(y: np.ndarray, x: np.ndarray) -> Ols:
    """Least squares as statsmodels' `OLS(y, x).fit()` computes it: the pseudo-inverse of x from its
    SVD (singular values below 1e-15 of the largest count as zero), the rank from the singular
    values, the residual variance on n - rank df."""
    u, singular, vt = np.linalg.svd(x, full_matrices=False)
    inverse = np.zeros_like(singular)
    kept = singular > 1e-15 * singular.max()
    inverse[kept] = 1.0 / singular[kept]
    pinv = vt.T @ (inverse[:, None] * u.T)
    params = pinv @ y
    rank = int(np.count_nonzero(singular > singular.max() * len(singular) * np.finfo(float).eps))
    df_resid = float(len(y) - rank)
    residual = y - x @ params
    return Ols(params, (pinv @ pinv.T) * (residual @ residual / df_resid), df_resid)


def longitudinal(
    model: str, frame: pd.DataFrame | Rows, arms: Sequence[str], timepoint: str, population: str, param: str
) -> list[dict]:
    """value ~ step x arm over the timepoint's assessments: slopes per arm and their differences."""
    rows = _as_rows(frame, arms)
    base = {"model": model, "population": population, "timepoint": timepoint, "param": param, "visit": None}
    terms = slope_terms(arms)
    steps = len(np.unique(rows.step))
    problem = _too_few(rows, np.ones(len(rows), bool), arms, "with a value") or (
        None if steps > 1 else "values at only one assessment so far"
    )
    if problem:
        return _not_fitted(base, terms, problem, rows)
    names = ["const", *arms[1:], "step", *(f"step:{arm}" for arm in arms[1:])]
    x = np.empty((len(names), len(rows)))  # laid out column by column, as a frame's values are
    x[0] = 1.0
    for a in range(1, len(arms)):
        x[a] = rows.arm == a
        x[len(arms) + a] = rows.step * x[a]
    x[len(arms)] = rows.step
    fit = clustered.gee if model == plan.GEE else clustered.mixed
    try:
        result = fit(rows.aval, x.T, rows.person)
    except (ValueError, np.linalg.LinAlgError) as err:
        return _not_fitted(base, terms, f"could not be fitted: {err}", rows)
    counts = {"n_obs": len(rows), "n_participants": rows.participants()}
    return _contrast_rows(result, terms, names, arms[0], base | counts, result.note)


def _contrast_rows(result, terms, names: list[str], first: str, base: dict, note: str) -> list[dict]:
    """One result row per contrast term of a fitted model (its estimate, SE, df, CI and p)."""
    rows = []
    for term in terms:
        c = result.contrast(contrast(term, names, first))
        fields = {"estimate": c.estimate, "std_error": c.std_error, "df": c.df, "ci_low": c.ci_low}
        fields |= {"ci_high": c.ci_high, "p_value": c.p_value, "status": "ok", "note": note}
        rows.append(base | {"term": term} | fields)
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


def _too_few(rows: Rows, which: np.ndarray, arms: Sequence[str], what: str) -> str | None:
    """Why the rows `which` selects cannot be fitted: too few participants in an arm (None: enough)."""
    arm, person = rows.arm[which], rows.person[which]
    listed = arm >= 0
    seen = np.zeros((len(arms), len(rows.ids)), dtype=bool)
    seen[arm[listed], person[listed]] = True
    per_arm = seen.sum(axis=1)
    if (per_arm < MIN_PER_ARM).any():
        counts = ", ".join(f"{arm} {n}" for arm, n in zip(arms, per_arm, strict=True))
        return f"not fitted: fewer than {MIN_PER_ARM} participants per arm {what} ({counts})"
    return None


def _not_fitted(base: dict, terms, note: str, rows: Rows) -> list[dict]:
    return [
        base
        | {
            "term": term,
            "estimate": None,
            "std_error": None,
            "df": None,
            "ci_low": None,
            "ci_high": None,
            "p_value": None,
            "n_obs": len(rows),
            "n_participants": rows.participants(),
            "status": "not fitted",
            "note": note,
        }
        for term in terms
    ]


FITTERS: dict[str, Callable[..., list[dict]]] = {
    plan.MMRM: mmrm_rows,
    plan.ANCOVA: ancova,
    plan.GEE: functools.partial(longitudinal, plan.GEE),
    plan.MIXED: functools.partial(longitudinal, plan.MIXED),
    plan.DELTA_MI: delta_mi_rows,
}
"""The function that fits each model of the plan: (rows, arms, timepoint, population, param) -> rows."""
