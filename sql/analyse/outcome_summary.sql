-- analysis.outcome_summary for a cut: per arm x visit x parameter, the value and the change from
-- baseline (n, mean, SD, median, quartiles; change with its 95% t-interval). Floating-point
-- aggregates run in record order, so a cut's numbers do not depend on how its rows are stored.
insert into analysis.outcome_summary
with
outcomes as (
    select * from analysis.outcomes where data_cut = $cut
),

stats as (
    select
        arm,
        visit,
        step,
        param,
        count(aval) as n,
        avg(aval order by record_id) as mean,
        stddev_samp(aval order by record_id) as sd,
        quantile_cont(aval, 0.5) as median,
        quantile_cont(aval, 0.25) as q1,
        quantile_cont(aval, 0.75) as q3,
        count(chg) as chg_n,
        avg(chg order by record_id) as chg_mean,
        stddev_samp(chg order by record_id) as chg_sd
    from outcomes
    group by arm, visit, step, param
),

final as (
    select
        $cut as data_cut,
        s.arm,
        s.visit,
        s.step,
        s.param,
        s.n,
        s.mean,
        s.sd,
        s.median,
        s.q1,
        s.q3,
        s.chg_n,
        s.chg_mean,
        s.chg_sd,
        s.chg_mean - t.t975 * s.chg_sd / sqrt(s.chg_n) as chg_ci_low,
        s.chg_mean + t.t975 * s.chg_sd / sqrt(s.chg_n) as chg_ci_high
    from stats as s
    left join ref.t_quantiles as t on t.df = s.chg_n - 1
)

select * from final;
