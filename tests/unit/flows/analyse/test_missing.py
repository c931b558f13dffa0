"""MNAR sensitivity (flows/analyse/missing.py): delta-adjusted multiple imputation from the MMRM,
ANCOVA per completed data set, Rubin's rules, the tipping delta with its Monte-Carlo error and the
tipping grid, through the refresh's fit (models.delta_mi_rows) and directly."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from runback.flows.analyse import missing, mmrm, models

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
    assert rows.loc["C - A", "p_value"] < 0.05 and rows.loc["C - A", "estimate"] > 0  # C favoured under MAR
    tip = rows.loc["tipping delta C - A"]
    assert tip["estimate"] > 0 and tip["mc_error"] <= missing.MC_BOUND and tip["imputations"] > missing.START
    assert (tip["shift_later"], tip["shift_earlier"]) == (tip["estimate"], 0.0)  # C made worse, A not
    assert "Arm C" in tip["note"] and "(lower)" in tip["note"]  # PSFS: higher is better
    grid = rows.loc["tipping grid C - A"]
    assert len(grid) == len(missing.GRID_MCID) ** 2 and (grid["imputations"] == tip["imputations"]).all()
    along = grid[grid["shift_earlier"] == 0].sort_values("shift_later")
    kept = along["p_value"] < 0.05
    assert (kept == (along["shift_later"] < tip["estimate"])).all()
    assert rows.loc["tipping delta B - A", "note"] == "not significant under MAR"


def test_rubins_rules():
    pooled = missing.rubin(np.array([1.0, 1.2, 0.8, 1.1]), np.array([0.04, 0.05, 0.04, 0.03]), df_complete=40)
    u, b = 0.04, np.var([1.0, 1.2, 0.8, 1.1], ddof=1)
    assert pooled.estimate == pytest.approx(1.025)
    assert pooled.std_error == pytest.approx(np.sqrt(u + 1.25 * b))
    lam = 1.25 * b / (u + 1.25 * b)
    old, obs = 3 / lam**2, 41 / 43 * 40 * (1 - lam)
    assert pooled.df == pytest.approx(old * obs / (old + obs))


# -- the stable analysis: proper imputation, due values only, MC error of the tipping delta --------

ARMS = ("A", "B", "C")
PAIRS = ((1, 0), (2, 0), (2, 1))


def _design(data: pd.DataFrame, k: int) -> np.ndarray:
    """The MMRM's design: visit, arm x visit, baseline x visit, sex."""
    v = data["visit_index"].to_numpy() - 1
    columns = [(v == j).astype(float) for j in range(k)]
    columns += [((v == j) & (data["arm"] == a).to_numpy()).astype(float) for j in range(k) for a in ARMS[1:]]
    columns += [(v == j) * data["base"].to_numpy() for j in range(k)]
    return np.column_stack([*columns, (data["sex"] == "M").to_numpy().astype(float)])


def _analysis(not_due=(), seed=missing.SEED, sign=1.0):
    """The four-visit fixture at a cut where `not_due` have not reached month 6 (their month-6
    values do not exist yet), the outcome multiplied by `sign` (better: higher when +1)."""
    data = pd.read_csv(FIXTURES / "mmrm_four_visits.csv").assign(
        aval=lambda f: sign * f["aval"], base=lambda f: sign * f["base"]
    )
    data = data[~(data["id"].isin(not_due) & (data["visit_index"] == 4))]
    fit = mmrm.fit(data["aval"], _design(data, 4), data["id"].to_numpy(), data["visit_index"] - 1, ("x",) * 17)
    people = data.drop_duplicates("id").set_index("id")
    due = people.index[~people.index.isin(not_due)]
    lacking = due[~due.isin(data.loc[data["visit_index"] == 4, "id"])]
    final_rows = people.loc[lacking].reset_index().assign(visit_index=4, aval=np.nan)
    rows = pd.concat([data[data["id"].isin(due)], final_rows]).sort_values(["id", "visit_index"], kind="stable")
    visits = missing.Visits(
        rows["id"].to_numpy(), rows["visit_index"].to_numpy() - 1, rows["aval"].to_numpy(), _design(rows, 4)
    )
    last = rows.drop_duplicates("id", keep="last")
    arm = last["arm"].map({a: i for i, a in enumerate(ARMS)}).to_numpy()
    x = missing.ancova_design(arm, last["base"].to_numpy(), (last["sex"] == "M").to_numpy().astype(int), len(ARMS))
    imputer = missing.Imputer(fit, visits, np.random.default_rng(seed))
    return imputer, missing.sensitivity(imputer, x, arm, PAIRS, int(sign), 2.0), lacking


