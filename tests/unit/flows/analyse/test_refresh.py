"""The analysis of a simulated trial: summaries against pandas, models against statsmodels called
directly (formula interface, not runback's design matrices), CONSORT counts that add up."""

import duckdb
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from runback.schemas.trial import PRIMARY
from tests.helpers import build_warehouse, randomised, simulated_warehouse
from tests.helpers import visit as visit_row


@pytest.fixture(scope="module")
def analysed(tmp_path_factory, study):
    db, _ = simulated_warehouse(tmp_path_factory.mktemp("trial"), study, participants=120, seed=11, nights=3)
    con = duckdb.connect(str(db), read_only=True)
    yield con
    con.close()


def _df(con, sql):
    return con.execute(sql).df()


def test_outcome_summary_matches_pandas(analysed):
    outcomes = _df(analysed, "select * from latest.outcomes")
    summary = _df(analysed, "select * from latest.outcome_summary").set_index(["arm", "visit", "param"])
    for (arm, visit, param), group in outcomes.groupby(["arm", "visit", "param"]):
        row = summary.loc[(arm, visit, param)]
        assert row["n"] == len(group)
        assert row["mean"] == pytest.approx(group["aval"].mean())
        assert row["sd"] == pytest.approx(group["aval"].std(), nan_ok=True)
        assert row["median"] == pytest.approx(group["aval"].median())
        assert (row["q1"], row["q3"]) == pytest.approx((group["aval"].quantile(0.25), group["aval"].quantile(0.75)))
        chg = group["chg"].dropna()
        assert row["chg_n"] == len(chg)
        if len(chg) > 1:
            low, high = stats.t.interval(0.95, len(chg) - 1, loc=chg.mean(), scale=chg.std() / np.sqrt(len(chg)))
            assert (row["chg_ci_low"], row["chg_ci_high"]) == pytest.approx((low, high))


def _frame(con, param, visits):
    sql = (
        "select o.*, p.sex from latest.outcomes o join latest.participants p using (record_id) "
        f"where param = '{param}' and visit in {tuple(visits)} order by try_cast(record_id as integer), step"
    )
    return _df(con, sql)


def _result(con, model, param, term, timepoint="month_6", population="ITT"):
    query = (
        "select * from latest.model_results where model = $model and param = $param and term = $term "
        "and timepoint = $timepoint and population = $population"
    )
    params = {"model": model, "param": param, "term": term, "timepoint": timepoint, "population": population}
    return con.execute(query, params).df().iloc[0]


def test_ancova_matches_statsmodels(analysed):
    data = _frame(analysed, "PSFS", ["month_6", "month_3"]).query("visit == 'month_6' and base.notna()")
    fit = smf.ols('aval ~ C(arm, Treatment("A")) + base + C(sex)', data=data).fit()
    for arm in ("B", "C"):
        row = _result(analysed, "ANCOVA", "PSFS", f"{arm} - A")
        name = f'C(arm, Treatment("A"))[T.{arm}]'
        assert row["estimate"] == pytest.approx(fit.params[name])
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(tuple(fit.conf_int().loc[name]))
        assert row["p_value"] == pytest.approx(fit.pvalues[name])
        assert row["n_obs"] == fit.nobs
    between = fit.t_test('C(arm, Treatment("A"))[T.C] - C(arm, Treatment("A"))[T.B] = 0')
    row = _result(analysed, "ANCOVA", "PSFS", "C - B")
    assert row["estimate"] == pytest.approx(float(between.effect[0]))
    assert row["p_value"] == pytest.approx(float(between.pvalue))


def test_gee_slopes_match_statsmodels(analysed):
    data = _frame(analysed, "NPRS_RUN", ["baseline", "week_4", "week_8", "month_3", "month_6"])
    fit = smf.gee(
        'aval ~ step * C(arm, Treatment("A"))', groups="record_id", data=data, cov_struct=sm.cov_struct.Exchangeable()
    ).fit()
    inter = 'step:C(arm, Treatment("A"))[T.C]'
    assert _result(analysed, "GEE", "NPRS_RUN", "slope A")["estimate"] == pytest.approx(fit.params["step"])
    row = _result(analysed, "GEE", "NPRS_RUN", "slope C - A")
    assert row["estimate"] == pytest.approx(fit.params[inter])
    assert row["std_error"] == pytest.approx(fit.bse[inter])
    slope_c = fit.params["step"] + fit.params[inter]
    assert _result(analysed, "GEE", "NPRS_RUN", "slope C")["estimate"] == pytest.approx(slope_c)


