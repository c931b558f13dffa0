-- Visit-window compliance of a cut per visit: participants assessed, and those whose visit was
-- inside its window: every assessment of the visit in it (a visit with any assessment outside is
-- an out-of-window deviation, sql/report/protocol_deviations.sql).
with assessed as (
    select record_id, visit, step, bool_and(in_window) as in_window
    from analysis.outcomes
    where data_cut = $cut and visit <> 'baseline' and visit_day is not null
    group by all
),

final as (
    select
        visit,
        step,
        count(*) as assessed,
        count(*) filter (where in_window) as in_window
    from assessed
    group by all
)

select *, 100.0 * in_window / assessed as in_window_pct from final order by step;
