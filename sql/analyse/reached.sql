-- How many randomised participants of a cut have passed a visit (one row): its window closed by the
-- cut's date, or they were assessed at it. A cut in which not all have is an interim look at that visit.
with
cut as (
    select export_time::date as cut_date from meta.data_cuts where cut_id = $cut
),

visit as (
    select * from ref.visits where visit = $visit
),

assessed as (
    select distinct record_id from analysis.outcomes where data_cut = $cut and visit = $visit
),

final as (
    select
        count(*) as randomised,
        count(*) filter (
            where window_closed(p.rand_date, v.window_high, c.cut_date) or a.record_id is not null
        ) as reached
    from analysis.participants as p
    cross join visit as v
    cross join cut as c
    left join assessed as a on p.record_id = a.record_id
    where p.data_cut = $cut
)

select * from final;