def test_at_an_interim_cut_only_values_due_and_missing_are_imputed():
    everyone = sorted(pd.read_csv(FIXTURES / "mmrm_four_visits.csv")["id"].unique())
    imputer, result, lacking = _analysis(not_due=everyone[-20:])
    completed = result.ancovas.completed
    assert imputer.count == len(lacking) == int((~completed.observed).sum()) == 18
    assert len(completed.observed) == len(everyone) - 20  # those not yet due are not analysed either
    assert completed.imputed.shape[1] == 18
    for t in result.tippings:
        assert t.imputed == int(np.sum(completed.arm[~completed.observed] == t.favoured))


def test_imputation_is_proper_it_draws_sigma_and_the_coefficients():
    imputer, _, _ = _analysis()
    beta, phi, sigma = imputer.parameters(4000)
    fit = imputer.fit
    assert np.std(sigma[:, -1, -1]) > 0.1 * fit.sigma[-1, -1]  # Sigma is not held at its estimate
    assert np.mean(sigma[:, -1, -1]) == pytest.approx(fit.sigma[-1, -1], rel=0.05)
    means = imputer.means(beta, phi)  # X beta*, beta* ~ N(beta(Sigma*), Phi(Sigma*))
    spread = np.var(means, axis=0) / np.einsum("rp,ps,rs->r", imputer.x, fit.cov_beta, imputer.x)
    assert np.all(spread > 0.9) and np.median(spread) < 1.3  # beta | Sigma*, plus Sigma's uncertainty
    error = np.sqrt(np.einsum("rp,ps,rs->r", imputer.x, fit.cov_beta, imputer.x) / 4000 * 1.3)
    assert np.all(np.abs(np.mean(means, axis=0) - imputer.x @ fit.beta) < 4 * error)


def test_the_tipping_delta_is_stable_within_its_reported_monte_carlo_error():
    _, first, _ = _analysis()
    _, second, _ = _analysis(seed=1)
    for a, b in zip(first.tippings, second.tippings, strict=True):
        assert (a.delta is None) == (b.delta is None) == (a.mar.p_value >= missing.ALPHA)
        if a.delta is None:
            continue
        assert a.mc_error <= missing.MC_BOUND and b.mc_error <= missing.MC_BOUND
        assert missing.START < a.imputations <= missing.MOST
        assert abs(a.delta - b.delta) < 4 * np.hypot(a.mc_error, b.mc_error)
        direction = -2.0 * (first.ancovas.completed.arm[~first.ancovas.completed.observed] == a.favoured)
        at = first.ancovas.shifted(missing.pair_vector(a.later, a.earlier, 5), -direction)
        assert at(a.delta).p_value == pytest.approx(missing.ALPHA, abs=1e-6)


def test_the_monte_carlo_error_is_the_jackknife_over_groups_of_imputations():
    """Each group's delta found one by one, as the crossing of Rubin's rules over the imputations
    outside the group (the pooled contrasts `Ancovas.shifted` gives), and their jackknife SE."""
    from scipy import optimize

    _, result, _ = _analysis()
    completed = result.ancovas.completed
    for t in (t for t in result.tippings if t.delta is not None):
        worse = 2.0 * (completed.arm[~completed.observed] == t.favoured)  # higher is better: values lowered
        at = result.ancovas.shifted(missing.pair_vector(t.later, t.earlier, 5), worse)
        group = np.arange(t.imputations) * missing.GROUPS // t.imputations  # GROUPS runs of consecutive draws
        deltas = []
        for g in range(missing.GROUPS):
            keep = np.flatnonzero(group != g)

            def margin(d, keep=keep, at=at):
                return at(d, keep).p_value - missing.ALPHA

            deltas.append(optimize.brentq(margin, t.delta - 0.3, t.delta + 0.3, xtol=1e-12))
        deltas = np.array(deltas)
        g = missing.GROUPS
        assert t.mc_error == pytest.approx(np.sqrt((g - 1) / g * np.sum((deltas - np.mean(deltas)) ** 2)), rel=1e-6)


def test_worse_follows_the_outcomes_direction():
    """The same trial with the outcome's sign reversed and lower values better: the same arm is
    favoured and made worse (its imputed values raised), by the same number of MCIDs."""
    _, higher, _ = _analysis()
    _, lower, _ = _analysis(sign=-1.0)
    for h, lo in zip(higher.tippings, lower.tippings, strict=True):
        assert h.favoured == lo.favoured
        assert lo.mar.estimate == pytest.approx(-h.mar.estimate, abs=4 * h.mar.std_error / np.sqrt(h.imputations))
        if h.delta is not None:
            assert h.delta > 0 and abs(h.delta - lo.delta) < 4 * np.hypot(h.mc_error, lo.mc_error)
    tipped = next(t for t in higher.tippings if t.delta is not None)
    assert tipped.mar.estimate * (1 if tipped.favoured == tipped.later else -1) > 0