def test_mixed_model_matches_statsmodels(analysed):
    data = _frame(analysed, "PSFS", ["baseline", "week_4", "week_8"])
    fit = smf.mixedlm('aval ~ step * C(arm, Treatment("A"))', data=data, groups="record_id").fit(reml=True)
    row = _result(analysed, "Mixed model", "PSFS", "slope B - A", timepoint="week_8")
    assert row["estimate"] == pytest.approx(fit.params['step:C(arm, Treatment("A"))[T.B]'], rel=1e-4)


def test_sensitivity_models_are_fitted_for_the_primary_outcomes(analysed):
    fitted = _df(analysed, "select distinct model, population, param from latest.model_results")
    pp = set(fitted.query("population == 'Per protocol'")["param"])
    assert pp == {"PSFS", "NPRS_RUN"}
    assert set(fitted.query("model == 'Mixed model'")["param"]) == {"PSFS", "NPRS_RUN"}
    assert set(fitted.query("model == 'GEE' and population == 'ITT'")["param"]) == {
        "PSFS",
        "NPRS_RUN",
        "NPRS_AVG",
        "ODI",
        "KE_TORQUE",
        "STEP_LEN",
        "SORENSEN",
    }


def test_no_model_row_for_a_parameter_not_measured_at_the_timepoint(analysed):
    month_6 = _df(analysed, "select distinct param from latest.model_results where timepoint = 'month_6'")
    assert set(month_6["param"]) == {"PSFS", "NPRS_RUN", "NPRS_AVG", "ODI"}  # physical tests: baseline, week 8
    week_8 = _df(analysed, "select distinct param from latest.model_results where timepoint = 'week_8'")
    assert {"KE_TORQUE", "STEP_LEN", "SORENSEN"} <= set(week_8["param"])


def test_a_model_without_enough_data_says_so():
    from runback.flows.analyse import models

    outcomes = pd.DataFrame(
        {
            "record_id": ["1", "1", "2", "2"],
            "arm": ["A", "A", "B", "B"],
            "visit": ["baseline", "week_8"] * 2,
            "step": [0, 2] * 2,
            "param": "PSFS",
            "aval": [3.0, 5.0, 4.0, 4.5],
            "base": [3.0, 3.0, 4.0, 4.0],
            "chg": [None, 2.0, None, 0.5],
            "in_window": True,
        }
    )
    participants = pd.DataFrame({"record_id": ["1", "2"], "arm": ["A", "B"], "sex": "F", "adherent": True})
    rows = models.fit_all(outcomes, participants, measured={"PSFS": ("baseline", "week_8")}).results
    assert set(rows["param"]) == {"PSFS"} and set(rows["timepoint"]) == {"week_8"}
    assert set(rows["status"]) == {"not fitted"}
    assert rows["note"].str.contains("fewer than 3 participants per arm").all()


def test_consort_boxes_add_up(analysed):
    flow = _df(analysed, "select * from latest.consort_flow")
    n = {stage: group["n"].sum() for stage, group in flow.groupby("stage")}
    screened = n["Assessed for eligibility"]
    randomised = analysed.execute("select count(*) from latest.participants").fetchone()[0]
    assert n["Enrolment"] == screened
    for stage in [s for s in n if s.startswith(("Allocation", "Programme", "Follow-up", "Analysis"))]:
        assert n[stage] == randomised, stage
        per_arm = flow[flow["stage"] == stage].groupby("arm")["n"].sum()
        allocated = flow[flow["stage"] == "Allocation"].set_index("arm")["n"]
        assert per_arm.sort_index().tolist() == allocated.sort_index().tolist(), stage


