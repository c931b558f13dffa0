-- analysis.outcomes for a cut: one row per participant x visit x parameter with a value (ADaM BDS-like).
-- PSFS = mean of the scores whose activity is named; ODI = sum / (5 x sections answered) x 100, one
-- decimal, missing when more than 2 of 10 sections are unanswered; KE_TORQUE = mean of the sides recorded.
-- Values an estimand's strategy sets aside (analysis.set_aside) are left out.
insert into analysis.outcomes
with
participants as (
    select record_id, arm, rand_date
    from analysis.participants
    where data_cut = $cut
),

nprs as (
    select * from clean.nprs where valid_at(valid_from_cut, valid_to_cut, $cut)
),

psfs as (
    select
        record_id,
        event,
        psfs_date,
        case when psfs_act1 is not null then psfs_score1 end as score1,
        case when psfs_act2 is not null then psfs_score2 end as score2,
        case when psfs_act3 is not null then psfs_score3 end as score3
    from clean.psfs
    where valid_at(valid_from_cut, valid_to_cut, $cut)
),

odi as (
    select
        record_id,
        event,
        odi_date,
        list_filter(
            [odi_q1, odi_q2, odi_q3, odi_q4, odi_q5, odi_q6, odi_q7, odi_q8, odi_q9, odi_q10]::integer[],
            lambda q: q is not null
        ) as answered
    from clean.odi
    where valid_at(valid_from_cut, valid_to_cut, $cut)
),

physical_tests as (
    select * from clean.physical_tests where valid_at(valid_from_cut, valid_to_cut, $cut)
),

set_aside as (
    select record_id, visit, param from analysis.set_aside where data_cut = $cut
),

values_long as (
    select record_id, event, nprs_date as adt, 'NPRS_RUN' as param, nprs_run::double as aval from nprs
    union all
    select record_id, event, nprs_date, 'NPRS_AVG', nprs_avg::double from nprs
    union all
    select record_id, event, psfs_date, 'PSFS', list_avg(list_filter([score1, score2, score3], lambda s: s is not null))
    from psfs
    union all
    select
        record_id, event, odi_date, 'ODI',
        case when len(answered) >= 8 then round(list_sum(answered) / (5 * len(answered)) * 100, 1) end
    from odi
    union all
    select
        record_id, event, pt_date, 'KE_TORQUE',
        list_avg(list_filter([ke_torque_l, ke_torque_r], lambda t: t is not null))
    from physical_tests
    union all
    select record_id, event, pt_date, 'STEP_LEN', step_length_cm from physical_tests
    union all
    select record_id, event, pt_date, 'SORENSEN', sorensen_s::double from physical_tests
),

visits as (
    select p.arm, p.rand_date, v.visit, v.step, v.window_low, v.window_high, l.*
    from values_long as l
    inner join participants as p using (record_id)
    inner join ref.visits as v using (event)
    anti join set_aside as s on l.record_id = s.record_id and v.visit = s.visit and l.param = s.param
    where l.aval is not null and v.step is not null
),

with_base as (
    select
        *,
        max(aval) filter (where step = 0) over (partition by record_id, param) as base
    from visits
),

final as (
    select
        $cut as data_cut,
        record_id,
        arm,
        visit,
        step,
        param,
        aval,
        base,
        case when step > 0 then aval - base end as chg,
        adt,
        adt - rand_date as visit_day,
        (adt - rand_date) between window_low and window_high as in_window
    from with_base
)

select * from final;
