-- analysis.baseline for a cut: Table 1, one row per arm (and All) x baseline characteristic.
insert into analysis.baseline
with
participants as (
    select * from analysis.participants where data_cut = $cut
),

screening as (
    select record_id, runs_per_week, lbp_months
    from clean.screening
    where valid_at(valid_from_cut, valid_to_cut, $cut)
),

characteristics as (
    select record_id, height_cm, weight_kg, bmi, running_years, weekly_km
    from clean.baseline_characteristics
    where valid_at(valid_from_cut, valid_to_cut, $cut)
),

baseline_outcomes as (
    select record_id, param, aval from analysis.outcomes where data_cut = $cut and step = 0
),

values_long as (
    select p.record_id, p.arm, 'Age' as characteristic, 'years' as unit, 1 as sort, p.age as value
    from participants as p
    union all
    select p.record_id, p.arm, 'Height', 'cm', 3, c.height_cm
    from participants as p left join characteristics as c using (record_id)
    union all
    select p.record_id, p.arm, 'Body mass', 'kg', 4, c.weight_kg
    from participants as p left join characteristics as c using (record_id)
    union all
    select p.record_id, p.arm, 'BMI', 'kg/m²', 5, c.bmi
    from participants as p left join characteristics as c using (record_id)
    union all
    select p.record_id, p.arm, 'Years of regular running', 'years', 6, c.running_years
    from participants as p left join characteristics as c using (record_id)
    union all
    select p.record_id, p.arm, 'Weekly running distance', 'km', 7, c.weekly_km
    from participants as p left join characteristics as c using (record_id)
    union all
    select p.record_id, p.arm, 'Running sessions per week', null, 8, s.runs_per_week
    from participants as p left join screening as s using (record_id)
    union all
    select p.record_id, p.arm, 'Duration of low back pain', 'months', 9, s.lbp_months
    from participants as p left join screening as s using (record_id)
    union all
    select p.record_id, p.arm, r.label, r.unit, 10 + r.sort, o.aval
    from participants as p
    inner join baseline_outcomes as o using (record_id)
    inner join ref.params as r using (param)
),

by_arm as (
    select record_id, arm, characteristic, unit, sort, value from values_long
    union all
    select record_id, 'All', characteristic, unit, sort, value from values_long
),

continuous as (
    select
        arm, characteristic, unit, sort, 'continuous' as kind,
        count(value) as n,
        avg(value order by record_id) as mean,
        stddev_samp(value order by record_id) as sd,
        null::integer as count, null::double as pct
    from by_arm
    group by arm, characteristic, unit, sort
),

women as (
    select
        arm, 'Women' as characteristic, null as unit, 2 as sort, 'count' as kind,
        count(sex) as n, null::double as mean, null::double as sd,
        count(*) filter (where sex = 'Female') as count,
        100.0 * count(*) filter (where sex = 'Female') / nullif(count(sex), 0) as pct
    from (
        select arm, sex from participants
        union all
        select 'All' as arm, sex from participants
    ) as by_arm
    group by arm
),

final as (
    select $cut as data_cut, * from continuous
    union all
    select $cut, * from women
)

select * from final;