def test_responders_reach_the_mcid_in_the_better_direction(analysed):
    """Observed cases count those with a change; ITT every participant due (as analysis.missing_data
    expects them), the others non-responders."""
    outcomes = _df(analysed, "select * from latest.outcomes where visit = 'month_6' and param = 'NPRS_RUN'")
    found = _df(
        analysed,
        "select * from latest.responders where timepoint = 'month_6' and param = 'NPRS_RUN' and arm = 'A'",
    ).set_index("population")
    ll = outcomes[(outcomes["arm"] == "A") & outcomes["chg"].notna()]
    observed = found.loc["Observed cases"]
    assert (observed["n"], observed["observed"], observed["responders"]) == (len(ll), len(ll), (ll["chg"] <= -2).sum())
    itt = found.loc["ITT"]
    (due,) = analysed.execute(
        "select expected from latest.missing_data where arm = 'A' and visit = 'month_6'"
    ).fetchone()
    assert (itt["n"], itt["observed"], itt["responders"]) == (due, len(ll), observed["responders"])
    assert itt["n"] > itt["observed"]  # some participants due have no change: counted as non-responders


def test_responder_comparisons_are_those_of_the_counts(analysed):
    """Every pair of arms, later minus earlier in ref.arms order, per timepoint, parameter and
    population, as `responders.py` computes them from the stored counts."""
    from runback.flows.analyse import responders

    counts = _df(analysed, "select * from latest.responders")
    stored = _df(analysed, "select * from latest.responder_comparisons where population != 'Multiple imputation'")
    assert len(stored) == 3 * len(counts.groupby(["timepoint", "param", "population"]))
    for row in stored.itertuples():
        later, earlier = row.term.split(" - ")
        assert earlier < later  # the letters' order is ref.arms'
        group = counts[(counts["timepoint"] == row.timepoint) & (counts["param"] == row.param)]
        group = group[group["population"] == row.population].set_index("arm")
        table = (*group.loc[later, ["responders", "n"]], *group.loc[earlier, ["responders", "n"]])
        difference, ratio = responders.risk_difference(*table), responders.relative_risk(*table)
        assert (row.risk_difference, row.rd_ci_low, row.rd_ci_high) == pytest.approx(
            (difference.estimate, difference.ci_low, difference.ci_high), abs=1e-15
        )
        assert (row.relative_risk, row.rr_ci_low, row.rr_ci_high) == pytest.approx(
            (ratio.estimate, ratio.ci_low, ratio.ci_high), rel=1e-15
        )


def test_responders_by_multiple_imputation_impute_the_values_due_and_missing(analysed):
    """The primary outcomes at week 8, every pair of arms: the values imputed in the two arms are
    the ITT responders' due and missing (n - observed), pooled over the delta-adjusted MI's
    imputations."""
    stored = _df(analysed, "select * from latest.responder_comparisons where population = 'Multiple imputation'")
    assert sorted(zip(stored["param"], stored["term"], strict=True)) == [
        (param, term) for param in ("NPRS_RUN", "PSFS") for term in ("B - A", "C - A", "C - B")
    ]
    assert set(stored["timepoint"]) == {"week_8"} and stored["relative_risk"].isna().all()
    counts = _df(analysed, "select * from latest.responders where timepoint = 'week_8' and population = 'ITT'")
    lacking = counts.assign(lacking=counts["n"] - counts["observed"]).set_index(["param", "arm"])["lacking"]
    imputations = _df(
        analysed, "select distinct param, imputations from latest.model_results where model = 'Delta-adjusted MI'"
    ).set_index("param")["imputations"]
    for row in stored.itertuples():
        later, earlier = row.term.split(" - ")
        assert row.imputed == lacking[row.param, later] + lacking[row.param, earlier] > 0
        assert row.imputations == imputations[row.param] >= 100
        assert row.rd_ci_low < row.risk_difference < row.rd_ci_high


def test_missing_data_and_adherence(analysed):
    missing = _df(analysed, "select * from latest.missing_data")
    assert (missing["expected"] >= missing["received"]).all()
    assert (missing["missing"] == missing["expected"] - missing["received"]).all()
    adherence = _df(analysed, "select * from latest.adherence").set_index("arm")
    participants = _df(analysed, "select * from latest.participants")
    for arm, group in participants.groupby("arm"):
        assert adherence.loc[arm, "adherent"] == (group["supervised_done"] >= 12).sum()
        assert adherence.loc[arm, "supervised_mean"] == pytest.approx(group["supervised_done"].mean())


