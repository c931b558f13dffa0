-- Retention of a cut by visit and arm: participants randomised, and those still in the study at the
-- visit's target day (not withdrawn, lost or excluded before it), as a share of those randomised.
with participants as (
    select record_id, arm, rand_date, status, end_date
    from analysis.participants
    where data_cut = $cut
),

visits as (
    select visit, step, day_offset from ref.visits where step is not null
),

final as (
    select
        v.visit,
        v.step,
        p.arm,
        count(*) as randomised,
        count(*) filter (where retained_at(p.status, p.end_date, p.rand_date, v.day_offset)) as retained
    from visits as v
    cross join participants as p
    group by all
)

select *, 100.0 * retained / randomised as retained_pct from final order by step, arm;
