-- Recruitment of a cut by month: screened and randomised in the month, and cumulatively (one row
-- per month from the first screening to the last randomisation or screening of the cut).
with screened as (
    select strftime(date_trunc('month', scr_date), '%Y-%m') as month, count(*) as screened
    from clean.screening
    where valid_at(valid_from_cut, valid_to_cut, $cut) and scr_date is not null
    group by all
),

randomised as (
    select strftime(date_trunc('month', rand_date), '%Y-%m') as month, count(*) as randomised
    from analysis.participants
    where data_cut = $cut and rand_date is not null
    group by all
),

months as (
    select month from screened
    union
    select month from randomised
),

final as (
    select
        m.month,
        coalesce(s.screened, 0) as screened,
        coalesce(r.randomised, 0) as randomised,
        cast(sum(coalesce(s.screened, 0)) over (order by m.month) as integer) as screened_total,
        cast(sum(coalesce(r.randomised, 0)) over (order by m.month) as integer) as randomised_total
    from months as m
    left join screened as s using (month)
    left join randomised as r using (month)
)

select * from final order by month;