def test_the_primary_family_is_holm_adjusted(analysed):
    from statsmodels.stats.multitest import multipletests

    results = _df(analysed, "select * from latest.model_results")
    primary = results[results["role"] == "primary"]
    assert set(primary["model"]) == {"MMRM"} and set(primary["population"]) == {"ITT"}
    assert set(primary["param"]) == {"PSFS", "NPRS_RUN"} and set(primary["visit"]) == {"week_8"}
    assert set(primary["timepoint"]) == {"week_8"} and len(primary) == 6  # 2 outcomes x 3 pairs of arms
    expected = multipletests(primary["p_value"], method="holm")[1]
    assert primary["p_adjusted"].tolist() == pytest.approx(list(expected))
    assert results.loc[results["role"] != "primary", "p_adjusted"].isna().all()
    assert set(results["role"]) == {"primary", "secondary", "sensitivity"}


def test_mmrm_rows_are_the_mmrm_of_the_data(analysed):
    from runback.flows.analyse import mmrm, models

    data = _frame(analysed, "PSFS", ["week_4", "week_8"]).query("base.notna()")
    visits = ["week_4", "week_8"]
    arms = sorted(data["arm"].unique())
    design = models.mmrm_design(data, arms, visits)
    fit = mmrm.fit(
        data["aval"],
        design.to_numpy(),
        data["record_id"].to_numpy(),
        data["visit"].map({"week_4": 0, "week_8": 1}).to_numpy(),
        tuple(design.columns),
    )
    rows = _df(
        analysed,
        f"select * from latest.model_results where model = 'MMRM' and param = 'PSFS' "
        f"and population = 'ITT' and timepoint = 'week_8' and visit = 'week_8' and term = "
        f"'{arms[2]} - {arms[0]}'",
    )
    assert len(rows) == 1
    row = rows.iloc[0]
    expected = fit.contrast(models.mmrm_vector(fit.names, arms[2], arms[0], "week_8"))
    assert row["estimate"] == pytest.approx(expected.estimate)
    assert row["df"] == pytest.approx(expected.df)
    assert row["n_participants"] == data["record_id"].nunique()


def test_consort_analysed_is_the_primary_analysis_population(analysed):
    flow = _df(analysed, "select * from latest.consort_flow where stage like 'Analysis%'")
    results = _df(analysed, "select * from latest.model_results where model = 'MMRM' and population = 'ITT'")
    for timepoint in ("week_8", "month_6"):
        for param in ("PSFS", "NPRS_RUN"):
            boxes = flow[flow["stage"].str.endswith(f": {timepoint} {param}")]
            analysed_n = boxes.loc[boxes["box"] == "Analysed", "n"].sum()
            fitted = results[(results["timepoint"] == timepoint) & (results["param"] == param)]
            assert analysed_n == fitted["n_participants"].iloc[0], (timepoint, param)


def test_lost_to_follow_up_only_after_the_last_contact(analysed):
    outcomes = _df(analysed, "select record_id, max(step) as last_step from latest.outcomes group by record_id")
    participants = _df(analysed, "select record_id, arm, status from latest.participants").merge(outcomes, how="left")
    lost = participants[participants["status"] == "Lost to follow-up"]
    flow = _df(
        analysed, "select * from latest.consort_flow where stage like 'Follow-up%' and box = 'Lost to follow-up'"
    )
    steps = {"week_4": 1, "week_8": 2, "month_3": 3, "month_6": 4}
    for stage, rows in flow.groupby("stage"):
        step = steps[stage.removeprefix("Follow-up: ")]
        assert rows["n"].sum() <= (lost["last_step"].fillna(0) < step).sum(), stage


