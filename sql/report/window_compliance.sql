-- Visit-window compliance of a cut per visit: assessments made, and those inside their window.
with assessed as (
    select distinct record_id, visit, step, in_window
    from analysis.outcomes
    where data_cut = $cut and visit <> 'baseline' and visit_day is not null
),

final as (
    select
        visit,
        step,
        count(distinct record_id) as assessed,
        count(distinct record_id) filter (where in_window) as in_window
    from assessed
    group by all
)

select *, 100.0 * in_window / assessed as in_window_pct from final order by step;