def test_the_two_dimensional_grid():
    _, result, _ = _analysis()
    tipping = next(t for t in result.tippings if t.delta is not None and t.favoured == t.later)
    p = np.array(
        [[c.p_value for c in row] for row in missing.grid(result.ancovas, (tipping.later, tipping.earlier), 1, 2.0)]
    )
    assert p.shape == (len(missing.GRID_MCID),) * 2
    assert p[0, 0] == pytest.approx(tipping.mar.p_value, rel=1e-12)
    assert np.all(np.diff(p[:, 0]) > 0)  # the favoured (later) arm made worse: the difference shrinks
    assert np.all(np.diff(p[0, :]) < 0)  # the other arm made worse: it grows
    crossing = np.flatnonzero(p[:, 0] >= missing.ALPHA)[0]
    assert missing.GRID_MCID[crossing - 1] < tipping.delta <= missing.GRID_MCID[crossing]


def test_with_nothing_due_and_missing_it_is_the_complete_case_ancova():
    data = pd.read_csv(FIXTURES / "mmrm_four_visits.csv")
    observed = data[data["visit_index"] == 4]
    imputer, result, _ = _analysis(not_due=sorted(set(data["id"]) - set(observed["id"])))
    ols = smf.ols("aval ~ C(arm) + base + C(sex)", data=observed).fit()
    assert imputer.count == 0 and all(t.delta is None and t.imputed == 0 for t in result.tippings)
    assert result.tippings[1].mar.estimate == pytest.approx(ols.params["C(arm)[T.C]"], rel=1e-10)
    assert result.tippings[1].mar.df == ols.df_resid


@pytest.mark.slow
def test_at_an_interim_cut_of_the_simulated_trial_only_due_and_missing_values_are_imputed(tmp_path, study):
    """Cut 4 of the simulated trial's 10 nights: a third of the participants have reached week 8.
    The delta-adjusted MI analyses those due at week 8 (window closed, or assessed) and imputes the
    ones without a value: analysis.missing_data's due and missing, and those assessed at week 8
    without this parameter's value."""
    from runback.flows.analyse.refresh import refresh_analysis
    from runback.flows.warehouse import connect
    from tests.helpers import simulated_warehouse

    db, _ = simulated_warehouse(tmp_path, study, participants=84, seed=1, nights=10)
    with connect(db) as con:
        refresh_analysis(con, study, 4)
        randomised, expected, received, missing_ = con.execute(
            "select (select count(*) from analysis.participants where data_cut = 4), sum(expected), sum(received),"
            " sum(missing) from analysis.missing_data where data_cut = 4 and visit = 'week_8'"
        ).fetchone()
        assert 0 < missing_ and expected < randomised  # some due values missing, some participants not yet due
        for param in ("PSFS", "NPRS_RUN"):
            observed = con.execute(
                "select count(*) from analysis.outcomes where data_cut = 4 and visit = 'week_8' and param = ?"
                " and base is not null",
                [param],
            ).fetchone()[0]
            rows = con.execute(
                "select distinct n_participants, n_obs from analysis.model_results"
                " where data_cut = 4 and model = 'Delta-adjusted MI' and param = ?",
                [param],
            ).fetchall()
            assert len(rows) == 1
            analysed, kept = rows[0]
            assert analysed == expected and kept == observed  # every due participant, and no one else
            assert analysed - kept == missing_ + (received - observed)  # imputed: due and missing


def test_a_singular_design_is_not_imputed_and_the_refresh_goes_on():
    """Twelve participants whose baseline is a function of the arm (as a small population at an early
    cut may be confounded): the MMRM's design is singular. The MI's rows say it is not fitted; before,
    the MMRM fit an estimate of the singular design and the MI's draws failed the refresh on it."""
    rows = []
    for i in range(1, 13):
        person = {"record_id": str(i), "arm": "ACB"[i % 3], "sex": "Female", "base": float(5 + i % 3)}
        rows.append(person | {"visit": "baseline", "step": 0, "aval": person["base"]})
        rows.append(person | {"visit": "week_4", "step": 1, "aval": person["base"] - 1 - i % 2})
        if i != 5:
            rows.append(person | {"visit": "week_8", "step": 2, "aval": person["base"] - 2 - i % 2})
    found = pd.DataFrame(models.delta_mi_rows(pd.DataFrame(rows), ["A", "B", "C"], "week_8", "ITT", "NPRS_RUN"))
    assert set(found["status"]) == {"not fitted"} and len(found) == 6  # three contrasts, three tipping deltas
    assert set(found["note"]) == {f"could not be fitted: {models.SINGULAR}"}