@pytest.mark.slow
def test_results_do_not_depend_on_arm_names_or_order(analysed, study):
    """Blinded letters in another order give the same contrasts, oriented the same way."""
    from runback.flows.analyse import models
    from runback.flows.analyse.refresh import measured_visits

    outcomes = _df(analysed, "select * from latest.outcomes")
    participants = _df(analysed, "select * from latest.participants")
    order = analysed.execute("select arm from ref.arms order by sort").fetchall()
    arms = [a for (a,) in order if a in set(participants["arm"])]
    letters = dict(zip(arms, ["C", "A", "B"], strict=True))  # another name and another order for every arm
    unblinded = models.fit_all(outcomes, participants, arms, measured_visits(study)).results
    blinded = models.fit_all(
        outcomes.replace({"arm": letters}), participants.replace({"arm": letters}), None, measured_visits(study)
    ).results
    assert len(blinded) == len(unblinded)
    key = ["model", "population", "timepoint", "param", "visit"]
    ok = unblinded[(unblinded["status"] == "ok") & ~unblinded["term"].str.startswith(("slope", "tipping"))]
    checked = 0
    for row in ok.itertuples():
        later, earlier = row.term.split(" - ")
        same = blinded[(blinded[key] == pd.Series(row._asdict())[key]).fillna(True).all(axis=1)]
        direct = same[same["term"] == f"{letters[later]} - {letters[earlier]}"]
        reverse = same[same["term"] == f"{letters[earlier]} - {letters[later]}"]
        got = direct["estimate"].iloc[0] if len(direct) else -reverse["estimate"].iloc[0]
        p = (direct if len(direct) else reverse)["p_value"].iloc[0]
        assert got == pytest.approx(row.estimate, rel=1e-5, abs=1e-8), row
        assert p == pytest.approx(row.p_value, rel=1e-3, abs=1e-8), row
        checked += 1
    assert checked > 100


def test_a_value_set_aside_is_due_and_missing_alike_for_responders_and_the_mnar_imputation(tmp_path, study):
    """Twelve participants assessed at weeks 4 and 8, one of whom stopped running before week 8: the
    estimand sets aside that participant's week-8 running values; the ITT responders count it as a
    non-response, the delta-adjusted MI imputes it (due and missing), and the primary MMRM analyses
    all twelve (the one from their week-4 values)."""
    night = []
    for i in range(1, 13):
        night.append(
            randomised(
                str(i), group=str(i % 3 + 1), sex=str(i % 2 + 1), nprs_run=str(4 + i % 5), psfs_date="2014-01-09"
            )
        )
        night[-1] |= {"psfs_act1": "Running", "psfs_score1": str(3 + i % 4), "psfs_complete": "2"}
        for event, day, gain in (("week_4_arm_1", "2014-02-07", 1), ("week_8_arm_1", "2014-03-07", 2)):
            noise = (i * 7 + gain * 3) % 5 - 2
            stopped = i == 5 and gain == 2
            running = {"run_still": "0", "run_stop_date": "2014-02-20", "run_stop_reason": "1"} if stopped else {}
            values = {"nprs_date": day, "nprs_run": str(min(10, max(0, 4 + i % 5 - gain + noise))), "nprs_avg": "3"}
            values |= {"psfs_date": day, "psfs_act1": "Running", "psfs_score1": str(min(10, 3 + i % 4 + gain - noise))}
            values |= {"run_date": day, "run_still": "1", **running, "nprs_complete": "2", "psfs_complete": "2"}
            night.append(visit_row(str(i), event, **values, running_status_complete="2"))
    db = build_warehouse(tmp_path, study, [night])
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select record_id, visit, param from analysis.set_aside order by all").fetchall() == [
            ("5", "week_8", "NPRS_RUN"),
            ("5", "week_8", "PSFS"),
        ]
        responders = (
            "select sum(n), sum(observed) from analysis.responders where timepoint = 'week_8' and population = 'ITT'"
        )
        models = (
            "select distinct model, status, n_participants, n_obs, note from analysis.model_results "
            "where visit = 'week_8' and population = 'ITT' and model in ('MMRM', 'Delta-adjusted MI') "
            "and term = 'B - A' and param = ?"
        )
        for param in PRIMARY:
            assert con.execute(f"{responders} and param = ?", [param]).fetchall() == [(12, 11)]
            found = {row[0]: row[1:] for row in con.execute(models, [param]).fetchall()}
            assert found["MMRM"][:2] == ("ok", 12) and found["Delta-adjusted MI"][:3] == ("ok", 12, 11), found
